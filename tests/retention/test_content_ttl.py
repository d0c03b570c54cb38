"""Policy, Retention: content (prompts, parameters, outputs) is kept at most CONTENT_TTL, then
deleted from every file: the database, its WAL/journal and the blob folder."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.retention.sweeper import sweep
from imagedesigner.storage.base import new_key
from tests.conftest import files_under, find_in_files

CANARY = "canary-7f3a9c-purple-giraffe-under-a-lighthouse"


async def rows(container) -> tuple[int, int]:
    async with container.sessions() as s:
        g = (await s.execute(select(func.count()).select_from(Generation))).scalar_one()
        i = (await s.execute(select(func.count()).select_from(StoredImage))).scalar_one()
    return g, i


async def test_image_served_before_ttl_404_after_and_gone_from_every_file(
    client, auth, container, clock, data_dir
):
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": CANARY, "response_format": "url", "size": "256x256", "n": 2},
        headers=auth,
    )
    assert r.status_code == 200
    url = r.json()["data"][0]["url"]
    assert find_in_files(data_dir, CANARY.encode()), "canary should be stored before expiry"

    clock.advance(container.settings.content_ttl - timedelta(seconds=1))
    assert (await client.get(url, headers=auth)).status_code == 200
    await sweep(container)
    assert await rows(container) == (1, 2), "nothing expires early"

    clock.advance(timedelta(seconds=1))
    assert (await client.get(url, headers=auth)).status_code == 404  # expired even before sweep

    report = await sweep(container)
    assert report["expired_generations"] == 1 and report["expired_images"] == 2
    assert report["expired_blobs"] == 2
    assert await rows(container) == (0, 0)
    blobs = [p for p in files_under(container.settings.resolved_blob_dir()) if p.is_file()]
    assert blobs == []
    assert find_in_files(data_dir, CANARY.encode()) == []
    # the WAL is truncated, not merely checkpointed
    wal = data_dir / "imagedesigner.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


async def test_b64_generation_prompt_also_expires(client, auth, container, clock, data_dir):
    r = await client.post(
        "/v1/images/generations", json={"prompt": CANARY, "size": "256x256"}, headers=auth
    )
    assert r.status_code == 200
    clock.advance(container.settings.content_ttl)
    await sweep(container)
    assert find_in_files(data_dir, CANARY.encode()) == []


async def test_crash_between_blob_and_row_leaves_orphan_that_sweep_removes(container, clock):
    # what a crash leaves: the blob was written (atomically), the row never was
    key = new_key(clock.now())
    await container.blobs.put(key, b"\x89PNG orphan bytes " + CANARY.encode())
    # and a temp file of a write that died half way
    tmp = container.settings.resolved_blob_dir() / ".tmp" / f"{key}.dead"
    tmp.write_bytes(CANARY.encode())

    await sweep(container)
    assert await container.blobs.get(key) is not None, "a young blob may be a write in flight"
    clock.advance(container.settings.content_ttl)
    report = await sweep(container)
    assert report["orphan_blobs"] == 2
    assert await container.blobs.get(key) is None
    assert not tmp.exists()


async def test_failed_row_write_removes_blobs(client, auth, container, monkeypatch):
    from imagedesigner.generation import service

    real_store = service.store_result

    async def store(session, *args, **kw):
        outcome = await real_store(session, *args, **kw)  # the blobs are written

        async def broken_commit():
            raise RuntimeError("database went away")

        monkeypatch.setattr(session, "commit", broken_commit)
        return outcome

    monkeypatch.setattr(service, "store_result", store)
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": CANARY, "response_format": "url", "size": "256x256"},
        headers=auth,
    )
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    blobs = [p for p in files_under(container.settings.resolved_blob_dir())]
    assert not any(CANARY.encode() in p.read_bytes() for p in blobs)
    assert [p for p in blobs if not p.name.startswith(".")] == []
