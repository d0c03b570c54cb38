"""The request log: the policy's "Technical and usage data (minimal)".

One row per request with only: time, client IP, method, route *template* (``/v1/images/{image_id}``,
never the raw path, query string or path parameters), status, request and response byte counts,
model, error code, latency, the Global Privacy Control flag and the account it belongs to (so
export and erasure find it). Bodies are never read, only counted as they stream past
(``api/middleware.py`` collects the row). Sweep steps truncate IPs after ``ip_retention`` and
delete rows after ``log_retention``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from imagedesigner.config import Settings
from imagedesigner.db.models_logs import RequestLog
from imagedesigner.infra.clientip import truncate_ip
from imagedesigner.privacy.holds import held_ids
from imagedesigner.storage.base import BlobStore

log = logging.getLogger("imagedesigner.requestlog")
BATCH = 500


async def write(engine: AsyncEngine, row: dict) -> None:
    """One INSERT on its own connection, after the response went out; never raises."""
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(RequestLog.__table__), [row])
    except Exception as first:  # noqa: BLE001 - the response is already sent; never log the row
        exc: Exception = first
        if row.get("user_id"):
            # the account may have been erased while the request ran: keep no link to it
            try:
                async with engine.begin() as conn:
                    await conn.execute(insert(RequestLog.__table__), [{**row, "user_id": None}])
                return
            except Exception as again:  # noqa: BLE001
                exc = again
        log.warning("request log write failed: %s", type(exc).__name__)


# --- retention -------------------------------------------------------------------------------


async def _held(sessions: async_sessionmaker) -> set[str]:
    async with sessions() as session:
        return await held_ids(session)


async def sweep_truncate_ips(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    """After ``ip_retention``: keep only the /24 (IPv4) or /48 (IPv6) network of each address."""
    cutoff = now - settings.ip_retention
    held = await _held(sessions)
    v4, v6 = settings.ipv4_truncate_prefix, settings.ipv6_truncate_prefix
    done = 0
    while True:
        async with sessions() as session, session.begin():
            query = select(RequestLog.id, RequestLog.ip).where(
                RequestLog.ip_truncated.is_(False), RequestLog.time <= cutoff
            )
            if held:
                query = query.where(RequestLog.user_id.is_(None) | RequestLog.user_id.not_in(held))
            rows = (await session.execute(query.limit(BATCH))).all()
            if not rows:
                break
            groups: dict[str | None, list[int]] = defaultdict(list)
            for row_id, ip in rows:
                groups[truncate_ip(ip, v4, v6) or None if ip else None].append(row_id)
            for value, ids in groups.items():
                await session.execute(
                    update(RequestLog)
                    .where(RequestLog.id.in_(ids))
                    .values(ip=value, ip_truncated=True)
                )
        done += len(rows)
    return {"log_ips_truncated": done}


async def sweep_old_logs(
    sessions: async_sessionmaker, blobs: BlobStore, settings: Settings, now: datetime
) -> dict[str, int]:
    """After ``log_retention``: the row is deleted."""
    cutoff = now - settings.log_retention
    held = await _held(sessions)
    query = delete(RequestLog).where(RequestLog.time <= cutoff)
    if held:
        query = query.where(RequestLog.user_id.is_(None) | RequestLog.user_id.not_in(held))
    async with sessions() as session, session.begin():
        result = await session.execute(query)
    return {"logs_deleted": result.rowcount or 0}
