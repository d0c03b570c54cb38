"""Generations as jobs, as a client meets them: ``Prefer: respond-async`` answers 202 with the
job; the job is read, listed, followed over SSE (resumable), cancelled; ``stream: true`` speaks
OpenAI's image streaming events to the official SDK; limits answer 429."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import httpx
import pytest
from openai import OpenAI
from PIL import Image
from sqlalchemy import func, select

from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.providers.local import LocalProvider
from tests.conftest import make_user
from tests.privacy.conftest import bearer

ASYNC = {"Prefer": "respond-async"}
BODY = {"prompt": "a lighthouse in fog", "size": "256x256", "response_format": "url"}


async def wait_final(client, headers, job_id: str) -> dict:
    for _ in range(200):
        job = (await client.get(f"/v1/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def parse_sse(text: str) -> list[dict]:
    events = []
    for block in text.strip().split("\n\n"):
        item: dict = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            item[key] = value
        if "data" in item:
            item["data"] = json.loads(item["data"])
            events.append(item)
    return events


async def test_respond_async_gives_202_and_a_job_with_the_sync_result(client, auth, container):
    other = await make_user(container, "grace@example.com")
    other = (other[0], bearer(other[1]))
    r = await client.post("/v1/images/generations", json=BODY, headers={**auth, **ASYNC})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["object"] == "job" and job["status"] in ("queued", "running", "succeeded")
    assert job["links"]["events"] == f"/v1/jobs/{job['id']}/events"
    done = await wait_final(client, auth, job["id"])
    assert done["status"] == "succeeded" and done["error"] is None
    result = done["result"]
    assert result["id"] == job["id"] and result["model"] == "local/sketch"
    assert result["size"] == "256x256" and result["output_format"] == "png"
    image = await client.get(
        result["data"][0]["url"].replace("http://testserver", ""), headers=auth
    )
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert "elapsed_ms" in done["progress"]
    # only its owner sees it
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=other[1])).status_code == 404
    listing = (await client.get("/v1/jobs", headers=auth)).json()
    assert [j["id"] for j in listing["data"]] == [job["id"]]
    assert (await client.get("/v1/jobs", headers=other[1])).json()["data"] == []


async def test_async_b64_result_is_kept_for_the_caller_to_fetch(client, auth):
    body = {**BODY, "response_format": "b64_json"}
    job = (await client.post("/v1/images/generations", json=body, headers={**auth, **ASYNC})).json()
    done = await wait_final(client, auth, job["id"])
    png = base64.b64decode(done["result"]["data"][0]["b64_json"])
    assert Image.open(io.BytesIO(png)).size == (256, 256)


async def test_events_replay_and_resume_with_last_event_id(client, auth):
    job = (await client.post("/v1/images/generations", json=BODY, headers={**auth, **ASYNC})).json()
    await wait_final(client, auth, job["id"])
    r = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    types = [e["event"] for e in events]
    assert types[0] == "queued" and types[-1] == "completed" and "progress" in types
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["data"]["result"]["id"] == job["id"]
    again = await client.get(
        f"/v1/jobs/{job['id']}/events", headers={**auth, "Last-Event-ID": events[-2]["id"]}
    )
    assert [e["event"] for e in parse_sse(again.text)] == ["completed"]
    bad = await client.get(f"/v1/jobs/{job['id']}/events", headers={**auth, "Last-Event-ID": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "Last-Event-ID"


@pytest.fixture
def slow_local(monkeypatch):
    """local/sketch that takes its time (until released), so a job can be seen running."""
    release = asyncio.Event()
    started = asyncio.Event()
    cancelled: list[bool] = []
    real = LocalProvider.generate

    async def slow(self, model, request, *, progress=None):
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return await real(self, model, request, progress=progress)

    monkeypatch.setattr(LocalProvider, "generate", slow)
    return release, started, cancelled


async def test_cancel_stops_the_job_and_keeps_nothing(client, auth, container, slow_local):
    release, started, cancelled = slow_local
    job = (await client.post("/v1/images/generations", json=BODY, headers={**auth, **ASYNC})).json()
    await asyncio.wait_for(started.wait(), 5)
    running = (await client.get(f"/v1/jobs/{job['id']}", headers=auth)).json()
    assert running["status"] == "running"
    r = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert cancelled == [True], "the provider call itself was cancelled"
    async with container.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(StoredImage))).scalar_one() == 0
        row = await s.get(Generation, job["id"])
        assert row.prompt == "", "a cancelled job keeps its state, not its prompt"
    again = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


@pytest.mark.parametrize("settings_overrides", [{"max_active_jobs": 1}])
async def test_too_many_active_jobs_is_429_with_retry_after(client, auth, slow_local):
    release, started, _ = slow_local
    first = await client.post("/v1/images/generations", json=BODY, headers={**auth, **ASYNC})
    assert first.status_code == 202
    second = await client.post("/v1/images/generations", json=BODY, headers={**auth, **ASYNC})
    assert second.status_code == 429 and int(second.headers["retry-after"]) >= 1
    assert second.json()["error"]["code"] == "too_many_active_jobs"
    release.set()
    await wait_final(client, auth, first.json()["id"])
    third = await client.post("/v1/images/generations", json=BODY, headers={**auth, **ASYNC})
    assert third.status_code == 202


def test_sdk_stream_true_against_local_sketch(live):
    server, key = live
    client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    stream = client.images.generate(
        model="local/sketch", prompt="a cat on a roof", size="256x256", stream=True
    )
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.completed"]
    done = events[0]
    assert Image.open(io.BytesIO(base64.b64decode(done.b64_json))).size == (256, 256)
    assert done.output_format == "png" and done.size == "256x256"


def test_live_follow_over_sse_on_a_real_server(live):
    server, key = live
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as http:
        job = http.post(
            "/v1/images/generations",
            json={**BODY, "n": 3},
            headers={"Prefer": "respond-async"},
        ).json()
        seen = []
        with http.stream("GET", f"/v1/jobs/{job['id']}/events") as r:
            assert r.status_code == 200
            buffer = ""
            for chunk in r.iter_text():
                buffer += chunk
            seen = parse_sse(buffer)
    types = [e["event"] for e in seen]
    assert types[0] == "queued" and types[-1] == "completed"
    assert (
        seen[-1]["data"]["status"] == "succeeded" and len(seen[-1]["data"]["result"]["data"]) == 3
    )


@pytest.mark.parametrize("settings_overrides", [{"max_event_streams": 1}])
async def test_event_streams_per_account_are_limited(app, container, slow_local):
    from imagedesigner.api import streams

    user, token = await make_user(container, "streams@example.com")
    streams.take_slot(container, user.id)  # one stream already open elsewhere
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            job = (
                await c.post(
                    "/v1/images/generations", json=BODY, headers={**bearer(token), **ASYNC}
                )
            ).json()
            r = await c.get(f"/v1/jobs/{job['id']}/events", headers=bearer(token))
            assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_event_streams"
            slow_local[0].set()
    finally:
        streams._free_slot(user.id)
