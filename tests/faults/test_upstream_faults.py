"""A provider that misbehaves: each fault gives the caller a clear error in OpenAI's shape (502
or 504 with a sentence), leaves nothing half-written (no blob, no image row; the job failed with
an error code) and does not stop the service: a request made meanwhile succeeds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from imagedesigner.db.models import Generation, StoredImage
from tests.conftest import files_under

from .conftest import MAX_RESPONSE, TIMEOUT

OPENAI_MODEL = "openai/gpt-image-1.5"

CASES = {
    # mode: (status, code, words the message has, slow: still in flight when the other is done)
    "hang": (504, "upstream_timeout", "did not answer", True),
    "reset": (502, "bad_upstream_response", "broke off", False),
    "drip": (504, "upstream_timeout", "did not answer within", True),  # ~10 s of bytes
    "invalid_json": (502, "bad_upstream_response", "not valid JSON", False),
    "not_image": (502, "bad_upstream_response", "not a PNG, JPEG or WebP", False),
    "many": (502, "bad_upstream_response", "10000 images", False),
    "gigabyte_declared": (502, "bad_upstream_response", f"exceeded {MAX_RESPONSE} bytes", False),
    "gigabyte_chunked": (502, "bad_upstream_response", f"exceeded {MAX_RESPONSE} bytes", False),
}


def socket_buffers() -> int:
    """The most the kernel may hold of one loopback stream: the largest send and receive
    buffers (Linux: tcp_wmem's and tcp_rmem's maxima; 64 MiB where they cannot be read)."""
    total = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        try:
            total += int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
        except (OSError, IndexError, ValueError):
            return 64 * 1024 * 1024
    return total + 1024 * 1024  # and a few chunks on their way


async def count(container, model) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def openai_jobs(container) -> list[Generation]:
    async with container.sessions() as s:
        query = select(Generation).where(Generation.provider == "openai")
        return list((await s.execute(query)).scalars())


@pytest.mark.parametrize("respond", ["now", "async"])
@pytest.mark.parametrize("mode", list(CASES))
async def test_a_faulty_provider_gives_a_clear_error_and_keeps_nothing(
    mode, respond, client, auth, container, upstream, settings
):
    status, code, words, slow = CASES[mode]
    upstream.mode = mode
    started = time.monotonic()
    headers = {**auth, "Prefer": "respond-async"} if respond == "async" else auth
    faulty = asyncio.create_task(
        client.post(
            "/v1/images/generations",
            json={"model": OPENAI_MODEL, "prompt": "a lighthouse", "response_format": "url"},
            headers=headers,
        )
    )
    assert await asyncio.to_thread(upstream.arrived.wait, 10), "the provider got the request"
    other = await client.post(
        "/v1/images/generations",
        json={"model": "local/sketch", "prompt": "a boat", "size": "256x256"},
        headers=auth,
    )
    assert other.status_code == 200, other.text[:300]  # served meanwhile
    if slow:
        assert not faulty.done() or respond == "async", "the other request waited"
    r = await faulty
    if respond == "async":
        assert r.status_code == 202, r.text[:300]
        job_id = r.json()["id"]
        task = container.runner.tasks.get(job_id)
        if task is not None:
            await task
        r = await client.get(f"/v1/jobs/{job_id}", headers=auth)
        assert r.json()["status"] == "failed", r.text[:300]
        error = r.json()["error"]
    else:
        assert r.status_code == status, r.text[:300]
        error = r.json()["error"]
    took = time.monotonic() - started

    assert error["code"] == code and error["type"] == "api_error", error
    assert words in error["message"] and error["message"].endswith("."), error["message"]
    assert took < TIMEOUT + 5
    if mode.startswith("gigabyte"):
        # what was read stops at the cap; the rest that left the fake sat in the kernel's
        # socket buffers (on loopback the receive side grows up to tcp_rmem's maximum)
        assert upstream.sent < MAX_RESPONSE + socket_buffers(), "the body was cut off early"

    # nothing half-written: no blob (not even a temp file), no image row; an async job is
    # failed with the error's code and without its prompt; a sync one leaves no row at all
    assert files_under(settings.resolved_blob_dir()) == []
    assert await count(container, StoredImage) == 0
    left = await openai_jobs(container)
    if respond == "async":
        assert [(j.status, j.error["code"], j.prompt) for j in left] == [("failed", code, "")]
    else:
        assert left == []


async def test_after_a_fault_the_same_provider_works_again(client, auth, upstream):
    upstream.mode = "reset"
    body = {"model": OPENAI_MODEL, "prompt": "a lighthouse"}
    assert (await client.post("/v1/images/generations", json=body, headers=auth)).status_code == 502
    upstream.mode = "ok"
    r = await client.post("/v1/images/generations", json=body, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["b64_json"]
