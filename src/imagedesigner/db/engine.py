"""Async engine and sessions. SQLite (default) runs in WAL mode with ``secure_delete`` so that
deleted content is overwritten in the database file; PostgreSQL is used as is."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

SQLITE_POOL_SIZE = 4
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for SQLite's lock before "database is locked"
LOCKED = ("database is locked", "database table is locked")
PG_LOCK_NOT_AVAILABLE = "55P03"


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether a driver error means the database stayed locked too long (SQLite's busy
    timeout, PostgreSQL's lock_timeout): a 503 to try again, not a bug."""
    orig = getattr(exc, "orig", None) or exc
    if any(text in str(orig).lower() for text in LOCKED):
        return True
    return getattr(orig, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            db = Path(parsed.database)
            db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not db.exists():  # owner-only; SQLite gives its -wal and -shm the same mode
                db.touch(mode=0o600)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
        # SQLite has one writer at a time: a few long-lived connections beat many that wait in
        # SQLite's busy handler (bench/bench_api.py: p99 445 ms with 4, 1.3 s with 5+10 overflow).
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=0, pool_timeout=60)
        # Connections come back from Sessions and Connections, which end their own
        # transactions; the pool's extra ROLLBACK would be one more hop to aiosqlite's thread
        # per checkout (bench: 2.4 of 16 per generation).
        kwargs["pool_reset_on_return"] = None
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


def sqlite_pragmas(dbapi_conn, _record) -> None:
    """Every SQLite connection's settings (the app's engine, and ``db/bulk.py``'s writer)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


async def scrub_sqlite(engine: AsyncEngine) -> None:
    """After deletions: fold the WAL back into the database and truncate it to zero bytes.

    With ``secure_delete=ON`` deleted cells and freed pages are zeroed in the main file; the WAL
    still holds old page images until a TRUNCATE checkpoint empties it. Retries while readers
    hold old snapshots.
    """
    if not is_sqlite(engine):
        return
    import asyncio

    for _ in range(50):
        async with engine.connect() as conn:
            row = (await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).first()
        if row is not None and row[0] == 0:
            return
        await asyncio.sleep(0.05)
    # readers kept old snapshots the whole time: the next sweep tries again
    logging.getLogger("imagedesigner.sweep").warning("WAL checkpoint incomplete; will retry")
