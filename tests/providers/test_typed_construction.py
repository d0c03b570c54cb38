"""The HTTP adapters are built from typed arguments alone, as an httpx client is: no Settings.

Each adapter, given a base URL, key, timeouts, pool size and caps, sends to exactly that base URL
with that key, and its connection pool has exactly those timeouts and that size. The registry is
the one place that maps Settings onto these arguments.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest

from imagedesigner.config import Settings
from imagedesigner.providers import _http, fal, openai, openrouter
from imagedesigner.providers._aiohttp import AiohttpTransport
from imagedesigner.providers.base import ImageRequest, ProviderBadResponse
from imagedesigner.providers.registry import create_provider

from .fakes._common import image_bytes

KEY = "sk-typed-args-ReallySecretKey0042"
PNG = image_bytes(32, 24)
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
ARGS = {
    "api_key": KEY,
    "timeout": 7.5,
    "connect_timeout": 1.25,
    "max_connections": 3,
    "max_response_bytes": 4 * 1024 * 1024,
    "max_image_pixels": 1_000_000,
}


def _openai_reply(request: httpx.Request) -> httpx.Response:
    body = {"data": [{"b64_json": base64.b64encode(PNG).decode()}], "output_format": "png"}
    return httpx.Response(200, json=body)


def _openrouter_reply(request: httpx.Request) -> httpx.Response:
    message = {"role": "assistant", "images": [{"image_url": {"url": DATA_URL}}]}
    return httpx.Response(200, json={"choices": [{"message": message}]})


def _fal_reply(request: httpx.Request) -> httpx.Response:
    if request.method == "POST":
        return httpx.Response(200, json={"request_id": "req-1", "status": "COMPLETED"})
    return httpx.Response(200, json={"images": [{"url": DATA_URL, "content_type": "image/png"}]})


CASES = {
    # name: (class, base URL given, model, reply, path of the first call, auth header)
    "openai": (
        openai.OpenAIProvider,
        "http://typed-openai.test/custom/v1/",
        openai.MODELS[1],
        _openai_reply,
        "/custom/v1/images/generations",
        f"Bearer {KEY}",
    ),
    "openrouter": (
        openrouter.OpenRouterProvider,
        "http://typed-openrouter.test/or/api/v1",
        openrouter.MODELS[0],
        _openrouter_reply,
        "/or/api/v1/chat/completions",
        f"Bearer {KEY}",
    ),
    "fal": (
        fal.FalProvider,
        "http://typed-fal.test/queue",
        fal.MODELS[0],
        _fal_reply,
        "/queue/fal-ai/flux/schnell",
        f"Key {KEY}",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_built_from_typed_arguments_alone(name):
    cls, base_url, model, reply, first_path, auth = CASES[name]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(request)

    provider = cls(base_url=base_url, transport=httpx.MockTransport(handler), **ARGS)
    try:
        assert provider.available
        assert provider.base_url == base_url.rstrip("/")
        assert (provider.timeout, provider.connect_timeout) == (7.5, 1.25)
        assert provider.max_connections == 3
        client = provider._get_client()
        assert client.timeout == httpx.Timeout(connect=1.25, read=7.5, write=7.5, pool=7.5)

        result = await provider.generate(model, ImageRequest(prompt="a red square"))
        assert [(i.width, i.height) for i in result.images] == [(32, 24)]
        host = httpx.URL(base_url).host
        assert seen and all(r.url.host == host for r in seen), "only the given base URL is used"
        assert all(r.url.path.startswith(httpx.URL(base_url).path.rstrip("/")) for r in seen)
        assert seen[0].url.path == first_path
        assert all(r.headers["authorization"] == auth for r in seen)
    finally:
        await provider.aclose()


@pytest.mark.parametrize("name", list(CASES))
async def test_the_pool_has_the_given_size_and_timeouts(name):
    cls = CASES[name][0]
    provider = cls(**{**ARGS, "max_connections": 5, "timeout": 2.0, "connect_timeout": 9.0})
    try:
        client = provider._get_client()  # the real network transport: nothing is sent
        # the connect timeout never exceeds the whole call's
        assert client.timeout == httpx.Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)
        transport = client._transport  # aiohttp's pool under httpx's API
        assert isinstance(transport, AiohttpTransport)
        connector = transport._get_session().connector
        assert (connector.limit, connector.limit_per_host) == (5, 0)
        assert provider.base_url == cls.default_base_url
    finally:
        await provider.aclose()


@pytest.mark.parametrize("name", list(CASES))
async def test_the_given_response_cap_is_enforced(name):
    cls, base_url, model, reply, _, _ = CASES[name]
    provider = cls(
        **{**ARGS, "max_response_bytes": 64},
        base_url=base_url,
        transport=httpx.MockTransport(reply),
    )
    try:
        with pytest.raises(ProviderBadResponse, match="exceeded 64 bytes"):
            await provider.generate(model, ImageRequest(prompt="x"))
    finally:
        await provider.aclose()


async def test_openai_safety_identifier_flag_is_a_constructor_argument():
    sent: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return _openai_reply(request)

    request = ImageRequest(prompt="x", safety_identifier="hmac-of-account")
    for flag in (True, False):
        provider = openai.OpenAIProvider(
            api_key=KEY, send_safety_identifier=flag, transport=httpx.MockTransport(handler)
        )
        await provider.generate(openai.MODELS[1], request)
        await provider.aclose()
    assert sent[0]["safety_identifier"] == "hmac-of-account"
    assert "safety_identifier" not in sent[1]


def test_without_a_key_a_provider_is_listed_but_unavailable():
    for cls, *_ in CASES.values():
        assert not cls().available and not cls(api_key="").available


def test_the_registry_maps_settings_onto_the_arguments():
    settings = Settings(
        _env_file=None,
        openai_api_key="sk-from-settings-0001",
        openai_base_url="http://s-openai/v1",
        openai_send_safety_identifier=False,
        openrouter_base_url="http://s-openrouter/api/v1",
        fal_queue_url="http://s-fal-queue",
        provider_timeout=timedelta(seconds=33),
        provider_connect_timeout=timedelta(seconds=4),
        provider_max_connections=12,
        provider_max_response_bytes=1234567,
        max_image_pixels=7654321,
    )
    built = {name: create_provider(name, settings) for name in CASES}
    assert built["openai"].base_url == "http://s-openai/v1"
    assert built["openrouter"].base_url == "http://s-openrouter/api/v1"
    assert built["fal"].base_url == "http://s-fal-queue"
    assert built["openai"].available and not built["fal"].available
    assert built["openai"].send_safety_identifier is False
    for provider in built.values():
        assert isinstance(provider, _http.HttpProvider)
        assert (provider.timeout, provider.connect_timeout) == (33.0, 4.0)
        assert provider.max_connections == 12
        assert (provider.max_response_bytes, provider.max_image_pixels) == (1234567, 7654321)


def test_argument_defaults_are_the_settings_defaults():
    defaults = Settings(_env_file=None, openai_api_key=None, openrouter_api_key=None, fal_key=None)
    for name, (cls, *_) in CASES.items():
        mapped, bare = create_provider(name, defaults), cls()
        for attr in (
            "base_url",
            "timeout",
            "connect_timeout",
            "max_connections",
            "max_response_bytes",
            "max_image_pixels",
        ):
            assert getattr(mapped, attr) == getattr(bare, attr), (name, attr)
    assert openai.OpenAIProvider().send_safety_identifier is defaults.openai_send_safety_identifier


def test_fixed_endpoints_are_parsed_once_and_follow_the_base_url():
    import httpx

    from imagedesigner.providers.openai import OpenAIProvider

    provider = OpenAIProvider(api_key="sk-test", base_url="http://127.0.0.1:9/v1/")
    first = provider.endpoint("/images/generations")
    assert isinstance(first, httpx.URL)
    assert str(first) == "http://127.0.0.1:9/v1/images/generations"
    assert provider.endpoint("/images/generations") is first  # parsed once
    assert str(provider.endpoint("/images/edits")) == "http://127.0.0.1:9/v1/images/edits"
    other = OpenAIProvider(api_key="sk-test", base_url="http://127.0.0.1:10/v1")
    assert str(other.endpoint("/images/generations")).startswith("http://127.0.0.1:10/")
    other.base_url = "http://127.0.0.1:11/v1"  # a changed base is parsed anew
    assert str(other.endpoint("/images/generations")).startswith("http://127.0.0.1:11/")
