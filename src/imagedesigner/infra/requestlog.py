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

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from imagedesigner.config import Settings
from imagedesigner.db.batching import Batcher
from imagedesigner.db.bulk import BulkInserter
from imagedesigner.db.models_logs import RequestLog
from imagedesigner.infra.clientip import truncate_ip
from imagedesigner.privacy.holds import held_ids
from imagedesigner.storage.base import BlobStore

log = logging.getLogger("imagedesigner.requestlog")
BATCH = 500


async def write_many(bulk: BulkInserter, rows: list[dict]) -> None:
    """The rows in one INSERT; never raises. If that fails (an account erased while its
    request ran: its id is gone), each row is written alone, unlinked where it must be."""
    if not rows:
        return
    table = RequestLog.__table__
    try:
        await bulk.insert([(table, row) for row in rows])
        return
    except Exception as exc:  # noqa: BLE001 - the responses are already sent; never log a row
        if len(rows) == 1 and not rows[0].get("user_id"):
            log.warning("request log write failed: %s", type(exc).__name__)
            return
    for row in rows:
        try:
            await bulk.insert([(table, row)])
            continue
        except Exception as first:  # noqa: BLE001
            exc = first
        if row.get("user_id"):  # keep no link to an erased account
            try:
                await bulk.insert([(table, {**row, "user_id": None})])
                continue
            except Exception as again:  # noqa: BLE001
                exc = again
        log.warning("request log write failed: %s", type(exc).__name__)


class RequestLogWriter(Batcher[dict]):
    """Request-log rows written in groups: one INSERT for all the rows of the last
    ``interval`` seconds instead of a transaction per request (``db/batching.py``), handed to
    SQLite's writer thread once per group (``db/bulk.py``)."""

    def __init__(self, bulk: BulkInserter, interval: float, max_rows: int = 500) -> None:
        self.bulk = bulk
        super().__init__(
            lambda rows: write_many(bulk, rows),
            interval,
            max_items=max_rows,
            name="imagedesigner-request-log",
        )


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
