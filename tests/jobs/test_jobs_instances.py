"""Jobs across instances, on the real engines (PostgreSQL + Redis, as CI runs them): two
``imagedesigner serve`` processes; a job started on instance 1 is followed, read and cancelled
on instance 2, and the cancel reaches fal; when instance 1 is killed with SIGKILL mid-job,
instance 2 marks its job failed with ``interrupted`` within the stale limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn

from imagedesigner.container import Container
from tests.api.test_openai_sdk import free_port
from tests.conftest import make_settings, make_user, run_in_thread
from tests.providers.conftest import FAL_KEY
from tests.providers.fakes import fake_fal
from tests.providers.fakes._common import FakeState
from tests.test_backends import reset_pg

PG = os.environ.get("IMAGEDESIGNER_TEST_POSTGRES_URL")
REDIS = os.environ.get("IMAGEDESIGNER_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not (PG and REDIS), reason="needs PostgreSQL and Redis")
MODEL = "fal/flux-schnell"


class Thread:
    def __init__(self, app) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(env: dict, data_dir) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "imagedesigner", "serve", "--port", str(port)],
        env={**env, "IMAGEDESIGNER_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("instance did not start")


def wait_for(predicate, timeout: float = 20.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def account_key(tmp_path) -> str:
    """A user with an API key in the (reset) PostgreSQL database."""
    settings = make_settings(tmp_path / "setup", database_url=PG)

    async def account():
        c = await Container.build(settings)
        try:
            return (await make_user(c))[1]
        finally:
            await c.aclose()

    return run_in_thread(account())


def engine_env(tmp_path, fal_port: int, **extra: str) -> dict:
    """The environment of every process of a scaled stack on PostgreSQL + Redis."""
    env = {
        **os.environ,
        "IMAGEDESIGNER_DATABASE_URL": PG,
        "IMAGEDESIGNER_STORAGE_URI": REDIS,
        "IMAGEDESIGNER_SECRET_KEY": "test-secret",
        "IMAGEDESIGNER_BLOB_DIR": str(tmp_path / "shared"),
        "IMAGEDESIGNER_RATE_LIMIT": "10000/minute",
        "IMAGEDESIGNER_FAL_QUEUE_URL": f"http://127.0.0.1:{fal_port}",
        "IMAGEDESIGNER_JOB_HEARTBEAT_INTERVAL": "1s",
        "IMAGEDESIGNER_JOB_STALE_AFTER": "4s",
        "FAL_KEY": FAL_KEY,
        **extra,
    }
    env.pop("IMAGEDESIGNER_TEST_DATABASE_URL", None)
    return env


@pytest.fixture
def cluster(tmp_path):
    run_in_thread(reset_pg(PG))
    state = FakeState(mode="queue_forever")
    with Thread(fake_fal.make_app(state, FAL_KEY)) as fal:
        key = account_key(tmp_path)
        env = engine_env(tmp_path, fal.port)
        one, url1 = serve(env, tmp_path / "one")
        two, url2 = serve(env, tmp_path / "two")
        try:
            yield state, key, (one, url1), (two, url2)
        finally:
            for proc in (one, two):
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=10)


def test_a_job_started_on_one_instance_is_followed_and_cancelled_on_the_other(cluster):
    state, key, (_, url1), (_, url2) = cluster
    auth = {"Authorization": f"Bearer {key}"}
    job = httpx.post(
        f"{url1}/v1/images/generations",
        json={"model": MODEL, "prompt": "canary-two-instances"},
        headers={**auth, "Prefer": "respond-async"},
        timeout=10,
    ).json()
    wait_for(lambda: any(r.path.endswith("/status") for r in state.requests), what="fal polled")
    seen = httpx.get(f"{url2}/v1/jobs/{job['id']}", headers=auth, timeout=10).json()
    assert seen["status"] == "running" and seen["progress"].get("stage") == "queued"

    events: list[str] = []

    def follow():
        with httpx.stream(
            "GET", f"{url2}/v1/jobs/{job['id']}/events", headers=auth, timeout=30
        ) as r:
            for line in r.iter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    wait_for(lambda: "progress" in events, what="a progress event on instance 2")
    cancelled = httpx.post(f"{url2}/v1/jobs/{job['id']}/cancel", headers=auth, timeout=20)
    assert cancelled.status_code == 200
    wait_for(
        lambda: any(r.method == "PUT" and r.path.endswith("/cancel") for r in state.requests),
        what="the cancel to reach fal",
    )
    final = wait_for(
        lambda: (
            j
            if (j := httpx.get(f"{url2}/v1/jobs/{job['id']}", headers=auth).json())["status"]
            == "cancelled"
            else None
        ),
        what="cancelled",
    )
    assert final["result"] is None
    follower.join(timeout=20)
    assert events[-1] == "cancelled", events


def test_sigkill_of_the_running_instance_fails_its_job_as_interrupted(cluster):
    state, key, (one, url1), (_, url2) = cluster
    auth = {"Authorization": f"Bearer {key}"}
    job = httpx.post(
        f"{url1}/v1/images/generations",
        json={"model": MODEL, "prompt": "canary-killed-instance"},
        headers={**auth, "Prefer": "respond-async"},
        timeout=10,
    ).json()
    wait_for(lambda: any(r.path.endswith("/status") for r in state.requests), what="fal polled")
    killed_at = time.monotonic()
    one.send_signal(signal.SIGKILL)
    one.wait(timeout=10)
    final = wait_for(
        lambda: (
            j
            if (j := httpx.get(f"{url2}/v1/jobs/{job['id']}", headers=auth).json())["status"]
            == "failed"
            else None
        ),
        timeout=30,
        what="interrupted",
    )
    took = time.monotonic() - killed_at
    assert final["error"]["code"] == "interrupted", json.dumps(final)
    assert took < 4 + 2 + 3, f"seen as interrupted after {took:.1f} s"


def test_a_key_revoked_on_one_instance_fails_on_the_other_at_once(cluster):
    _, key, (_, url1), (_, url2) = cluster
    auth = {"Authorization": f"Bearer {key}"}
    made = httpx.post(f"{url2}/v1/me/keys", json={"name": "two"}, headers=auth, timeout=10).json()
    second = {"Authorization": f"Bearer {made['key']}"}
    assert httpx.get(f"{url1}/v1/me", headers=second, timeout=10).status_code == 200  # cached
    assert httpx.delete(f"{url2}/v1/me/keys/{made['id']}", headers=auth).status_code == 200
    wait_for(  # Redis pub/sub: well within the cache's 10 s
        lambda: httpx.get(f"{url1}/v1/me", headers=second, timeout=10).status_code == 401,
        timeout=2,
        what="instance 1 to refuse the revoked key",
    )
