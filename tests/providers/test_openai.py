"""OpenAI adapter against the fake Images API: exact requests, responses, mapping."""

from __future__ import annotations

import logging

import httpx
import pytest

from imagedesigner.providers import openai
from imagedesigner.providers.base import (
    ImageInput,
    ImageRequest,
    ProviderInvalidRequest,
)
from imagedesigner.providers.registry import create_provider

from .conftest import OPENAI_KEY, make_settings
from .fakes import fake_openai
from .fakes._common import image_bytes


def _provider(state, clock, **settings):
    app = fake_openai.make_app(state, OPENAI_KEY)
    return create_provider(
        "openai", make_settings(**settings), transport=httpx.ASGITransport(app=app)
    )


def _model(native: str):
    return next(m for m in openai.MODELS if m.native_id == native)


def _input(fmt="png", w=64, h=48):
    return ImageInput(image_bytes(w, h, fmt), f"image/{fmt}", w, h)


async def test_generation_request_is_exact(state, clock):
    provider = _provider(state, clock)
    req = ImageRequest(
        prompt="a lighthouse",
        n=2,
        size=(1536, 1024),
        output_format="webp",
        quality="high",
        background="opaque",
        safety_identifier="hmac-abc",
    )
    result = await provider.generate(_model("gpt-image-1.5"), req)
    await provider.aclose()
    sent = state.last()
    assert sent.method == "POST"
    assert sent.url == "http://fake-openai/v1/images/generations"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.json == {
        "model": "gpt-image-1.5",
        "prompt": "a lighthouse",
        "n": 2,
        "size": "1536x1024",
        "output_format": "webp",
        "quality": "high",
        "background": "opaque",
        "safety_identifier": "hmac-abc",
    }
    assert "user" not in sent.json
    assert len(result.images) == 2
    img = result.images[0]
    assert (img.media_type, img.width, img.height) == ("image/webp", 1536, 1024)
    assert result.warnings == []
    assert result.usage["total_tokens"] == 4172


async def test_safety_identifier_omitted_when_disabled(state, clock):
    provider = _provider(state, clock, openai_send_safety_identifier=False)
    await provider.generate(
        _model("gpt-image-1-mini"), ImageRequest(prompt="x", safety_identifier="hmac-abc")
    )
    assert "safety_identifier" not in state.last().json
    assert "user" not in state.last().json


