"""Retention steps driven by the data map:

* every mapped table with an ``expires_at`` column (content, tickets, sessions) loses its expired
  rows with their child rows and blobs, except data of users under a legal hold; the report
  counts ``expired_<table>`` for every table rows went from, and ``expired_blobs``;
* erasures that waited for a legal hold finish once the hold is released.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.privacy import holds
from imagedesigner.privacy.datamap import TableEntry, user_tables
from imagedesigner.privacy.erasure import finish_released
from imagedesigner.privacy.purge import purge
from imagedesigner.storage.base import BlobStore

BATCH = 500  # rows of the first batch; later batches are sized to take about BATCH_SECONDS
MIN_BATCH, MAX_BATCH = 50, 4000
# One batch is one transaction: on SQLite other writers wait for it, so it stays short.
BATCH_SECONDS = 0.1
# Between batches the sweep rests for this share of the time the last one took: the requests
# it shares the process, the CPU and (on SQLite) the write lock with catch up. SQLite's writers
# queue behind the lock, holding pool connections while they wait: they get as long as the
# batch took. bench/bench_sweep.py, p99 during the sweep against without it: SQLite 4.7x at
# 1,000,000 rows with no rest, 2.4x at 200,000 with it; PostgreSQL 2.8x at 1,000,000 (0.25).
PAUSE = {"sqlite": 1.0}
PAUSE_OTHER = 0.25


def _expiring() -> list[TableEntry]:
    return [e for e in user_tables() if e.has("expires_at") and e.user_link != "id"]


def _next_size(size: int, took: float) -> int:
    if took > BATCH_SECONDS:
        return max(MIN_BATCH, int(size * BATCH_SECONDS / took))
    if took < BATCH_SECONDS / 2:
        return min(MAX_BATCH, size * 2)
    return size


async def _expired_batch(
    session: AsyncSession,
    blobs: BlobStore,
    entry: TableEntry,
    now: datetime,
    held: set[str],
    user_id: str | None,
    report: dict[str, int],
    *,
    size: int = BATCH,
    after: tuple | None = None,
) -> tuple | None:
    """Purge up to ``size`` expired rows of ``entry``, the first in ``(expires_at, id)`` order
    after ``after``, with everything that goes with them. Returns the last one's
    ``(expires_at, id)`` (where the next batch starts), or None when there were none. Walking
    the index forward, a batch never scans the entries of rows deleted before it."""
    t = entry.table
    pk = list(t.primary_key.columns)[0]
    query = select(t.c.expires_at, pk).where(t.c.expires_at.is_not(None), t.c.expires_at <= now)
    if held and not entry.credential:  # a hold keeps data, not logins
        query = query.where(t.c[entry.user_link].not_in(held))
    if user_id is not None:
        query = query.where(t.c[entry.user_link] == user_id)
    if after is not None:
        query = query.where(tuple_(t.c.expires_at, pk) > after)
    rows = (await session.execute(query.order_by(t.c.expires_at, pk).limit(size))).all()
    if not rows:
        return None
    ids = [row[1] for row in rows]
    for name, count in (await purge(session, blobs, entry.name, ids)).items():
        report[f"expired_{name}"] = report.get(f"expired_{name}", 0) + count
    return tuple(rows[-1])


async def expire_user_rows(
    session: AsyncSession, blobs: BlobStore, now: datetime, user_id: str
) -> dict[str, int]:
    """One user's expired rows, in the caller's transaction: run before their data is read, so
    an export or a staff read never shows content past its TTL that the sweep has not reached."""
    held = await holds.held_ids(session)
    report: dict[str, int] = {}
    for entry in _expiring():
        after = None
        while after := await _expired_batch(
            session, blobs, entry, now, held, user_id, report, after=after
        ):
            pass
    return report


async def sweep_expired_rows(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    """Every expired row, a batch per transaction (other writers wait at most one batch). The
    holds are read again for every batch: one placed while a long sweep runs counts from the
    next batch on."""
    report: dict[str, int] = {}
    bind = sessions.kw.get("bind")
    pause = PAUSE.get(bind.dialect.name, PAUSE_OTHER) if bind is not None else PAUSE_OTHER
    for entry in _expiring():
        after, size = None, BATCH
        while True:
            started = time.perf_counter()  # sizes the next batch, decides nothing else
            async with sessions() as session:
                held = await holds.held_ids(session)
                after = await _expired_batch(
                    session, blobs, entry, now, held, None, report, size=size, after=after
                )
                await uow.commit(session)
            if after is None:
                break
            took = time.perf_counter() - started
            size = _next_size(size, took)
            await asyncio.sleep(took * pause)
        report.setdefault(f"expired_{entry.name}", 0)
    return report


async def finish_erasures(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    return await finish_released(sessions, blobs, settings, now)
