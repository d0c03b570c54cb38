"""One error contract for all three adapters, against their fakes served on a loopback port.

Each error mode of a fake → the right ProviderError subclass, HTTP status and code; the operator's
key never appears in the exception, its traceback or any log line; a hanging provider is cut at the
timeout; an endless body is refused at the size cap without being read to the end.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import traceback
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from imagedesigner.providers import _http, _status, fal, openai, openrouter
from imagedesigner.providers.base import (
    ImageRequest,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
    ProviderInvalidRequest,
    ProviderOutOfCredits,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from imagedesigner.providers.registry import create_provider

from .conftest import FAL_KEY, KEYS, OPENAI_KEY, OPENROUTER_KEY, make_settings
from .fakes import fake_fal, fake_openai, fake_openrouter
from .fakes._common import FakeState, LoopbackServer

TIMEOUT = 0.6
CAP = 512 * 1024

FAKES = {
    "openai": (fake_openai.make_app, OPENAI_KEY),
    "openrouter": (fake_openrouter.make_app, OPENROUTER_KEY),
    "fal": (fake_fal.make_app, FAL_KEY),
}

# mode -> (exception class, HTTP status, code, retryable)
EXPECTED = {
    "401": (ProviderAuthError, 502, "provider_auth_failed", False),
    "403": (ProviderAuthError, 502, "provider_auth_failed", False),
    "402": (ProviderOutOfCredits, 502, "provider_out_of_credits", False),
    "429": (ProviderRateLimited, 429, "provider_rate_limited", True),
    "503": (ProviderUnavailable, 502, "provider_unavailable", True),
    "500": (ProviderError, 502, "upstream_error", False),
    "refuse": (ProviderContentRefused, 400, "content_policy_violation", False),
    "invalid": (ProviderInvalidRequest, 400, "provider_rejected_request", False),
    "hang": (ProviderTimeout, 504, "upstream_timeout", False),
    "huge": (ProviderBadResponse, 502, "bad_upstream_response", False),
    "not_image": (ProviderBadResponse, 502, "bad_upstream_response", False),
    "malformed": (ProviderBadResponse, 502, "bad_upstream_response", False),
}
REASONS = {
    "openai": "rejected as a result of our safety system",
    "openrouter": "sexual/minors",
    "fal": "flagged by a content checker",
}


@pytest.fixture(scope="module")
def servers():
    running = {}
    try:
        for name, (make_app, key) in FAKES.items():
            state = FakeState()
            server = LoopbackServer(make_app(state, key)).__enter__()
            running[name] = (state, server)
        yield running
    finally:
        for state, server in running.values():
            state.released = True
            server.__exit__(None, None, None)


def _adapter(name: str, url: str):
    settings = make_settings(
        openai_base_url=f"{url}/v1",
        openrouter_base_url=f"{url}/api/v1",
        fal_queue_url=url,
        provider_timeout=timedelta(seconds=TIMEOUT),
        provider_connect_timeout=timedelta(seconds=0.5),
        provider_max_response_bytes=CAP,
    )
    if name == "openai":
        return create_provider("openai", settings), openai.MODELS[1]
    if name == "openrouter":
        return create_provider("openrouter", settings), openrouter.MODELS[0]
    return create_provider("fal", settings, poll_interval=0.001), fal.MODELS[0]


def _assert_no_key(exc: BaseException, caplog) -> None:
    texts = [
        str(exc),
        getattr(exc, "message", ""),
        repr(exc.args),
        "".join(traceback.format_exception(exc)),
        str(getattr(exc, "headers", "")),
        caplog.text,
    ]
    for key in KEYS:
        for text in texts:
            assert key not in text
            assert key.split(":")[-1] not in text  # fal's secret half on its own


@pytest.mark.parametrize("mode", list(EXPECTED))
@pytest.mark.parametrize("name", list(FAKES))
async def test_error_contract(name, mode, servers, caplog):
    caplog.set_level(logging.DEBUG)
    state, server = servers[name]
    state.reset()
    state.mode = mode
    adapter, model = _adapter(name, server.url)
    cls, status, code, retryable = EXPECTED[mode]
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError) as info:
            await adapter.generate(model, ImageRequest(prompt="a lighthouse", size=(1024, 1024)))
        elapsed = time.monotonic() - started
        if mode == "huge":  # before releasing the fake: did it stop because the client left?
            for _ in range(100):
                if state.extra.get("client_gone"):
                    break
                await asyncio.sleep(0.01)
            assert state.extra.get("client_gone"), "the fake kept streaming after the cap"
            assert state.sent_bytes < 32 * 1024 * 1024, state.sent_bytes
    finally:
        state.released = True
        await adapter.aclose()
    exc = info.value
    assert type(exc) is cls, (type(exc), exc.message)
    assert (exc.status, exc.code, exc.retryable) == (status, code, retryable)
    _assert_no_key(exc, caplog)
    if mode == "401":
        assert exc.message == f"The operator's key for {adapter_label(name)} was rejected."
    if mode == "402":
        assert "out of credits" in exc.message
    if mode == "429":
        assert exc.retry_after == 7 and exc.headers["Retry-After"] == "7"
    if mode == "503":
        assert exc.retry_after == 2
    if mode == "refuse":
        assert REASONS[name] in exc.message
    if mode == "hang":
        assert elapsed < TIMEOUT + 1.0


def adapter_label(name: str) -> str:
    return {"openai": "OpenAI", "openrouter": "OpenRouter", "fal": "fal.ai"}[name]


@pytest.mark.parametrize("name", list(FAKES))
async def test_connect_error_is_retryable_unavailable(name, caplog):
    caplog.set_level(logging.DEBUG)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    adapter, model = _adapter(name, f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderUnavailable) as info:
        await adapter.generate(model, ImageRequest(prompt="x"))
    await adapter.aclose()
    assert info.value.retryable and "connect" in info.value.message.lower()
    _assert_no_key(info.value, caplog)


async def test_openai_quota_429_is_out_of_credits_not_retryable(servers):
    state, server = servers["openai"]
    state.reset()
    state.mode = "quota"
    adapter, model = _adapter("openai", server.url)
    with pytest.raises(ProviderOutOfCredits) as info:
        await adapter.generate(model, ImageRequest(prompt="x"))
    await adapter.aclose()
    assert not info.value.retryable


async def test_read_capped_stops_pulling_at_the_cap():
    pulled = 0

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self):
            nonlocal pulled
            while True:
                pulled += 1
                yield b"x" * 1024

    response = httpx.Response(200, stream=Endless())
    with pytest.raises(ProviderBadResponse):
        await _http.read_capped(response, 10 * 1024)
    assert pulled == 11
    declared = httpx.Response(200, headers={"content-length": str(10**9)}, stream=Endless())
    pulled = 0
    with pytest.raises(ProviderBadResponse):
        await _http.read_capped(declared, 10 * 1024)
    assert pulled == 0


def test_retry_after_parsing():
    assert _status.parse_retry_after("7") == 7
    assert _status.parse_retry_after(None) is None and _status.parse_retry_after("soon") is None
    from datetime import UTC, datetime

    when = datetime(2030, 1, 1, tzinfo=UTC)
    value = _status.parse_retry_after(format_datetime(when, usegmt=True), now=when.timestamp() - 30)
    assert value == 30


def test_redact_removes_keys_and_key_lookalikes():
    text = f"bad key {OPENAI_KEY} / Bearer abc.def / Key {FAL_KEY} / sk-or-v1-zzzz9999"
    out = _status.redact(text, KEYS)
    assert all(k not in out for k in KEYS) and "abc.def" not in out and "zzzz9999" not in out