async def test_gpt_image_2_takes_multiples_of_16_and_fits_limits(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(
        _model("gpt-image-2"), ImageRequest(prompt="x", size=(1280, 720))
    )
    assert state.last().json["size"] == "1280x720"
    assert result.warnings == []
    assert (result.images[0].width, result.images[0].height) == (1280, 720)
    # beyond 3:1 and the pixel cap: snapped and reported
    result = await provider.generate(
        _model("gpt-image-2"), ImageRequest(prompt="x", size=(3840, 640))
    )
    w, h = map(int, state.last().json["size"].split("x"))
    assert w % 16 == 0 and h % 16 == 0 and w / h <= 3.0 and w * h <= 3840 * 2160
    assert [(x.param, x.kind) for x in result.warnings] == [("size", "approximated")]


async def test_size_outside_list_is_snapped_with_warning(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(
        _model("gpt-image-1.5"), ImageRequest(prompt="x", size=(1280, 720))
    )
    assert state.last().json["size"] == "1536x1024"
    assert result.warnings[0].param == "size"
    assert result.warnings[0].kind == "approximated"


async def test_aspect_ratio_maps_to_a_size(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(
        _model("gpt-image-1.5"), ImageRequest(prompt="x", aspect_ratio="2:3")
    )
    assert state.last().json["size"] == "1024x1536"
    assert result.warnings == []


async def test_edit_is_multipart_with_repeated_image_and_mask(state, clock):
    provider = _provider(state, clock)
    mask = ImageInput(image_bytes(64, 48, "png"), "image/png", 64, 48)
    req = ImageRequest(
        prompt="add a hat",
        images=(_input("png"), _input("jpeg"), _input("webp")),
        mask=mask,
        size=(1024, 1024),
        safety_identifier="hmac-abc",
    )
    result = await provider.generate(_model("gpt-image-1.5"), req)
    sent = state.last()
    assert sent.url == "http://fake-openai/v1/images/edits"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    images = sent.files["image[]"]
    assert [ct for _, ct, _ in images] == ["image/png", "image/jpeg", "image/webp"]
    assert images[0][2] == req.images[0].data
    assert sent.files["mask"][0][1:] == ("image/png", mask.data)
    assert sent.form["prompt"] == ["add a hat"]
    assert sent.form["model"] == ["gpt-image-1.5"]
    assert sent.form["safety_identifier"] == ["hmac-abc"]
    assert "user" not in sent.form
    assert len(result.images) == 1


async def test_transparent_jpeg_is_refused_up_front(state, clock):
    provider = _provider(state, clock)
    with pytest.raises(ProviderInvalidRequest):
        await provider.generate(
            _model("gpt-image-1.5"),
            ImageRequest(prompt="x", background="transparent", output_format="jpeg"),
        )
    assert state.requests == []


async def test_catalog_and_availability(clock):
    provider = create_provider("openai", make_settings())
    ids = {m.id: m for m in provider.models()}
    assert {"openai/gpt-image-2", "openai/gpt-image-1.5", "openai/gpt-image-1-mini"} <= set(ids)
    assert all(ids[i].retired for i in ("openai/dall-e-2", "openai/dall-e-3", "openai/gpt-image-1"))
    current = ("openai/gpt-image-2", "openai/gpt-image-1.5", "openai/gpt-image-1-mini")
    assert not any(ids[i].retired for i in current)
    caps = ids["openai/gpt-image-1.5"].capabilities
    assert caps.max_n == 10 and caps.max_input_images == 16 and caps.masks and not caps.seeds
    assert ids["openai/gpt-image-2"].capabilities.size_multiple == 16
    assert provider.available
    assert not create_provider("openai", make_settings(openai_api_key=None)).available


async def test_dall_e_3_requests_b64_and_keeps_revised_prompt(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(_model("dall-e-3"), ImageRequest(prompt="a cat"))
    sent = state.last().json
    assert sent["response_format"] == "b64_json"
    assert "output_format" not in sent
    assert result.images[0].revised_prompt == "A revised: a cat"


async def test_key_not_logged_on_success(state, clock, caplog):
    caplog.set_level(logging.DEBUG)
    provider = _provider(state, clock)
    await provider.generate(_model("gpt-image-2"), ImageRequest(prompt="x"))
    assert OPENAI_KEY not in caplog.text


def _setting_cookies(app):
    """The fake, answering every request with a cookie (as a load balancer might)."""

    async def wrapped(scope, receive, send):
        async def with_cookie(message):
            if message["type"] == "http.response.start":
                cookie = (b"set-cookie", b"route=u1-sticky; Path=/")
                message = {**message, "headers": [*message.get("headers", []), cookie]}
            await send(message)

        await app(scope, receive, with_cookie)

    return wrapped


async def test_a_providers_cookie_never_comes_back(state, clock):
    """One user's call must not carry what the provider set on another's (kit/httpclient.py)."""
    app = _setting_cookies(fake_openai.make_app(state, OPENAI_KEY))
    provider = create_provider("openai", make_settings(), transport=httpx.ASGITransport(app=app))
    req = ImageRequest(prompt="a lighthouse", n=1, size=(1024, 1024))
    await provider.generate(_model("gpt-image-1.5"), req)
    await provider.generate(_model("gpt-image-1.5"), req)
    await provider.aclose()
    assert len(state.requests) == 2
    assert all("cookie" not in r.headers for r in state.requests)
