"""Retention steps the sweeper runs, driven by the data map:

* every mapped table with an ``expires_at`` column (content, tickets, sessions) loses its expired
  rows with their child rows and blobs, except data of users under a legal hold; the report
  counts ``expired_<table>`` for every table rows went from, and ``expired_blobs``;
* erasures that waited for a legal hold finish once the hold is released.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from imagedesigner.container import Container
from imagedesigner.privacy import holds
from imagedesigner.privacy.datamap import user_tables
from imagedesigner.privacy.erasure import finish_released
from imagedesigner.privacy.purge import purge

BATCH = 500


async def sweep_expired_rows(
    c: Container, now: datetime, *, user_id: str | None = None
) -> dict[str, int]:
    """With ``user_id``: only that user's expired rows (run before their data is read, so an
    export or a staff read never shows content past its TTL that the sweep has not reached)."""
    held = await holds.held_user_ids(c)
    report: dict[str, int] = {}
    for entry in user_tables():
        if not entry.has("expires_at") or entry.user_link == "id":
            continue
        t = entry.table
        pk = list(t.primary_key.columns)[0]
        while True:
            query = select(pk).where(t.c.expires_at.is_not(None), t.c.expires_at <= now)
            if held and not entry.credential:  # a hold keeps data, not logins
                query = query.where(t.c[entry.user_link].not_in(held))
            if user_id is not None:
                query = query.where(t.c[entry.user_link] == user_id)
            async with c.sessions() as session:
                ids = list((await session.execute(query.limit(BATCH))).scalars())
            if not ids:
                break
            for name, count in (await purge(c, entry.name, ids)).items():
                report[f"expired_{name}"] = report.get(f"expired_{name}", 0) + count
        report.setdefault(f"expired_{entry.name}", 0)
    return report


async def finish_erasures(c: Container, now: datetime) -> dict[str, int]:
    return await finish_released(c, now)
