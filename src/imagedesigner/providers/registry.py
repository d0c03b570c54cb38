"""Explicit provider registry: provider name -> provider class and its arguments from the settings.
Feeds ``/v1/models`` and the ``/privacy`` subprocessor table.

This module is the one place that maps :class:`Settings` onto the providers' typed constructor
arguments; no provider takes or reads ``Settings``. A new provider is one module (its class
carries its own catalogue and :class:`SubprocessorInfo`) plus one entry in ``PROVIDERS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from imagedesigner import errors
from imagedesigner.config import Settings
from imagedesigner.providers.base import ImageProvider, ModelInfo, SubprocessorInfo


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _http_args(settings: Settings, *, api_key: SecretStr | None, base_url: str) -> dict[str, Any]:
    """The arguments every HTTP adapter takes (``providers._http.HttpProvider``)."""
    return {
        "api_key": _secret(api_key),
        "base_url": base_url,
        "timeout": settings.provider_timeout.total_seconds(),
        "connect_timeout": settings.provider_connect_timeout.total_seconds(),
        "max_connections": settings.provider_max_connections,
        "max_response_bytes": settings.provider_max_response_bytes,
        "max_image_pixels": settings.max_image_pixels,
    }


def _local(s: Settings) -> dict[str, Any]:
    return {}


def _openai(s: Settings) -> dict[str, Any]:
    return {
        **_http_args(s, api_key=s.openai_api_key, base_url=s.openai_base_url),
        "send_safety_identifier": s.openai_send_safety_identifier,
    }


def _openrouter(s: Settings) -> dict[str, Any]:
    return _http_args(s, api_key=s.openrouter_api_key, base_url=s.openrouter_base_url)


def _fal(s: Settings) -> dict[str, Any]:
    # every call goes through the queue API
    return _http_args(s, api_key=s.fal_key, base_url=s.fal_queue_url)


@dataclass(frozen=True)
class ProviderSpec:
    ref: str  # "module:Class", imported only when the provider is built
    arguments: Callable[[Settings], dict[str, Any]]  # Settings -> the class's keyword arguments


PROVIDERS: dict[str, ProviderSpec] = {
    "local": ProviderSpec("imagedesigner.providers.local:LocalProvider", _local),
    "openai": ProviderSpec("imagedesigner.providers.openai:OpenAIProvider", _openai),
    "openrouter": ProviderSpec(
        "imagedesigner.providers.openrouter:OpenRouterProvider", _openrouter
    ),
    "fal": ProviderSpec("imagedesigner.providers.fal:FalProvider", _fal),
}


def _load(ref: str) -> Callable[..., ImageProvider]:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_provider(name: str, settings: Settings, **overrides: Any) -> ImageProvider:
    """Build the provider ``name`` from the settings; ``overrides`` (e.g. ``transport``,
    ``poll_interval``) are passed to its constructor on top of the mapped arguments."""
    spec = PROVIDERS[name]
    return _load(spec.ref)(**{**spec.arguments(settings), **overrides})


# A provider that declares no ``subprocessor`` at all is still listed, never hidden.
def _undeclared(name: str) -> SubprocessorInfo:
    return SubprocessorInfo(
        name=name,
        models="Image model(s)",
        purpose="Image generation",
        policy_url="see the provider's website",
    )


@dataclass(frozen=True)
class Subprocessor:
    """A provider that sends content off this server, as the /privacy table lists it."""

    provider: str  # the provider's name, e.g. "openai"
    info: SubprocessorInfo  # the provider's own metadata
    enabled: bool  # it has a key, so it receives content
    details: tuple[str, ...]  # who receives the content, per listed model (``ModelInfo``), once


def retired_error(model_id: str, model: ModelInfo) -> errors.NotFound:
    """OpenAI's answer for a model that no longer exists: 404 ``model_not_found``, here naming
    what to use instead."""
    instead = f" Use '{model.replacement}' instead." if model.replacement else ""
    return errors.NotFound(
        f"The model '{model_id}' has been retired and is no longer available.{instead} "
        "GET /v1/models lists the models you can use.",
        param="model",
        code="model_not_found",
    )


@dataclass
class Resolved:
    model: ModelInfo
    provider: ImageProvider


class ProviderRegistry:
    def __init__(self, providers: list[ImageProvider], settings: Settings) -> None:
        self.settings = settings
        self.providers = {p.name: p for p in providers}

    @classmethod
    def from_settings(cls, settings: Settings, only: list[str] | None = None) -> ProviderRegistry:
        providers = []
        for name, spec in PROVIDERS.items():
            if only is not None and name not in only:
                continue
            try:
                provider_class = _load(spec.ref)
            except ModuleNotFoundError:  # provider module not installed in this build
                continue
            providers.append(provider_class(**spec.arguments(settings)))
        return cls(providers, settings)

    def _listed(self, provider: ImageProvider, include_retired: bool | None) -> list[ModelInfo]:
        show_retired = (
            self.settings.enable_retired_models if include_retired is None else include_retired
        )
        return [m for m in provider.models() if show_retired or not m.retired]

    def models(self, include_retired: bool | None = None) -> list[tuple[ModelInfo, bool]]:
        """(model, available) for every listed model."""
        return [
            (model, provider.available)
            for provider in self.providers.values()
            for model in self._listed(provider, include_retired)
        ]

    def subprocessors(self) -> list[Subprocessor]:
        """Every provider that sends content off this server and has a listed model, in
        registry order, with its own :class:`SubprocessorInfo` and whether it is enabled."""
        out = []
        for provider in self.providers.values():
            info = getattr(provider, "subprocessor", _undeclared(provider.name))
            listed = self._listed(provider, None)
            if info is None or not listed:
                continue
            details = tuple(dict.fromkeys(m.subprocessor for m in listed))
            out.append(Subprocessor(provider.name, info, provider.available, details))
        return out

    def retired(self, model_id: str) -> ModelInfo | None:
        """The retired model this id (or bare native name, ``dall-e-3``) names, unless the
        operator keeps retired models on (``enable_retired_models``)."""
        if self.settings.enable_retired_models:
            return None
        for provider in self.providers.values():
            for model in provider.models():
                if model.retired and model_id in (model.id, model.native_id):
                    return model
        return None

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
                        raise retired_error(model_id, model)
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
