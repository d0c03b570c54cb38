"""Retention steps driven by the data map:

* every mapped table with an ``expires_at`` column (content, tickets, sessions) loses its expired
  rows with their child rows and blobs, except data of users under a legal hold; the report
  counts ``expired_<table>`` for every table rows went from, and ``expired_blobs``;
* erasures that waited for a legal hold finish once the hold is released.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.privacy import holds
from imagedesigner.privacy.datamap import TableEntry, user_tables
from imagedesigner.privacy.erasure import finish_released
from imagedesigner.privacy.purge import purge
from imagedesigner.storage.base import BlobStore

BATCH = 500


def _expiring() -> list[TableEntry]:
    return [e for e in user_tables() if e.has("expires_at") and e.user_link != "id"]


async def _expired_batch(
    session: AsyncSession,
    blobs: BlobStore,
    entry: TableEntry,
    now: datetime,
    held: set[str],
    user_id: str | None,
    report: dict[str, int],
) -> int:
    t = entry.table
    pk = list(t.primary_key.columns)[0]
    query = select(pk).where(t.c.expires_at.is_not(None), t.c.expires_at <= now)
    if held and not entry.credential:  # a hold keeps data, not logins
        query = query.where(t.c[entry.user_link].not_in(held))
    if user_id is not None:
        query = query.where(t.c[entry.user_link] == user_id)
    ids = list((await session.execute(query.limit(BATCH))).scalars())
    for name, count in (await purge(session, blobs, entry.name, ids)).items():
        report[f"expired_{name}"] = report.get(f"expired_{name}", 0) + count
    return len(ids)


async def expire_user_rows(
    session: AsyncSession, blobs: BlobStore, now: datetime, user_id: str
) -> dict[str, int]:
    """One user's expired rows, in the caller's transaction: run before their data is read, so
    an export or a staff read never shows content past its TTL that the sweep has not reached."""
    held = await holds.held_ids(session)
    report: dict[str, int] = {}
    for entry in _expiring():
        while await _expired_batch(session, blobs, entry, now, held, user_id, report):
            pass
    return report


async def sweep_expired_rows(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    """Every expired row, a batch per transaction (other writers wait at most one batch)."""
    async with sessions() as session:
        held = await holds.held_ids(session)
    report: dict[str, int] = {}
    for entry in _expiring():
        while True:
            async with sessions() as session:
                n = await _expired_batch(session, blobs, entry, now, held, None, report)
                await uow.commit(session)
            if not n:
                break
        report.setdefault(f"expired_{entry.name}", 0)
    return report


async def finish_erasures(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    return await finish_released(sessions, blobs, settings, now)
