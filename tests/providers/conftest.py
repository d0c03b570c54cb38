"""Fixtures for the provider adapter tests: settings with test keys, and the fakes' state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imagedesigner.config import Settings
from imagedesigner.kit.clock import FrozenClock

from .fakes._common import FakeState

OPENAI_KEY = "sk-test-Zq8ReallySecretOpenAIKey0001"
OPENROUTER_KEY = "sk-or-v1-test-ReallySecretOpenRouterKey0002"
FAL_KEY = "fal-test-id-0003:fal-test-ReallySecretFalKey"
KEYS = (OPENAI_KEY, OPENROUTER_KEY, FAL_KEY)


def make_settings(**overrides) -> Settings:
    values = {
        "openai_api_key": OPENAI_KEY,
        "openai_base_url": "http://fake-openai/v1",
        "openrouter_api_key": OPENROUTER_KEY,
        "openrouter_base_url": "http://fake-openrouter/api/v1",
        "fal_key": FAL_KEY,
        "fal_base_url": "http://fake-fal-run",
        "fal_queue_url": "http://fake-fal-queue",
        "provider_connect_timeout": timedelta(seconds=2),
        "provider_timeout": timedelta(seconds=5),
        "provider_max_response_bytes": 8 * 1024 * 1024,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def state() -> FakeState:
    return FakeState()
