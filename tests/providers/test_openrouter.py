"""OpenRouter adapter against the fake chat-completions route: pinning, mapping, results."""

from __future__ import annotations

import httpx
import pytest

from imagedesigner.providers import openrouter
from imagedesigner.providers.base import (
    ImageInput,
    ImageRequest,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
)
from imagedesigner.providers.registry import create_provider

from .conftest import OPENROUTER_KEY, make_settings
from .fakes import fake_openrouter
from .fakes._common import image_bytes

FLASH = "openrouter/google/gemini-2.5-flash-image"
FLASH31 = "openrouter/google/gemini-3.1-flash-image-preview"


def _provider(state, clock, **settings):
    app = fake_openrouter.make_app(state, OPENROUTER_KEY)
    return create_provider(
        "openrouter", make_settings(**settings), transport=httpx.ASGITransport(app=app)
    )


def _model(model_id: str):
    return next(m for m in openrouter.MODELS if m.id == model_id)


async def test_request_is_pinned_and_private(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(
        _model(FLASH),
        ImageRequest(
            prompt="a lighthouse",
            aspect_ratio="16:9",
            size=(1344, 768),
            safety_identifier="hmac-abc",
        ),
    )
    sent = state.last()
    assert sent.url == "http://fake-openrouter/api/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENROUTER_KEY}"
    assert "x-openrouter-cache" not in sent.headers and "http-referer" not in sent.headers
    body = sent.json
    assert body["model"] == "google/gemini-2.5-flash-image"
    assert body["provider"] == {
        "only": ["google-vertex"],
        "allow_fallbacks": False,
        "data_collection": "deny",
        "zdr": True,
    }
    assert "models" not in body and "user" not in body and "route" not in body
    assert body["modalities"] == ["image", "text"]
    assert body["image_config"] == {"aspect_ratio": "16:9"}
    assert body["messages"] == [{"role": "user", "content": "a lighthouse"}]
    assert body["stream"] is False
    img = result.images[0]
    assert (img.media_type, img.width, img.height) == ("image/png", 1344, 768)
    assert result.warnings == []


async def test_pixel_size_is_mapped_to_ratio_and_tier_with_warning(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(_model(FLASH31), ImageRequest(prompt="x", size=(2000, 1100)))
    assert state.last().json["image_config"] == {"aspect_ratio": "16:9", "image_size": "2K"}
    assert [(w.param, w.kind) for w in result.warnings] == [("size", "approximated")]
    assert "16:9" in result.warnings[0].message
    # an exact native size needs no warning
    result = await provider.generate(_model(FLASH), ImageRequest(prompt="x", size=(832, 1248)))
    assert state.last().json["image_config"] == {"aspect_ratio": "2:3"}
    assert result.warnings == []


async def test_edit_sends_data_urls(state, clock):
    provider = _provider(state, clock)
    data = image_bytes(40, 30, "jpeg")
    req = ImageRequest(prompt="make it night", images=(ImageInput(data, "image/jpeg", 40, 30),))
    await provider.generate(_model(FLASH), req)
    content = state.last().json["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "make it night"}
    url = content[1]["image_url"]["url"]
    assert content[1]["type"] == "image_url"
    assert url.startswith("data:image/jpeg;base64,")
    import base64

    assert base64.b64decode(url.split(",", 1)[1]) == data


def test_unpinned_bodies_are_refused():
    good = {
        "model": "google/gemini-2.5-flash-image",
        "provider": {
            "only": ["google-vertex"],
            "allow_fallbacks": False,
            "data_collection": "deny",
            "zdr": True,
        },
    }
    openrouter.check_pinned(good)
    bad = [
        {**good, "model": "openrouter/auto"},
        {**good, "model": "google/gemini-2.5-flash-image:nitro"},
        {**good, "model": "google/gemini-2.5-flash-image:floor"},
        {**good, "models": ["google/gemini-2.5-flash-image", "openai/gpt-image-2"]},
        {**good, "provider": {**good["provider"], "allow_fallbacks": True}},
        {**good, "provider": {**good["provider"], "only": ["google-vertex", "google-ai-studio"]}},
        {**good, "provider": {**good["provider"], "zdr": False}},
        {**good, "provider": {k: v for k, v in good["provider"].items() if k != "data_collection"}},
    ]
    for body in bad:
        with pytest.raises(ProviderError):
            openrouter.check_pinned(body)


def test_catalog():
    for m in openrouter.MODELS:
        caps = m.capabilities
        assert m.provider == "openrouter" and "google-vertex" in m.subprocessor
        assert caps.max_n == 1 and caps.edits and not caps.masks and not caps.seeds
        assert caps.output_formats == ("png",) and "16:9" in caps.aspect_ratios
        assert ":" not in m.native_id


async def test_text_only_refusal_is_content_refused(state, clock):
    provider = _provider(state, clock)
    state.mode = "text_refusal"
    with pytest.raises(ProviderContentRefused, match="can't create"):
        await provider.generate(_model(FLASH), ImageRequest(prompt="x"))


async def test_text_without_image_is_bad_response(state, clock):
    provider = _provider(state, clock)
    state.mode = "no_image"
    with pytest.raises(ProviderBadResponse):
        await provider.generate(_model(FLASH), ImageRequest(prompt="x"))


async def test_no_endpoint_for_privacy_policy_is_explained(state, clock):
    provider = _provider(state, clock)
    state.mode = "no_endpoint"
    with pytest.raises(ProviderError) as info:
        await provider.generate(_model(FLASH), ImageRequest(prompt="x"))
    assert info.value.status == 502 and "404" in info.value.message
