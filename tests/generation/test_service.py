"""The generation service's orchestration of provider calls."""

from __future__ import annotations

import asyncio

import pytest

from imagedesigner.generation import service
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.providers.base import (
    Capabilities,
    ModelInfo,
    ProviderResult,
    ProviderUnavailable,
)
from imagedesigner.providers.registry import Resolved
from tests.conftest import make_user

MODEL = ModelInfo(
    id="fake/slow",
    provider="fake",
    native_id="slow",
    subprocessor="Fake",
    description="test double",
    capabilities=Capabilities(sizes=((1024, 1024),), max_n=1, max_total_n=4),
)


class OneFailsOthersHang:
    name = "fake"
    available = True

    def __init__(self) -> None:
        self.calls = 0
        self.cancelled = 0

    def models(self):
        return [MODEL]

    async def generate(self, model, request, *, progress=None) -> ProviderResult:
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(0.01)
            raise ProviderUnavailable("provider went away")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("not reached")

    async def aclose(self) -> None:
        pass


async def test_a_failed_call_cancels_its_siblings(container, monkeypatch):
    user, _ = await make_user(container)
    provider = OneFailsOthersHang()

    async def no_wait(_delay):
        return None

    monkeypatch.setattr(service, "_sleep", no_wait)
    container.settings.provider_max_retries = 0
    with pytest.raises(ProviderUnavailable):
        await asyncio.wait_for(
            service.produce(
                container.settings,
                Resolved(model=MODEL, provider=provider),
                GenerationInput(prompt="x", n=4),
            ),
            timeout=5,
        )
    assert provider.calls == 4
    assert provider.cancelled == 3
