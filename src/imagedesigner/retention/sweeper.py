"""The retention sweep: one idempotent entry point used by ``serve`` (every sweep interval),
``imagedesigner sweep`` and the tests.

Steps are plain async functions ``step(sessions, blobs, settings, now) -> dict[str, int]`` run
in order; each opens its own short transactions. Content goes blobs first, then rows, and at the
end SQLite's WAL is checkpointed and truncated so deleted text survives in no file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from imagedesigner.config import Settings
from imagedesigner.db.engine import scrub_sqlite
from imagedesigner.db.models import StoredImage
from imagedesigner.infra import metrics
from imagedesigner.infra.requestlog import sweep_old_logs, sweep_truncate_ips
from imagedesigner.kit.clock import Clock
from imagedesigner.privacy import sweep_steps
from imagedesigner.privacy.purge import delete_blobs
from imagedesigner.storage.base import BlobStore, key_created_at

log = logging.getLogger("imagedesigner.sweep")
BATCH = 500

Step = Callable[[async_sessionmaker, BlobStore, Settings, datetime], Awaitable[dict[str, int]]]


class SweepParts(Protocol):
    """What a sweep uses (the container has these)."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker
    blobs: BlobStore


async def sweep_orphan_blobs(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    """Blobs with no row (a crash between blob write and row write) once older than the TTL."""
    cutoff = now - settings.content_ttl
    removed = 0

    async def check(chunk: list[str]) -> int:
        async with sessions() as session:
            known = set(
                (
                    await session.execute(
                        select(StoredImage.blob_key).where(StoredImage.blob_key.in_(chunk))
                    )
                ).scalars()
            )
        gone = [key for key in chunk if key not in known]
        await delete_blobs(blobs, gone)
        return len(gone)

    chunk: list[str] = []  # keys are checked as they are listed, never all held at once
    async for key in blobs.keys():
        created = key_created_at(key)
        if created is not None and created <= cutoff:
            chunk.append(key)
            if len(chunk) >= BATCH:
                removed += await check(chunk)
                chunk = []
    if chunk:
        removed += await check(chunk)
    partial = getattr(blobs, "clean_partial_writes", None)
    if partial is not None:
        removed += await partial(cutoff)
    return {"orphan_blobs": removed}


STEPS: list[Step] = [
    sweep_steps.sweep_expired_rows,  # content, tickets, sessions: any table with expires_at
    sweep_orphan_blobs,
    sweep_steps.finish_erasures,  # erasures that waited for a legal hold
    sweep_truncate_ips,  # request_logs: IP -> /24 or /48 after ip_retention
    sweep_old_logs,  # request_logs: rows deleted after log_retention
]


async def sweep(c: SweepParts) -> dict[str, int]:
    now = c.clock.now()
    report: dict[str, int] = {}
    started = time.perf_counter()  # measured, not deciding anything
    try:
        for step in STEPS:
            report.update(await step(c.sessions, c.blobs, c.settings, now))
        await scrub_sqlite(c.engine)
    except BaseException:
        metrics.observe_sweep(time.perf_counter() - started, None)
        raise
    metrics.observe_sweep(time.perf_counter() - started, report)
    log.info("sweep done: %s", ", ".join(f"{k}={v}" for k, v in sorted(report.items())))
    return report
