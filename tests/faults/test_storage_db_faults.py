"""The database locked at write time, and the disk full while a blob is written: a clear 503 or
507 in OpenAI's shape, nothing half-written, and the service goes on serving."""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3

import pytest
from sqlalchemy import func, select

from imagedesigner.db import engine as db_engine
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.storage import local
from tests.conftest import TEST_DATABASE_URL, files_under

OPENAI = {"model": "openai/gpt-image-1.5", "prompt": "a lighthouse", "response_format": "url"}
LOCAL = {"model": "local/sketch", "prompt": "a boat", "size": "256x256", "response_format": "url"}
sqlite_only = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite's write lock")


async def rows(container, model) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


@pytest.fixture
def short_busy_timeout(monkeypatch):
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT", 0.3)


@pytest.fixture
def write_lock(settings):
    """Another connection that takes SQLite's write lock and keeps it (BEGIN IMMEDIATE)."""
    db = settings.data_dir / "imagedesigner.db"
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)

    class Lock:
        def take(self) -> None:
            holder.execute("BEGIN IMMEDIATE")

        def release(self) -> None:
            if holder.in_transaction:
                holder.execute("ROLLBACK")

    lock = Lock()
    yield lock
    lock.release()
    holder.close()


@sqlite_only
async def test_a_write_locked_past_the_busy_timeout_is_a_clear_503(
    short_busy_timeout, client, auth, container, write_lock, settings
):
    write_lock.take()
    r = await client.post("/v1/images/generations", json=LOCAL, headers=auth)
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "database_busy" and error["type"] == "api_error"
    assert "try again" in error["message"] and r.headers["retry-after"].isdigit()
    alive = await client.get("/healthz")  # the process goes on serving meanwhile
    assert alive.status_code == 200
    write_lock.release()
    assert await rows(container, Generation) == 0 and await rows(container, StoredImage) == 0
    assert files_under(settings.resolved_blob_dir()) == []
    again = await client.post("/v1/images/generations", json=LOCAL, headers=auth)
    assert again.status_code == 200, again.text


@sqlite_only
async def test_a_lock_while_the_result_is_stored_leaves_no_image(
    short_busy_timeout, client, auth, container, write_lock, settings, upstream, clock
):
    """The provider answered, the database is locked when its image is stored: the blob
    written is removed again, no image row is left, the caller gets a 503, and once the lock is
    gone any job row left (its runner done) is failed by the reaper without its prompt."""
    upstream.mode = "slow_ok"
    pending = asyncio.create_task(client.post("/v1/images/generations", json=OPENAI, headers=auth))
    assert await asyncio.to_thread(upstream.arrived.wait, 10)
    write_lock.take()
    upstream.release.set()
    r = await pending
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "database_busy"
    write_lock.release()
    assert files_under(settings.resolved_blob_dir()) == []
    assert await rows(container, StoredImage) == 0
    clock.advance(settings.job_stale_after * 2)
    await container.runner.reap()
    async with container.sessions() as s:
        jobs = list((await s.execute(select(Generation))).scalars())
    assert all(j.status == "failed" and j.prompt == "" for j in jobs), [j.status for j in jobs]


def _disk_full_after(monkeypatch, written: int) -> list[str]:
    """Writes into the blob store's temp files fail with ENOSPC after ``written`` bytes, as on a
    full disk: some bytes reach the file first. Returns the temp paths that were opened."""
    opened: list[str] = []
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fh) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            self.fh.write(data[:written])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fdopen(fd, *args, **kwargs):
        opened.append(os.readlink(f"/proc/self/fd/{fd}"))
        return FullDisk(real_fdopen(fd, *args, **kwargs))

    monkeypatch.setattr(local.os, "fdopen", fdopen)
    return opened


async def test_a_full_disk_while_a_blob_is_written_is_a_clear_507(
    monkeypatch, client, auth, container, settings
):
    opened = _disk_full_after(monkeypatch, 100)
    r = await client.post("/v1/images/generations", json=LOCAL, headers=auth)
    assert r.status_code == 507, r.text
    error = r.json()["error"]
    assert error["code"] == "insufficient_storage" and "nothing was kept" in error["message"]
    assert opened, "the blob store began writing"
    assert all(not os.path.exists(p) for p in opened), "no partial temp file is left"
    assert files_under(settings.resolved_blob_dir()) == []
    assert await rows(container, StoredImage) == 0 and await rows(container, Generation) == 0
    # b64_json needs no blob: served meanwhile, disk still full
    ok = await client.post(
        "/v1/images/generations", json={**LOCAL, "response_format": "b64_json"}, headers=auth
    )
    assert ok.status_code == 200, ok.text[:200]
    monkeypatch.undo()
    assert (
        await client.post("/v1/images/generations", json=LOCAL, headers=auth)
    ).status_code == 200
