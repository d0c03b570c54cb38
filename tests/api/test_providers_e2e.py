"""The gateway with every provider adapter wired to local fakes of their HTTP APIs.

Policy: "You choose the model used for your request; your content is sent to the corresponding
provider" — content reaches only that provider, failures are never sent elsewhere, and every
response names the provider that processed it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.db.models import Generation
from imagedesigner.generation import service
from imagedesigner.providers import local
from imagedesigner.providers.registry import ProviderRegistry, create_provider
from tests.conftest import files_under, make_settings, make_user
from tests.providers.conftest import FAL_KEY, KEYS, OPENAI_KEY, OPENROUTER_KEY
from tests.providers.fakes import fake_fal, fake_openai, fake_openrouter
from tests.providers.fakes._common import FakeState

MODELS = {
    "openai": "openai/gpt-image-1.5",
    "openrouter": "openrouter/google/gemini-2.5-flash-image",
    "fal": "fal/flux-schnell",
}


@pytest.fixture
def fakes() -> dict[str, FakeState]:
    return {name: FakeState() for name in MODELS}


@pytest.fixture
def settings(data_dir):
    return make_settings(
        data_dir,
        openai_api_key=OPENAI_KEY,
        openai_base_url="http://fake-openai/v1",
        openrouter_api_key=OPENROUTER_KEY,
        openrouter_base_url="http://fake-openrouter/api/v1",
        fal_key=FAL_KEY,
        fal_queue_url="http://fake-fal-queue",
    )


@pytest.fixture
async def container(settings, clock, fakes):
    apps = {
        "openai": fake_openai.make_app(fakes["openai"], OPENAI_KEY),
        "openrouter": fake_openrouter.make_app(fakes["openrouter"], OPENROUTER_KEY),
        "fal": fake_fal.make_app(fakes["fal"], FAL_KEY),
    }
    t = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    registry = ProviderRegistry(
        [
            local.LocalProvider(),
            create_provider("openai", settings, transport=t["openai"]),
            create_provider("openrouter", settings, transport=t["openrouter"]),
            create_provider("fal", settings, transport=t["fal"], poll_interval=0.001),
        ],
        settings,
    )
    c = await Container.build(settings, clock=clock, registry=registry)
    yield c
    await c.aclose()


@pytest.fixture
def backoff(monkeypatch) -> list[float]:
    delays: list[float] = []

    async def no_wait(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(service, "_sleep", no_wait)
    return delays


async def stored(container) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(Generation))).scalar_one()


@pytest.mark.parametrize("provider", list(MODELS))
async def test_response_names_the_provider_that_processed_it(client, auth, fakes, provider):
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS[provider], "prompt": "a lighthouse", "size": "1024x1024"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["provider"] == provider
    assert r.headers["x-imagedesigner-provider"] == provider
    assert fakes[provider].requests, "the chosen provider got the request"
    others = [n for n in fakes if n != provider]
    assert all(fakes[n].requests == [] for n in others), "content reached only the chosen one"


@pytest.mark.parametrize("provider", list(MODELS))
@pytest.mark.parametrize(
    ("mode", "status", "calls"),
    [("503", 502, 3), ("500", 502, 1), ("401", 502, 1), ("429", 429, 3)],
)
async def test_no_second_provider_after_failure(
    client, auth, container, fakes, backoff, provider, mode, status, calls
):
    fakes[provider].mode = mode
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS[provider], "prompt": "canary-failing-prompt"},
        headers=auth,
    )
    assert r.status_code == status, r.text
    submits = [q for q in fakes[provider].requests if q.method == "POST"]
    assert len(submits) == calls, "retries only on the same provider, at most 2"
    assert len(backoff) == calls - 1
    others = [n for n in fakes if n != provider]
    assert all(fakes[n].requests == [] for n in others)
    assert await stored(container) == 0
    assert not any(
        b"canary-failing-prompt" in p.read_bytes() for p in files_under(container.settings.data_dir)
    )


@pytest.mark.parametrize("provider", list(MODELS))
async def test_provider_errors_map_faithfully_without_the_key(
    client, auth, fakes, backoff, provider
):
    cases = {
        "401": (502, "provider_auth_failed"),
        "402": (502, "provider_out_of_credits"),
        "refuse": (400, "content_policy_violation"),
        "429": (429, "provider_rate_limited"),
        "malformed": (502, "bad_upstream_response"),
    }
    for mode, (status, code) in cases.items():
        fakes[provider].reset()
        fakes[provider].mode = mode
        r = await client.post(
            "/v1/images/generations",
            json={"model": MODELS[provider], "prompt": "a boat"},
            headers=auth,
        )
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (mode, r.text)
        for key in KEYS:
            assert key not in r.text
        if status == 429:
            assert int(r.headers["retry-after"]) >= 1
        if mode == "401":
            assert f"key for {provider}" in r.json()["error"]["message"].lower()


async def test_retry_after_is_honoured(client, auth, fakes, backoff):
    fakes["openai"].mode = "429"
    await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openai"], "prompt": "a boat"},
        headers=auth,
    )
    retry_after = int(fakes["openai"].extra.get("retry_after", 1))
    assert backoff and all(d >= retry_after for d in backoff)


async def test_warnings_for_snapped_size_and_emulated_n(client, auth, fakes):
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openai"], "prompt": "a boat", "size": "1000x1000"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    w = {x["param"]: x for x in r.json()["warnings"]}
    assert w["size"]["type"] == "approximated" and "1024x1024" in w["size"]["message"]
    assert fakes["openai"].last("POST").json["size"] == "1024x1024"

    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openrouter"], "prompt": "a boat", "n": 3},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 3
    w = {x["param"]: x for x in r.json()["warnings"]}
    assert w["n"]["type"] == "emulated"
    assert len([q for q in fakes["openrouter"].requests if q.method == "POST"]) == 3


async def test_strict_mode_turns_warnings_into_400(client, auth, container, fakes):
    container.settings.strict_parameters = True
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openai"], "prompt": "a boat", "size": "1000x1000"},
        headers=auth,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_parameter"
    assert fakes["openai"].requests == []


async def test_impossible_requests_refused_up_front(client, auth, fakes):
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openai"], "prompt": "a boat", "seed": 5},
        headers=auth,
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "seed" and "local/sketch" in err["message"]
    assert fakes["openai"].requests == []


async def test_transcode_when_model_cannot_make_the_format(client, auth, fakes):
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openrouter"], "prompt": "a boat", "output_format": "webp"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["output_format"] == "webp"
    assert any(w["param"] == "output_format" for w in r.json()["warnings"])


async def test_unavailable_model_without_key(data_dir, clock):
    settings = make_settings(data_dir)
    registry = ProviderRegistry.from_settings(settings)
    c = await Container.build(settings, clock=clock, registry=registry)
    try:
        app = create_app(container=c, run_sweeper=False)
        _, key = await make_user(c)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as cl:
            auth = {"Authorization": f"Bearer {key}"}
            models = (await cl.get("/v1/models", headers=auth)).json()["data"]
            by_id = {m["id"]: m for m in models}
            assert by_id["openai/gpt-image-2"]["available"] is False
            assert by_id["openai/gpt-image-2"]["subprocessor"]
            assert by_id["local/sketch"]["available"] is True
            assert "openai/dall-e-3" not in by_id, "retired models hidden"
            r = await cl.post(
                "/v1/images/generations",
                json={"model": "openai/gpt-image-2", "prompt": "x"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert r.status_code == 400 and r.json()["error"]["code"] == "model_unavailable"
    finally:
        await c.aclose()


def _jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (300, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CanaryCamMake"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 31.0, 12.0), "E", (13.0, 24.0, 36.0)
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, comment=b"canary-comment-home-address")
    return buf.getvalue()


def test_sdk_edit_strips_gps_before_the_provider_and_in_storage(tmp_path):
    """The openai SDK's images.edit over real HTTP → our server → fake OpenAI on loopback."""
    from openai import OpenAI

    from tests.api.test_openai_sdk import LiveServer, create_key
    from tests.providers.fakes._common import LoopbackServer

    state = FakeState()
    with LoopbackServer(fake_openai.make_app(state, OPENAI_KEY)) as fake:
        settings = make_settings(
            tmp_path / "data", openai_api_key=OPENAI_KEY, openai_base_url=f"{fake.url}/v1"
        )
        key = create_key(settings)
        with LiveServer(settings) as server:
            client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
            result = client.images.edit(
                model="openai/gpt-image-1.5",
                image=("photo.jpg", _jpeg_with_gps(), "image/jpeg"),
                prompt="make it look like winter",
                response_format="url",
            )
            stored = httpx.get(result.data[0].url, headers={"Authorization": f"Bearer {key}"})
    assert stored.status_code == 200
    sent = state.last("POST").files
    images = [data for part in ("image[]", "image") for _, _, data in sent.get(part, [])]
    assert images, sent.keys()
    for blob in [*images, stored.content]:
        assert b"Exif" not in blob and b"CanaryCamMake" not in blob
        assert b"canary-comment-home-address" not in blob
    assert Image.open(io.BytesIO(images[0])).size == (300, 200)
    for p in files_under(tmp_path / "data"):
        assert b"canary-comment-home-address" not in p.read_bytes()
    assert OPENAI_KEY not in str(state.last("POST").form)


