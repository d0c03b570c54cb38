"""The gateway with its OpenAI adapter pointed at :class:`FaultyUpstream` over real sockets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imagedesigner.container import Container
from imagedesigner.providers.registry import ProviderRegistry
from tests.conftest import at_head, make_settings
from tests.providers.conftest import OPENAI_KEY

from .upstream import FaultyUpstream

TIMEOUT = 2.0  # seconds: the provider deadline of these tests (room for a loaded machine)
MAX_RESPONSE = 4 * 1024 * 1024


@pytest.fixture
def upstream():
    with FaultyUpstream() as fake:
        yield fake


@pytest.fixture
def settings(data_dir, upstream):
    return make_settings(
        data_dir,
        openai_api_key=OPENAI_KEY,
        openai_base_url=upstream.url,
        provider_timeout=timedelta(seconds=TIMEOUT),
        provider_connect_timeout=timedelta(seconds=TIMEOUT),
        provider_max_response_bytes=MAX_RESPONSE,
        provider_max_retries=0,
    )


@pytest.fixture
async def container(settings, clock):
    registry = ProviderRegistry.from_settings(settings, only=["local", "openai"])
    c = await Container.build(
        settings, clock=clock, registry=registry, migrate=not at_head(settings)
    )
    yield c
    await c.aclose()
