"""POST /v1/images/generations and GET /v1/images/{id} at the HTTP level."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from imagedesigner.db.models import Generation, StoredImage
from tests.conftest import files_under, make_user


async def count_rows(container, model) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


def blob_files(container) -> list:
    root = container.settings.resolved_blob_dir()
    return [p for p in files_under(root) if not p.name.startswith(".")]


async def test_b64_generation_has_openai_shape_and_requested_size(client, auth, container):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "a red square at noon", "size": "512x768", "response_format": "b64_json"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"created", "data", "model", "provider", "warnings"}
    assert body["provider"] == "local" and r.headers["x-imagedesigner-provider"] == "local"
    img = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
    assert img.format == "PNG" and img.size == (512, 768)
    # default IMAGEDESIGNER_STORE_B64_OUTPUTS=false: no blob at all
    assert blob_files(container) == []
    assert await count_rows(container, StoredImage) == 0


async def test_url_generation_signed_link_and_owner_path(client, auth, container):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "a blue circle", "n": 2, "response_format": "url", "size": "256x256"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    urls = [d["url"] for d in r.json()["data"]]
    assert len(urls) == 2 and all(u.startswith("http://testserver/v1/images/img_") for u in urls)
    # the url is a signed link: it opens with no key at all
    got = await client.get(urls[0])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png"
    assert got.headers["cache-control"] == "private, no-store"
    assert got.headers["referrer-policy"] == "no-referrer"
    assert Image.open(io.BytesIO(got.content)).size == (256, 256)
    # the unsigned path is the owner's: their key opens it, no key does not
    owner_path = urls[0].split("?")[0]
    assert (await client.get(owner_path, headers=auth)).content == got.content
    assert (await client.get(owner_path)).status_code == 401

    _, other_key = await make_user(container, "eve@example.com")
    theirs = await client.get(owner_path, headers={"Authorization": f"Bearer {other_key}"})
    unknown = await client.get("/v1/images/img_doesnotexist", headers=auth)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    assert theirs.json()["error"]["type"] == "not_found_error"


async def test_store_b64_outputs_setting_keeps_blobs(client, auth, container):
    container.settings.store_b64_outputs = True
    r = await client.post(
        "/v1/images/generations", json={"prompt": "a tree", "size": "256x256"}, headers=auth
    )
    assert r.status_code == 200
    assert len(blob_files(container)) == 1


async def test_output_formats_and_seed_determinism(client, auth):
    bodies = []
    for _ in range(2):
        r = await client.post(
            "/v1/images/generations",
            json={
                "prompt": "mountains at dusk",
                "seed": 7,
                "size": "256x256",
                "output_format": "webp",
            },
            headers=auth,
        )
        assert r.status_code == 200, r.text
        bodies.append(r.json()["data"][0]["b64_json"])
    assert bodies[0] == bodies[1]
    img = Image.open(io.BytesIO(base64.b64decode(bodies[0])))
    assert img.format == "WEBP"


async def test_aspect_ratio_extension(client, auth):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "sea", "aspect_ratio": "16:9"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["size"] == "1024x576"


async def test_ignored_openai_params_are_reported(client, auth):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "sea", "size": "256x256", "style": "vivid", "user": "someone"},
        headers=auth,
    )
    assert r.status_code == 200
    params = {w["param"] for w in r.json()["warnings"]}
    assert {"style", "user"} <= params


BAD = [
    ({}, 400, "prompt"),
    ({"prompt": ""}, 400, "prompt"),
    ({"prompt": "   "}, 400, "prompt"),
    ({"prompt": "x" * 32001}, 400, "prompt"),
    ({"prompt": "a cat", "model": "nope/nothing"}, 400, "model"),
    ({"prompt": "a cat", "model": "openai/gpt-image-2"}, 400, "model"),
    ({"prompt": "a cat", "n": 0}, 400, "n"),
    ({"prompt": "a cat", "n": 11}, 400, "n"),
    ({"prompt": "a cat", "n": "many"}, 400, "n"),
    ({"prompt": "a cat", "size": "100x100"}, 400, "size"),
    ({"prompt": "a cat", "size": "4096x4096"}, 400, "size"),
    ({"prompt": "a cat", "size": "big"}, 400, "size"),
    ({"prompt": "a cat", "response_format": "gif"}, 400, "response_format"),
    ({"prompt": "a cat", "output_format": "gif"}, 400, "output_format"),
    ({"prompt": "a cat", "bogus": 1}, 400, "bogus"),
    ({"prompt": "a cat", "size": "512x512", "aspect_ratio": "1:1"}, 400, "size"),
    ({"prompt": "a cat", "aspect_ratio": "wide"}, 400, "aspect_ratio"),
    ({"prompt": "a cat", "seed": -1}, 400, "seed"),
]


@pytest.mark.parametrize(("payload", "status", "param"), BAD)
async def test_bad_requests_get_openai_errors_and_store_nothing(
    client, auth, container, payload, status, param
):
    r = await client.post("/v1/images/generations", json=payload, headers=auth)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == param and err["message"]
    assert await count_rows(container, Generation) == 0
    assert blob_files(container) == []


async def test_bad_json_and_non_object(client, auth, container):
    for content in (b"{not json", b"[1, 2]", b""):
        r = await client.post(
            "/v1/images/generations",
            content=content,
            headers={**auth, "content-type": "application/json"},
        )
        assert r.status_code == 400, (content, r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"
    assert await count_rows(container, Generation) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer idk_wrong"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer sk-x"},
    ],
)
async def test_missing_or_wrong_key_is_401(client, container, headers):
    r = await client.post("/v1/images/generations", json={"prompt": "a cat"}, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert await count_rows(container, Generation) == 0


async def test_unknown_route_and_method_use_openai_shape(client, auth):
    r = await client.get("/v1/nothing", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/v1/images/generations", headers=auth)
    assert r.status_code == 405 and "error" in r.json()


async def test_quality_is_reported_as_ignored_by_local_sketch(client, auth):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "sea", "size": "256x256", "quality": "high"},
        headers=auth,
    )
    assert r.status_code == 200
    assert [w["type"] for w in r.json()["warnings"] if w["param"] == "quality"] == ["ignored"]
