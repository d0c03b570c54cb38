"""Dedicated workers (``IMAGEDESIGNER_JOB_QUEUE=procrastinate``) on the real engines, as CI
runs them: an ``imagedesigner serve`` process that only queues jobs and ``imagedesigner
worker`` processes that run them.

- sync, stream and async requests are answered by the web process, the job run by a worker;
- an edit's upload waits sealed (encrypted) and is in no file and no table once the worker has
  it, nor after the job; a job cancelled before any worker claimed it never runs;
- cancel reaches fal through the worker; SIGKILL of the worker fails its job as
  ``interrupted``, seen through the web process.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.api.test_edits import CANARY as UPLOAD_CANARY
from tests.api.test_edits import jpeg_with_gps_and_comment
from tests.conftest import files_under, run_in_thread
from tests.jobs.test_jobs_instances import Thread, account_key, engine_env, serve, wait_for
from tests.providers.conftest import FAL_KEY
from tests.providers.fakes import fake_fal
from tests.providers.fakes._common import FakeState
from tests.test_backends import reset_pg

PG = os.environ.get("IMAGEDESIGNER_TEST_POSTGRES_URL")
REDIS = os.environ.get("IMAGEDESIGNER_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not (PG and REDIS), reason="needs PostgreSQL and Redis")
ASYNC = {"Prefer": "respond-async"}
PROMPT = "canary-queued-prompt-amber-owl-41"


class Stack:
    def __init__(self, env: dict, tmp_path, key: str, fal_state: FakeState) -> None:
        self.env, self.tmp, self.key, self.fal = env, tmp_path, key, fal_state
        self.auth = {"Authorization": f"Bearer {key}"}
        self.workers: list[subprocess.Popen] = []
        self.web, self.url = serve(env, tmp_path / "web")

    def worker(self) -> subprocess.Popen:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "imagedesigner", "worker", "--concurrency", "4"],
            env={**self.env, "IMAGEDESIGNER_DATA_DIR": str(self.tmp / f"w{len(self.workers)}")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.workers.append(proc)
        return proc

    def job(self, job_id: str) -> dict:
        return httpx.get(f"{self.url}/v1/jobs/{job_id}", headers=self.auth, timeout=10).json()

    def final(self, job_id: str, timeout: float = 30) -> dict:
        return wait_for(
            lambda: j if (j := self.job(job_id))["status"] not in ("queued", "running") else None,
            timeout=timeout,
            what=f"{job_id} final",
        )

    def close(self) -> None:
        for proc in [self.web, *self.workers]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def sql(query: str) -> list:
    async def go():
        engine = create_async_engine(PG)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(query))).all())
        finally:
            await engine.dispose()

    return run_in_thread(go())


def tables_holding(needle: bytes) -> list[str]:
    """Every table of the database (ours and procrastinate's) with a row holding ``needle``."""
    names = [r[0] for r in sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    found = []
    for name in names:
        for row in sql(f'SELECT * FROM "{name}"'):  # noqa: S608 - names from the catalogue
            if any(
                needle in (bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode())
                for v in row
            ):
                found.append(name)
                break
    return found


@pytest.fixture
def stack(tmp_path):
    run_in_thread(reset_pg(PG))
    state = FakeState(mode="queue_forever")
    with Thread(fake_fal.make_app(state, FAL_KEY)) as fal:
        key = account_key(tmp_path)
        env = engine_env(tmp_path, fal.port, IMAGEDESIGNER_JOB_QUEUE="procrastinate")
        s = Stack(env, tmp_path, key, state)
        try:
            yield s
        finally:
            s.close()


def test_requests_on_the_web_process_run_on_a_worker(stack):
    worker = stack.worker()
    r = httpx.post(
        f"{stack.url}/v1/images/generations",
        json={"prompt": "a lighthouse", "model": "local/sketch", "size": "256x256", "n": 2},
        headers=stack.auth,
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["data"]) == 2 and all(d["b64_json"] for d in body["data"])
    assert base64.b64decode(body["data"][0]["b64_json"]).startswith(b"\x89PNG")
    (runner,) = sql(f"SELECT runner FROM generations WHERE id = '{body['id']}'")[0]  # noqa: S608
    assert f":{worker.pid}:" in runner, "the worker ran it, not the web process"
    # a sync b64 answer keeps no image once delivered (store_b64_outputs is off)
    assert sql(f"SELECT id FROM images WHERE generation_id = '{body['id']}'") == []  # noqa: S608

    events = []
    with httpx.stream(
        "POST",
        f"{stack.url}/v1/images/generations",
        json={"prompt": "a harbour", "model": "local/sketch", "size": "256x256", "stream": True},
        headers=stack.auth,
        timeout=60,
    ) as streamed:
        assert streamed.status_code == 200
        events = [line[7:] for line in streamed.iter_lines() if line.startswith("event: ")]
    assert events[-1] == "image_generation.completed", events

    queued = httpx.post(
        f"{stack.url}/v1/images/generations",
        json={"prompt": "a dune", "model": "local/sketch", "size": "256x256"},
        headers={**stack.auth, **ASYNC},
        timeout=10,
    )
    assert queued.status_code == 202
    final = stack.final(queued.json()["id"])
    assert final["status"] == "succeeded" and len(final["result"]["data"]) == 1
    assert sql("SELECT count(*) FROM procrastinate_jobs")[0][0] == 0, "the queue keeps nothing"


def test_an_edit_waits_sealed_and_is_in_no_file_once_a_worker_has_it(stack):
    blob_dir = stack.tmp / "shared"
    upload = jpeg_with_gps_and_comment()
    r = httpx.post(
        f"{stack.url}/v1/images/edits",
        data={"prompt": PROMPT, "model": "local/sketch", "size": "256x256"},
        files={"image": ("in.jpg", upload, "image/jpeg")},
        headers={**stack.auth, **ASYNC},
        timeout=10,
    )
    assert r.status_code == 202, r.text
    edit = r.json()["id"]
    doomed = httpx.post(
        f"{stack.url}/v1/images/generations",
        json={"prompt": "never drawn", "model": "local/sketch"},
        headers={**stack.auth, **ASYNC},
        timeout=10,
    ).json()["id"]
    assert stack.job(edit)["status"] == "queued"
    sealed = files_under(blob_dir)
    assert len(sealed) == 2, "one sealed input per queued job"
    for path in sealed:
        data = path.read_bytes()
        assert UPLOAD_CANARY not in data and PROMPT.encode() not in data, "sealed, not plain"
    assert tables_holding(UPLOAD_CANARY) == []
    assert sql("SELECT count(*) FROM queued_inputs")[0][0] == 2

    # cancelled before any worker claimed it: final at once, its sealed input gone
    cancelled = httpx.post(f"{stack.url}/v1/jobs/{doomed}/cancel", headers=stack.auth, timeout=10)
    assert cancelled.json()["status"] == "cancelled"
    assert len(files_under(blob_dir)) == 1

    stack.worker()
    final = stack.final(edit)
    assert final["status"] == "succeeded" and final["kind"] == "edit", json.dumps(final)
    assert stack.job(doomed)["status"] == "cancelled", "a cancelled job never runs"
    assert sql("SELECT count(*) FROM queued_inputs")[0][0] == 0
    outputs = {r[0] for r in sql("SELECT blob_key FROM images")}
    assert {p.name for p in files_under(blob_dir)} == outputs, "only the outputs are left"
    for path in files_under(stack.tmp):
        assert UPLOAD_CANARY not in path.read_bytes(), path
    assert tables_holding(UPLOAD_CANARY) == []
    wait_for(
        lambda: sql("SELECT count(*) FROM procrastinate_jobs")[0][0] == 0, what="queue emptied"
    )


def test_cancel_reaches_fal_through_the_worker_and_sigkill_interrupts(stack):
    worker = stack.worker()
    auth = {**stack.auth, **ASYNC}
    body = {"model": "fal/flux-schnell", "prompt": "canary-fal-on-worker"}
    first = httpx.post(f"{stack.url}/v1/images/generations", json=body, headers=auth, timeout=10)
    assert first.status_code == 202
    job = first.json()["id"]
    wait_for(lambda: any(r.path.endswith("/status") for r in stack.fal.requests), what="polled")
    assert stack.job(job)["status"] == "running"
    assert httpx.post(f"{stack.url}/v1/jobs/{job}/cancel", headers=stack.auth, timeout=20)
    wait_for(
        lambda: any(r.method == "PUT" and r.path.endswith("/cancel") for r in stack.fal.requests),
        what="the cancel to reach fal",
    )
    assert stack.final(job)["status"] == "cancelled"

    polls = len(stack.fal.requests)
    second = httpx.post(f"{stack.url}/v1/images/generations", json=body, headers=auth, timeout=10)
    running = second.json()["id"]
    wait_for(lambda: len(stack.fal.requests) > polls + 1, what="the second job polled")
    killed_at = time.monotonic()
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    final = stack.final(running, timeout=30)
    took = time.monotonic() - killed_at
    assert final["status"] == "failed" and final["error"]["code"] == "interrupted"
    assert took < 4 + 2 + 3, f"seen as interrupted after {took:.1f} s"