async def test_client_disconnect_cancels_the_fal_job_and_keeps_nothing(app, auth, container, fakes):
    """A client that goes away mid-queue: the fal job is cancelled, nothing is stored."""
    import json

    fakes["fal"].mode = "queue_forever"
    body = json.dumps({"model": MODELS["fal"], "prompt": "canary-gone-client"}).encode()
    sent = asyncio.Event()
    messages: list[dict] = []

    async def receive():
        if not sent.is_set():
            sent.set()
            return {"type": "http.request", "body": body, "more_body": False}
        for _ in range(500):  # wait until the job is queued at the fake, then hang up
            if any(q.path.endswith("/status") for q in fakes["fal"].requests):
                break
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/images/generations",
        "raw_path": b"/v1/images/generations",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"content-type", b"application/json"),
            (b"authorization", auth["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("t", 80),
    }
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(app(scope, receive, send), timeout=20)
    assert any(q.method == "PUT" and q.path.endswith("/cancel") for q in fakes["fal"].requests)
    assert await stored(container) == 0


async def test_failure_stores_nothing_and_the_request_log_holds_the_error_code(
    client, auth, container, fakes, backoff
):
    from imagedesigner.db.models_logs import RequestLog

    fakes["openai"].mode = "401"
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openai"], "prompt": "canary-logged-failure"},
        headers=auth,
    )
    assert r.status_code == 502
    async with container.sessions() as s:
        rows = (await s.execute(select(RequestLog))).scalars().all()
    row = next(x for x in rows if x.route == "/v1/images/generations")
    assert (row.status, row.error_code, row.model) == (
        502,
        "provider_auth_failed",
        MODELS["openai"],
    )
    assert await stored(container) == 0
    for p in files_under(container.settings.data_dir):
        assert b"canary-logged-failure" not in p.read_bytes()


async def test_large_images_come_back_whole_in_pieces(client, auth, fakes, monkeypatch):
    """Answers with megabyte-sized base64 are sent as pieces (api/generate.py SplicedJSON):
    the JSON is whole, every image is the provider's to the byte, and Content-Length is right.
    The fake's images are noise here, so they do not compress below the threshold."""
    import os

    from imagedesigner.api.generate import SPLICE_MIN

    sent: list[bytes] = []

    def noisy(w, h, fmt="png", color=None):
        buf = io.BytesIO()
        Image.frombytes("RGB", (w, h // 2), os.urandom(w * (h // 2) * 3)).save(buf, "PNG")
        sent.append(buf.getvalue())
        return sent[-1]

    monkeypatch.setattr(fake_openai, "image_bytes", noisy)
    r = await client.post(
        "/v1/images/generations",
        json={"model": MODELS["openai"], "prompt": "static", "size": "1024x1024", "n": 2},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert int(r.headers["content-length"]) == len(r.content) > 2 * SPLICE_MIN
    got = [base64.b64decode(d["b64_json"], validate=True) for d in r.json()["data"]]
    assert got == [sent[0], sent[0]]  # the fake answers n copies of one image
    assert r.json()["provider"] == "openai"
