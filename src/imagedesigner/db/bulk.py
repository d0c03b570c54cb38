"""Rows inserted in one transaction, for the writes nobody waits for (the request log, a sync
generation's history): :class:`BulkInserter`.

Through aiosqlite every statement is several hand-offs to its worker thread (cursor, execute,
fetch, close), and the transaction's begin and commit more; on a gateway pinned to one core each
hand-off is a pair of context switches. For SQLite the whole transaction therefore runs on a
synchronous pysqlite connection to the same file, in one call to a dedicated writer thread: one
hand-off per group of rows, however many statements. PostgreSQL (asyncpg: no thread) uses the
application's async engine as it is.

Rows are Core rows (``{column: value}``), one multi-row INSERT per table and set of columns,
parents before children (the metadata's dependency order); :func:`orm_row` turns an ORM object
into one without a Session, so no flush machinery runs for rows that are only ever inserted.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Table, create_engine, event, insert, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from imagedesigner.db.base import Base
from imagedesigner.db.engine import SQLITE_BUSY_TIMEOUT, is_sqlite, sqlite_pragmas

Row = tuple[Table, dict]


def orm_row(obj: object) -> Row:
    """An ORM object's table and the column values set on it (unset columns keep their
    defaults, as a flush would give them)."""
    state = inspect(obj)
    mapper = state.mapper
    values = state.dict
    row = {
        prop.columns[0].key: values[prop.key] for prop in mapper.column_attrs if prop.key in values
    }
    return mapper.local_table, row


@functools.cache
def _order(tables: int) -> dict[str, int]:
    """Each table's place in the dependency order (recomputed if more models are loaded)."""
    return {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


def _statements(rows: Sequence[Row]) -> list[tuple[Table, list[dict]]]:
    """One executemany per table and column set, parent tables first."""
    groups: dict[tuple[str, tuple[str, ...]], tuple[Table, list[dict]]] = {}
    for table, values in rows:
        key = (table.name, tuple(sorted(values)))
        groups.setdefault(key, (table, []))[1].append(values)
    order = _order(len(Base.metadata.tables))
    return sorted(groups.values(), key=lambda group: order.get(group[0].name, len(order)))


def _sync_twin(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file (None for an in-memory database, which
    another connection would not see)."""
    url = engine.url
    if not is_sqlite(engine) or url.database in (None, "", ":memory:"):
        return None
    twin = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT},
        pool_size=1,  # one writer thread, one connection
        max_overflow=0,
        pool_reset_on_return=None,  # every use ends its own transaction
    )
    event.listen(twin, "connect", sqlite_pragmas)
    return twin


def _write(conn: Connection, rows: Sequence[Row]) -> None:
    for table, values in _statements(rows):
        conn.execute(insert(table), values)


class BulkInserter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._twin = _sync_twin(engine)
        self._thread = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagedesigner-writer")
            if self._twin is not None
            else None
        )

    async def insert(self, rows: Sequence[Row]) -> None:
        """All of ``rows`` in one transaction: all written, or none and the error raised."""
        if not rows:
            return
        if self._twin is None or self._thread is None:
            async with self.engine.begin() as conn:
                await conn.run_sync(_write, rows)
            return
        await asyncio.get_running_loop().run_in_executor(self._thread, self._insert_sync, rows)

    def _insert_sync(self, rows: Sequence[Row]) -> None:
        assert self._twin is not None  # noqa: S101 - only called with a twin
        with self._twin.begin() as conn:
            _write(conn, rows)

    async def aclose(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._twin is not None:
            self._twin.dispose()
            self._twin = None
