"""The /privacy subprocessor rows come from the providers' own metadata: a provider registered in
a registry brings its row (name, models, purpose, policy URL) with no edit anywhere else."""

from __future__ import annotations

from types import SimpleNamespace

from imagedesigner.privacy.policy import render_text, subprocessors
from imagedesigner.providers.base import Capabilities, ModelInfo, SubprocessorInfo
from imagedesigner.providers.local import LocalProvider
from imagedesigner.providers.registry import ProviderRegistry, Subprocessor, create_provider

ACME = SubprocessorInfo(
    name="Acme Pictures Ltd",
    models="Acme diffusion model(s)",
    purpose="Image generation (Acme)",
    policy_url="https://acme.example/privacy-notice",
)


def _model(native: str, *, retired: bool = False) -> ModelInfo:
    return ModelInfo(
        id=f"acme/{native}",
        provider="acme",
        native_id=native,
        subprocessor=f"Acme Pictures Ltd ({native} cluster)",
        description="",
        capabilities=Capabilities(),
        retired=retired,
    )


class AcmeProvider:
    """A provider this code base has never heard of."""

    name = "acme"
    subprocessor = ACME
    available = True

    def models(self) -> list[ModelInfo]:
        return [_model("eu"), _model("us"), _model("old", retired=True)]

    async def generate(self, model, request, *, progress=None):
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _container(settings, *providers) -> SimpleNamespace:
    return SimpleNamespace(settings=settings, registry=ProviderRegistry(list(providers), settings))


def test_a_new_provider_brings_its_own_row(settings):
    openai = create_provider("openai", settings)  # no key in the test settings: not enabled
    c = _container(settings, LocalProvider(), openai, AcmeProvider())

    assert c.registry.subprocessors() == [
        Subprocessor("openai", openai.subprocessor, False, ("OpenAI",)),
        Subprocessor(
            "acme",
            ACME,
            True,
            ("Acme Pictures Ltd (eu cluster)", "Acme Pictures Ltd (us cluster)"),
        ),
    ]
    rows = {row["key"]: row for row in subprocessors(c)}
    assert "local" not in rows, "the offline renderer sends nothing anywhere"
    acme = rows["acme"]
    assert acme["name"] == "Acme Pictures Ltd"
    assert acme["models"] == "Acme diffusion model(s)"
    assert acme["purpose"] == "Image generation (Acme)"
    assert acme["policy"] == "https://acme.example/privacy-notice"
    assert acme["enabled"] is True
    assert acme["detail"] == "Acme Pictures Ltd (eu cluster); Acme Pictures Ltd (us cluster)"
    assert rows["openai"]["name"] == "OpenAI" and rows["openai"]["enabled"] is False

    text = render_text(c)
    assert "Acme Pictures Ltd → Acme diffusion model(s)" in text
    assert "Acme Pictures Ltd: https://acme.example/privacy-notice" in text
    assert "| Acme Pictures Ltd | Image generation (Acme) |" in text


def test_rows_are_the_provider_metadata_of_the_built_in_providers(settings):
    registry = ProviderRegistry.from_settings(settings)
    c = SimpleNamespace(settings=settings, registry=registry)
    rows = {row["key"]: row for row in subprocessors(c)}
    assert set(rows) == {"openai", "openrouter", "fal"}
    for name, provider in registry.providers.items():
        if provider.subprocessor is None:
            assert name == "local"
            continue
        assert rows[name]["name"] == provider.subprocessor.name
        assert rows[name]["policy"] == provider.subprocessor.policy_url


def test_openrouter_row_states_its_zdr_exception(settings):
    """Since 2026-10-27 OpenRouter screens all traffic (ZDR too) for CSAM and may keep what it
    flags: its own row on /privacy says so, from the provider module's metadata."""
    registry = ProviderRegistry.from_settings(settings)
    c = SimpleNamespace(settings=settings, registry=registry)
    rows = {row["key"]: row for row in subprocessors(c)}
    note = registry.providers["openrouter"].subprocessor.note
    assert "2026-10-27" in note and "CSAM" in note and "may keep" in note
    assert note in rows["openrouter"]["data"]
    assert all(note not in rows[k]["data"] for k in ("openai", "fal"))
    text = render_text(c)
    row = next(line for line in text.splitlines() if line.startswith("| openrouter.ai |"))
    assert note in row


class QuietProvider:
    """Declares no ``subprocessor`` at all: it is listed under its own name, never hidden."""

    name = "quiet"
    available = False

    def models(self) -> list[ModelInfo]:
        return [_model("eu")]


def test_a_provider_that_declares_nothing_is_still_listed(settings):
    rows = {row["key"]: row for row in subprocessors(_container(settings, QuietProvider()))}
    assert rows["quiet"]["name"] == "quiet" and rows["quiet"]["enabled"] is False
    assert rows["quiet"]["policy"] == "see the provider's website"
