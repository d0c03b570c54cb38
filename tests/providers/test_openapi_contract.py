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
from imagedesigner.providers._sse import SSEParser
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


def sse_events(raw: bytes) -> list[tuple[str, dict]]:
    return [(e.event, json.loads(e.data)) for e in SSEParser().feed(raw)]


@pytest.mark.parametrize("kind", ["generation", "edit"])
async def test_openai_stream_request_and_fake_events_match_the_spec(state, clock, kind):
    provider = _openai(state, clock)
    model = next(m for m in openai.MODELS if m.native_id == "gpt-image-1.5")
    image = ImageInput(image_bytes(64, 48), "image/png", 64, 48)
    received = []

    async def progress(event):
        received.append(event)

    req = ImageRequest(
        prompt="a lighthouse",
        n=2,
        size=(1024, 1536),
        quality="high",
        background="opaque",
        images=(image,) if kind == "edit" else (),
        partial_images=2,
    )
    result = await provider.generate(model, req, progress=progress)
    await provider.aclose()
    assert len(result.images) == 2
    assert sum(e["stage"] == "partial_image" for e in received) == 4
    sent = state.last()
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake_openai.make_app(state, OPENAI_KEY))
    ) as client:
        if kind == "generation":
            check("openai-openapi.yaml", "CreateImageRequest", sent.json)
            assert sent.json["stream"] is True and sent.json["partial_images"] == 2
            r = await client.post(
                "http://fake/v1/images/generations", json=sent.json, headers=headers
            )
        else:
            files = [(k, (fn, data, ct)) for k, fs in sent.files.items() for fn, ct, data in fs]
            form = {k: v[0] for k, v in sent.form.items()}
            r = await client.post(
                "http://fake/v1/images/edits", data=form, files=files, headers=headers
            )
    assert r.headers["content-type"].startswith("text/event-stream")
    prefix, schemas = {
        "generation": ("image_generation", ("ImageGenPartialImageEvent", "ImageGenCompletedEvent")),
        "edit": ("image_edit", ("ImageEditPartialImageEvent", "ImageEditCompletedEvent")),
    }[kind]
    union = "ImageGenStreamEvent" if kind == "generation" else "ImageEditStreamEvent"
    events = sse_events(r.content)
    expected = [f"{prefix}.partial_image"] * 2 + [f"{prefix}.completed"]
    assert [name for name, _ in events] == expected * 2
    for name, data in events:
        assert data["type"] == name
        check("openai-openapi.yaml", union, data)
        check("openai-openapi.yaml", schemas[name.endswith(".completed")], data)


async def test_fake_openai_stream_error_event_matches_the_spec(state, clock):
    state.mode = "stream_error"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake_openai.make_app(state, OPENAI_KEY))
    ) as client:
        r = await client.post(
            "http://fake/v1/images/generations",
            json={"model": "gpt-image-1.5", "prompt": "x", "stream": True, "partial_images": 1},
            headers={"Authorization": f"Bearer {OPENAI_KEY}"},
        )
    events = sse_events(r.content)
    assert [name for name, _ in events] == ["image_generation.partial_image", "error"]
    check("openai-openapi.yaml", "ErrorEvent", {"event": "error", "data": events[-1][1]})


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
    with pytest.raises(AssertionError):
        check(
            "openai-openapi.yaml",
            "ImageGenPartialImageEvent",
            {"type": "image_generation.partial_image", "b64_json": 1},
        )
    with pytest.raises(AssertionError):
        check("openai-openapi.yaml", "ErrorEvent", {"event": "error", "data": {"message": 1}})


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
