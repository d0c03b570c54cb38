"""OpenAI streaming partial images against the fake: the exact upstream request, the partial
events in order, the completed images returned, errors mid-stream, a hang mid-stream, an
oversized stream, and requests that must not stream at all."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from datetime import timedelta

import httpx
import pytest

from imagedesigner import errors
from imagedesigner.generation.normalize import GenerationInput, plan
from imagedesigner.providers import _sse, local, openai
from imagedesigner.providers.base import (
    ImageInput,
    ImageRequest,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
    ProviderInvalidRequest,
    ProviderRateLimited,
    ProviderTimeout,
    running,
)
from imagedesigner.providers.registry import create_provider

from .conftest import KEYS, OPENAI_KEY, make_settings
from .fakes import fake_openai
from .fakes._common import FakeState, LoopbackServer, image_bytes

TIMEOUT = 0.6
CAP = 512 * 1024


def _provider(state, **settings):
    app = fake_openai.make_app(state, OPENAI_KEY)
    return create_provider(
        "openai", make_settings(**settings), transport=httpx.ASGITransport(app=app)
    )


def _model(native: str):
    return next(m for m in openai.MODELS if m.native_id == native)


class Events:
    def __init__(self) -> None:
        self.events: list[dict] = []

    async def __call__(self, event: dict) -> None:
        self.events.append(event)

    @property
    def partials(self) -> list[dict]:
        return [e for e in self.events if e["stage"] == "partial_image"]


def _partial(index: int) -> dict:
    return {
        "stage": "partial_image",
        "b64_json": base64.b64encode(fake_openai.partial_png(index)).decode(),
        "index": index,
        "output_format": "png",
    }


async def test_generation_streams_partials_in_order_and_returns_the_final_image(state):
    provider = _provider(state)
    progress = Events()
    req = ImageRequest(
        prompt="a lighthouse",
        size=(1536, 1024),
        output_format="webp",
        quality="high",
        safety_identifier="hmac-abc",
        partial_images=2,
    )
    result = await provider.generate(_model("gpt-image-1.5"), req, progress=progress)
    await provider.aclose()
    sent = state.last()
    assert sent.url == "http://fake-openai/v1/images/generations"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.json == {
        "model": "gpt-image-1.5",
        "prompt": "a lighthouse",
        "n": 1,
        "size": "1536x1024",
        "output_format": "webp",
        "quality": "high",
        "safety_identifier": "hmac-abc",
        "stream": True,
        "partial_images": 2,
    }
    assert progress.events == [running(), _partial(0), _partial(1)]
    [img] = result.images
    assert (img.media_type, img.width, img.height) == ("image/webp", 1536, 1024)
    assert img.data == image_bytes(1536, 1024, "webp")
    assert result.usage == fake_openai.USAGE
    assert result.warnings == []


async def test_edit_streams_with_multipart_fields(state):
    provider = _provider(state)
    progress = Events()
    source = ImageInput(image_bytes(64, 48, "png"), "image/png", 64, 48)
    req = ImageRequest(prompt="add a hat", images=(source,), size=(1024, 1024), partial_images=3)
    result = await provider.generate(_model("gpt-image-1.5"), req, progress=progress)
    await provider.aclose()
    sent = state.last()
    assert sent.url == "http://fake-openai/v1/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.form["stream"] == ["true"]
    assert sent.form["partial_images"] == ["3"]
    assert sent.form["n"] == ["1"] and sent.form["model"] == ["gpt-image-1.5"]
    assert sent.files["image[]"][0][2] == source.data
    assert progress.partials == [_partial(0), _partial(1), _partial(2)]
    assert [(i.width, i.height) for i in result.images] == [(1024, 1024)]
    assert result.usage == fake_openai.USAGE


async def test_several_images_one_completed_event_each(state):
    provider = _provider(state)
    progress = Events()
    req = ImageRequest(prompt="x", n=2, size=(1024, 1024), partial_images=1)
    result = await provider.generate(_model("gpt-image-2"), req, progress=progress)
    await provider.aclose()
    assert len(result.images) == 2
    assert progress.partials == [_partial(0), _partial(0)]


async def test_without_partial_images_nothing_streams(state):
    provider = _provider(state)
    progress = Events()
    await provider.generate(_model("gpt-image-1.5"), ImageRequest(prompt="x"), progress=progress)
    assert "stream" not in state.last().json and "partial_images" not in state.last().json
    assert state.last().headers.get("accept") != "text/event-stream"
    assert progress.events == [running()]
    # partial images asked for, but nobody to give them to: no stream either
    await provider.generate(_model("gpt-image-1.5"), ImageRequest(prompt="x", partial_images=2))
    assert "stream" not in state.last().json and "partial_images" not in state.last().json
    # a model that cannot stream ignores them (normalize has already warned)
    result = await provider.generate(
        _model("dall-e-3"), ImageRequest(prompt="x", partial_images=2), progress=progress
    )
    assert "stream" not in state.last().json and "partial_images" not in state.last().json
    assert len(result.images) == 1
    await provider.aclose()


def test_capability_flag():
    caps = {m.native_id: m.capabilities for m in openai.MODELS}
    assert all(caps[n].partial_images for n in ("gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini"))
    assert not caps["dall-e-3"].partial_images and not caps["dall-e-2"].partial_images
    assert caps["gpt-image-2"].as_dict()["partial_images"] is True


@pytest.mark.parametrize(
    ("error", "cls", "code"),
    [
        (None, ProviderError, "upstream_error"),
        (
            {
                "type": "image_generation_user_error",
                "message": "Your request was rejected as a result of our safety system.",
                "param": None,
                "code": "moderation_blocked",
            },
            ProviderContentRefused,
            "content_policy_violation",
        ),
        (
            {
                "type": "requests",
                "message": "Rate limit reached for images per minute.",
                "param": None,
                "code": "rate_limit_exceeded",
            },
            ProviderRateLimited,
            "provider_rate_limited",
        ),
        (  # the shape our own API (and the Responses API) uses: the Error under "error"
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": f"Invalid value (request made with key {OPENAI_KEY}).",
                    "param": "size",
                    "code": "invalid_value",
                },
            },
            ProviderInvalidRequest,
            "provider_rejected_request",
        ),
    ],
)
async def test_error_event_mid_stream_maps_like_a_status(state, caplog, error, cls, code):
    caplog.set_level(logging.DEBUG)
    provider = _provider(state)
    state.mode = "stream_error"
    if error is not None:
        state.extra["stream_error"] = error
    progress = Events()
    with pytest.raises(ProviderError) as info:
        await provider.generate(
            _model("gpt-image-1.5"), ImageRequest(prompt="x", partial_images=2), progress=progress
        )
    await provider.aclose()
    assert type(info.value) is cls and info.value.code == code
    assert progress.partials == [_partial(0)]  # what came before the error was passed on
    for key in KEYS:
        assert key not in info.value.message and key not in caplog.text


async def test_a_partial_that_is_not_an_image_is_not_passed_on(state, caplog):
    provider = _provider(state)
    state.mode = "stream_bad_partial"
    progress = Events()
    result = await provider.generate(
        _model("gpt-image-1.5"), ImageRequest(prompt="x", partial_images=2), progress=progress
    )
    await provider.aclose()
    assert progress.partials == [_partial(1)]
    assert len(result.images) == 1
    assert "partial image dropped" in caplog.text


async def test_a_stream_without_a_completed_event_is_a_bad_response(state):
    provider = _provider(state)
    state.mode = "stream_truncated"
    with pytest.raises(ProviderBadResponse, match="before the image was complete"):
        await provider.generate(
            _model("gpt-image-1.5"), ImageRequest(prompt="x", partial_images=1), progress=Events()
        )
    await provider.aclose()


async def test_a_json_answer_to_a_stream_request_is_read_as_today(state):
    provider = _provider(state)
    state.mode = "stream_json"
    progress = Events()
    result = await provider.generate(
        _model("gpt-image-1.5"), ImageRequest(prompt="x", partial_images=1), progress=progress
    )
    await provider.aclose()
    assert state.last().json["stream"] is True
    assert len(result.images) == 1 and result.usage["total_tokens"] == 4172
    assert progress.partials == []


async def test_a_completed_image_is_validated_as_any_output(state, monkeypatch):
    provider = _provider(state)
    original = fake_openai.image_bytes

    def final_is_not_an_image(w, h, *args, **kwargs):
        return b"no image" if w > 100 else original(w, h, *args, **kwargs)

    monkeypatch.setattr(fake_openai, "image_bytes", final_is_not_an_image)
    with pytest.raises(ProviderBadResponse):
        await provider.generate(
            _model("gpt-image-1.5"), ImageRequest(prompt="x", partial_images=1), progress=Events()
        )
    await provider.aclose()


# --- over real sockets: a hang mid-stream, an endless stream ----------------------------------


@pytest.fixture(scope="module")
def server():
    state = FakeState()
    running_server = LoopbackServer(fake_openai.make_app(state, OPENAI_KEY)).__enter__()
    try:
        yield state, running_server
    finally:
        state.released = True
        running_server.__exit__(None, None, None)


def _loopback(url: str, timeout: float = TIMEOUT):
    settings = make_settings(
        openai_base_url=f"{url}/v1",
        provider_timeout=timedelta(seconds=timeout),
        provider_connect_timeout=timedelta(seconds=0.5),
        provider_max_response_bytes=CAP,
    )
    return create_provider("openai", settings)


async def test_a_hang_mid_stream_is_cut_at_the_deadline(server):
    state, srv = server
    state.reset()
    state.mode = "stream_hang"
    provider = _loopback(srv.url)
    progress = Events()
    started = time.monotonic()
    try:
        with pytest.raises(ProviderTimeout) as info:
            await provider.generate(
                _model("gpt-image-1.5"),
                ImageRequest(prompt="x", partial_images=2),
                progress=progress,
            )
        elapsed = time.monotonic() - started
    finally:
        state.released = True
        await provider.aclose()
    assert state.extra.get("hung")
    assert progress.partials == [_partial(0)]  # the first preview arrived before the hang
    assert TIMEOUT - 0.05 <= elapsed < TIMEOUT + 1.0
    assert info.value.status == 504 and info.value.code == "upstream_timeout"


@pytest.mark.parametrize("mode", ["stream_huge", "stream_flood"])
async def test_an_oversized_stream_is_refused_at_the_cap(server, mode):
    state, srv = server
    state.reset()
    state.mode = mode
    provider = _loopback(srv.url, timeout=10.0)
    progress = Events()
    try:
        with pytest.raises(ProviderBadResponse, match="exceeded"):
            await provider.generate(
                _model("gpt-image-1.5"),
                ImageRequest(prompt="x", partial_images=3),
                progress=progress,
            )
        for _ in range(100):  # before releasing the fake: did it stop because the client left?
            if state.extra.get("client_gone"):
                break
            await asyncio.sleep(0.01)
        assert state.extra.get("client_gone"), "the fake kept streaming after the cap"
        assert state.sent_bytes < 32 * 1024 * 1024, state.sent_bytes
    finally:
        state.released = True
        await provider.aclose()
    if mode == "stream_flood":  # the previews before the cap were passed on, in order
        assert progress.partials and len(progress.partials) < CAP // 100
        assert [p["index"] for p in progress.partials[:4]] == [0, 1, 2, 0]


# --- the SSE parser ----------------------------------------------------------------------------


def _feed(chunks: list[bytes]) -> list[_sse.SSEEvent]:
    parser = _sse.SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_sse_parser_line_endings_fields_and_chunking():
    stream = (
        b"\xef\xbb\xbf: a comment\n"
        b"event: image_generation.partial_image\r\n"
        b'data: {"a":\r\n'
        b"data:1}\r\n"
        b"id: 7\r\n"
        b"\r\n"
        b"data: second\r\r"
        b"event: unfinished\ndata: dropped at the end\n"
    )
    expected = [
        _sse.SSEEvent("image_generation.partial_image", '{"a":\n1}', "7"),
        _sse.SSEEvent("message", "second", "7"),
    ]
    assert _feed([stream]) == expected
    # byte by byte (a CR at a chunk's end waits for a possible LF): the same events
    assert _feed([stream[i : i + 1] for i in range(len(stream))]) == expected
    assert _feed([b"event: x\n\n", b"data:\n\n"]) == [_sse.SSEEvent("message", "")]


def test_sse_parser_scans_a_long_line_once():
    parser = _sse.SSEParser()
    started = time.monotonic()
    for _ in range(2000):
        assert parser.feed(b"A" * 4096) == []
    assert time.monotonic() - started < 2.0
    assert parser.feed(b"\n\n") == []  # no "data:" field: nothing to dispatch


# --- normalize carries partial_images into the planned calls -----------------------------------


def _plan(native: str, **kw):
    strict = kw.pop("strict", False)
    return plan(GenerationInput(prompt="x", **kw), _model(native), strict=strict, max_prompt=1000)


def test_normalize_carries_partial_images_to_models_that_stream():
    planned = _plan("gpt-image-1.5", partial_images=2, n=1)
    assert [c.partial_images for c in planned.calls] == [2]
    assert planned.warnings == []
    assert [c.partial_images for c in _plan("gpt-image-1.5").calls] == [0]


def test_normalize_ignores_partial_images_with_a_warning_for_other_models():
    planned = _plan("dall-e-3", partial_images=2)
    assert [c.partial_images for c in planned.calls] == [0]
    assert [(w.param, w.kind) for w in planned.warnings] == [("partial_images", "ignored")]
    assert "openai/dall-e-3" in planned.warnings[0].message

    planned = plan(
        GenerationInput(prompt="x", partial_images=1), local.SKETCH, strict=False, max_prompt=99
    )
    assert [(w.param, w.kind) for w in planned.warnings] == [("partial_images", "ignored")]


def test_normalize_refuses_out_of_range_and_strict_mode():
    for bad in (-1, 4):
        with pytest.raises(errors.InvalidRequest) as info:
            _plan("gpt-image-1.5", partial_images=bad)
        assert info.value.param == "partial_images"
    with pytest.raises(errors.InvalidRequest) as info:
        _plan("dall-e-3", partial_images=1, strict=True)
    assert info.value.param == "partial_images" and info.value.code == "unsupported_parameter"
