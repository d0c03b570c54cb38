"""In-process periodic sweeper started by ``serve``. With several instances on PostgreSQL, an
advisory lock makes one of them run each sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text

from imagedesigner.retention.sweeper import SweepParts, sweep

log = logging.getLogger("imagedesigner.sweep")
LOCK_ID = 727275


async def sweep_once_locked(c: SweepParts) -> dict[str, int] | None:
    if c.engine.dialect.name != "postgresql":
        return await sweep(c)
    async with c.engine.connect() as conn:
        got = (await conn.execute(text(f"SELECT pg_try_advisory_lock({LOCK_ID})"))).scalar()
        if not got:
            return None
        try:
            return await sweep(c)
        finally:
            await conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_ID})"))


async def run_forever(c: SweepParts) -> None:
    interval = c.settings.sweep_interval.total_seconds()
    while True:
        try:
            await sweep_once_locked(c)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - keep sweeping; never log content
            log.error("sweep failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(c: SweepParts):
    task = asyncio.create_task(run_forever(c), name="imagedesigner-sweeper")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
