"""Explicit provider registry: provider name -> factory(settings, clock). Feeds ``/v1/models``.

A new provider is one module plus one line in ``FACTORIES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from imagedesigner import errors
from imagedesigner.config import Settings
from imagedesigner.kit.clock import Clock
from imagedesigner.providers.base import ImageProvider, ModelInfo

# name -> "module:factory"; factories are called as factory(settings, clock) -> ImageProvider
FACTORIES: dict[str, str] = {
    "local": "imagedesigner.providers.local:create",
    "openai": "imagedesigner.providers.openai:create",
    "openrouter": "imagedesigner.providers.openrouter:create",
    "fal": "imagedesigner.providers.fal:create",
}


def _load(ref: str) -> Callable[[Settings, Clock], ImageProvider]:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class Resolved:
    model: ModelInfo
    provider: ImageProvider


class ProviderRegistry:
    def __init__(self, providers: list[ImageProvider], settings: Settings) -> None:
        self.settings = settings
        self.providers = {p.name: p for p in providers}

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Clock, only: list[str] | None = None
    ) -> ProviderRegistry:
        providers = []
        for name, ref in FACTORIES.items():
            if only is not None and name not in only:
                continue
            try:
                factory = _load(ref)
            except ModuleNotFoundError:  # provider module not installed in this build
                continue
            providers.append(factory(settings, clock))
        return cls(providers, settings)

    def models(self, include_retired: bool | None = None) -> list[tuple[ModelInfo, bool]]:
        """(model, available) for every listed model."""
        show_retired = (
            self.settings.enable_retired_models if include_retired is None else include_retired
        )
        out = []
        for provider in self.providers.values():
            for model in provider.models():
                if model.retired and not show_retired:
                    continue
                out.append((model, provider.available))
        return out

    def default_model_id(self) -> str:
        if self.settings.default_model:
            return self.settings.default_model
        return "local/sketch"

    def resolve(self, model_id: str | None) -> Resolved:
        model_id = model_id or self.default_model_id()
        for provider in self.providers.values():
            for model in provider.models():
                if model.id == model_id or (
                    model.native_id == model_id and "/" not in model_id and provider.name != "local"
                ):
                    if model.retired and not self.settings.enable_retired_models:
                        raise errors.InvalidRequest(
                            f"The model '{model_id}' is retired. Use one listed by GET /v1/models.",
                            param="model",
                            code="model_not_found",
                        )
                    if not provider.available:
                        raise errors.InvalidRequest(
                            f"The model '{model.id}' is unavailable: the operator has not "
                            f"configured a key for {provider.name}. "
                            "Choose an available model from GET /v1/models.",
                            param="model",
                            code="model_unavailable",
                        )
                    return Resolved(model=model, provider=provider)
        raise errors.InvalidRequest(
            f"The model '{model_id}' does not exist. GET /v1/models lists the models you can use.",
            param="model",
            code="model_not_found",
        )

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
