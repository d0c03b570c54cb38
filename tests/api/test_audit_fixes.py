"""Edge cases found in review: each was a real defect."""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from PIL import Image

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.errors import RateLimited
from imagedesigner.generation import service
from imagedesigner.infra.clientip import client_ip
from imagedesigner.providers import local
from imagedesigner.providers.registry import ProviderRegistry, create_provider
from tests.conftest import TEST_DATABASE_URL, make_settings, make_user
from tests.providers.conftest import OPENAI_KEY
from tests.providers.fakes import fake_openai
from tests.providers.fakes._common import FakeState


def png(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (0, 0, 255)).save(buf, "PNG")
    return buf.getvalue()


async def test_email_case_is_one_account(container):
    await make_user(container, "Ada@Example.com")
    with pytest.raises(errors.Conflict, match="already exists"):
        await make_user(container, "ada@example.com")
    async with container.sessions() as s:
        assert await accounts.find_user_by_email(s, "ADA@EXAMPLE.COM") is not None


async def test_edit_n_zero_is_refused_like_generations(client, auth):
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "x", "n": "0"},
        files={"image": ("a.png", png(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"


@pytest.mark.parametrize("value", [True, "2", 1.5])
async def test_n_must_be_a_real_integer(client, auth, value):
    r = await client.post("/v1/images/generations", json={"prompt": "x", "n": value}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"


async def test_empty_body_says_so(client, auth):
    r = await client.post(
        "/v1/images/generations", headers={**auth, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "The request body is missing: send a JSON object."


async def test_mask_must_match_the_image_size(client, auth):
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "x"},
        files=[
            ("image", ("a.png", png((64, 64)), "image/png")),
            ("mask", ("m.png", png((32, 32)), "image/png")),
        ],
        headers=auth,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "mask"


async def test_restricted_account_uploads_are_not_even_decoded(
    client, auth, user_and_key, monkeypatch
):
    from imagedesigner.api import edits

    decoded = []
    monkeypatch.setattr(edits, "clean_upload", lambda *a, **k: decoded.append(1))
    assert (await client.post("/v1/me/restriction", headers=auth)).status_code in (200, 201)
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "x"},
        files={"image": ("a.png", png(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "processing_restricted"
    assert decoded == []


async def test_seed_split_over_calls_stays_in_range(client, auth, container, monkeypatch):
    # one image per call, as most provider models make: n=3 becomes three calls whose seeds
    # continue from the request's and wrap at 2**32 instead of leaving the seed range
    sketch = container.registry.providers["local"]
    one_per_call = replace(local.SKETCH, capabilities=replace(local.SKETCH.capabilities, max_n=1))
    monkeypatch.setattr(sketch, "models", lambda: [one_per_call])
    seen = []
    real_generate = sketch.generate

    async def recording_generate(model, request, **kw):
        seen.append(request)
        return await real_generate(model, request, **kw)

    monkeypatch.setattr(sketch, "generate", recording_generate)
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "x", "size": "256x256", "seed": 2**32 - 1, "n": 3},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 3
    assert sorted(req.seed for req in seen) == [0, 1, 2**32 - 1]
    assert all(req.n == 1 for req in seen)


async def test_every_429_has_retry_after(app, auth):
    @app.get("/v1/test-429")
    async def boom():
        raise RateLimited("slow down")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/v1/test-429")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_all_forwarded_for_lines_are_read():
    scope = {
        "client": ("10.0.0.1", 1),
        "headers": [(b"x-forwarded-for", b"198.51.100.7"), (b"x-forwarded-for", b"203.0.113.5")],
    }
    # the proxy appended its own line: the right-most untrusted hop is the real client
    assert client_ip(scope, ["10.0.0.0/8"]) == "203.0.113.5"


async def test_export_never_contains_content_past_its_ttl(client, auth, container, clock):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": "canary-expired-export", "size": "256x256", "response_format": "url"},
        headers=auth,
    )
    assert r.status_code == 200
    clock.advance(container.settings.content_ttl + timedelta(seconds=1))
    r = await client.get("/v1/me/export", headers=auth)
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    for name in archive.namelist():
        assert b"canary-expired-export" not in archive.read(name)
    assert not [n for n in archive.namelist() if n.startswith("images/")]


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="file modes of the SQLite database")
@pytest.mark.fresh_data_dir  # what Container.build makes, not the test template's copy
async def test_database_and_data_folder_are_owner_only(container, data_dir):
    db = data_dir / "imagedesigner.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


async def test_provider_retry_after_reaches_the_client_exactly(data_dir, clock, monkeypatch):
    """The fake OpenAI answers 429 with ``Retry-After: 7`` every time: each retry waits exactly
    7 s (more than the backoff would), and the client is told 7 s, not a default or a cap."""
    settings = make_settings(
        data_dir, openai_api_key=OPENAI_KEY, openai_base_url="http://fake-openai/v1"
    )
    state = FakeState(mode="429")
    transport = httpx.ASGITransport(app=fake_openai.make_app(state, OPENAI_KEY))
    registry = ProviderRegistry(
        [
            create_provider("local", settings),
            create_provider("openai", settings, transport=transport),
        ],
        settings,
    )
    waits: list[float] = []

    async def no_wait(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(service, "_sleep", no_wait)
    c = await Container.build(settings, clock=clock, registry=registry)
    try:
        _, key = await make_user(c)
        app = create_app(container=c, run_sweeper=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            r = await client.post(
                "/v1/images/generations",
                json={"model": "openai/gpt-image-1.5", "prompt": "a boat"},
                headers={"Authorization": f"Bearer {key}"},
            )
    finally:
        await c.aclose()
    assert r.status_code == 429 and r.json()["error"]["code"] == "provider_rate_limited"
    assert r.headers["retry-after"] == fake_openai.RETRY_AFTER == "7"
    calls = [q for q in state.requests if q.method == "POST"]
    assert len(calls) == settings.provider_max_retries + 1
    assert waits == [7.0] * settings.provider_max_retries
