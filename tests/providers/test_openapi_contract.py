"""Our provider requests, the fakes' responses and our own API's responses checked against the
providers' published OpenAPI descriptions (shared/spec/providers, beside this repository)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from imagedesigner.providers import openai, openrouter
from imagedesigner.providers.base import ImageInput, ImageRequest
from imagedesigner.providers.registry import create_provider

from .conftest import OPENAI_KEY, OPENROUTER_KEY, make_settings
from .fakes import fake_openai, fake_openrouter
from .fakes._common import image_bytes

SPECS = Path(__file__).resolve().parents[3] / "shared" / "spec" / "providers"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason="provider specs not beside the repo")


@functools.cache
def spec(name: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(SPECS / name, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader


def check(spec_name: str, schema: str, instance) -> None:
    """Validate ``instance`` against ``#/components/schemas/<schema>`` (OpenAPI 3.1 = JSON Schema
    2020-12), resolving every $ref inside the same document."""
    document = spec(spec_name)
    validator = jsonschema.Draft202012Validator(
        {**document, "$ref": f"#/components/schemas/{schema}"}
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


def _openai(state, clock):
    app = fake_openai.make_app(state, OPENAI_KEY)
    return create_provider("openai", make_settings(), transport=httpx.ASGITransport(app=app))


def _openrouter(state, clock):
    app = fake_openrouter.make_app(state, OPENROUTER_KEY)
    return create_provider("openrouter", make_settings(), transport=httpx.ASGITransport(app=app))


@pytest.mark.parametrize("native", ["gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini"])
async def test_openai_request_and_fake_response_match_the_spec(state, clock, native):
    provider = _openai(state, clock)
    model = next(m for m in openai.MODELS if m.native_id == native)
    req = ImageRequest(
        prompt="a lighthouse",
        n=2,
        size=(1024, 1536),
        output_format="webp",
        quality="high",
        background="opaque",
        safety_identifier="hmac-abc",
    )
    await provider.generate(model, req)
    await provider.aclose()
    check("openai-openapi.yaml", "CreateImageRequest", state.last().json)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake_openai.make_app(state, OPENAI_KEY))
    ) as client:
        r = await client.post(
            "http://fake/v1/images/generations",
            json=state.last().json,
            headers={"Authorization": f"Bearer {OPENAI_KEY}"},
        )
    check("openai-openapi.yaml", "ImagesResponse", r.json())


async def test_fake_openai_error_matches_the_spec(state, clock):
    state.mode = "401"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake_openai.make_app(state, OPENAI_KEY))
    ) as client:
        r = await client.post("http://fake/v1/images/generations", json={"prompt": "x"})
    assert r.status_code == 401
    check("openai-openapi.yaml", "ErrorResponse", r.json())


async def test_openrouter_request_and_fake_response_match_the_spec(state, clock):
    provider = _openrouter(state, clock)
    model = openrouter.MODELS[0]
    image = ImageInput(image_bytes(64, 48), "image/png", 64, 48)
    await provider.generate(model, ImageRequest(prompt="a boat", size=(1024, 1024)))
    await provider.generate(model, ImageRequest(prompt="winter", images=(image,)))
    await provider.aclose()
    for sent in [q for q in state.requests if q.method == "POST"]:
        check("openrouter-openapi.yaml", "ChatRequest", sent.json)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake_openrouter.make_app(state, OPENROUTER_KEY))
    ) as client:
        r = await client.post(
            "http://fake/api/v1/chat/completions",
            content=json.dumps(state.last("POST").json),
            headers={
                "Authorization": f"Bearer {OPENROUTER_KEY}",
                "content-type": "application/json",
            },
        )
    check("openrouter-openapi.yaml", "ChatResult", r.json())


def test_the_check_can_fail():
    with pytest.raises(AssertionError):
        check("openai-openapi.yaml", "ImagesResponse", {"created": "yesterday", "data": "x"})
    with pytest.raises(AssertionError):
        check("openai-openapi.yaml", "CreateImageRequest", {"prompt": "x", "n": "two"})
    with pytest.raises(AssertionError):
        check("openrouter-openapi.yaml", "ChatRequest", {"messages": "not a list"})


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
async def test_our_images_api_answers_in_openai_shape(client, auth, response_format):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "a lighthouse", "size": "1024x1024", "response_format": response_format},
        headers=auth,
    )
    assert r.status_code == 200
    check("openai-openapi.yaml", "ImagesResponse", r.json())
    bad = await client.post("/v1/images/generations", json={"prompt": ""}, headers=auth)
    check("openai-openapi.yaml", "ErrorResponse", bad.json())
