"""Deleting rows together with everything that hangs off them, found through the data map:
child tables (by foreign key) and blob columns. Blobs go first, then rows deepest first, so a
crash half way leaves at worst rows whose blob is already gone, never an unreferenced blob
holding content."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.privacy.datamap import TableEntry, children, data_map
from imagedesigner.storage.base import BlobStore

CHUNK = 500


def _pk(entry: TableEntry):
    cols = list(entry.table.primary_key.columns)
    if len(cols) != 1:
        raise ValueError(f"{entry.name}: purge needs a single-column primary key")
    return cols[0]


def chunks(values: Iterable) -> Iterable[list]:
    values = list(values)
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


async def _collect(session: AsyncSession, table: str, ids: set, acc: dict[str, set]) -> None:
    new = ids - acc.get(table, set())
    if not new:
        return
    acc.setdefault(table, set()).update(new)
    for child in children(table):
        pk = _pk(child)
        for fk in child.table.foreign_keys:
            if fk.column.table.name != table:
                continue
            found: set = set()
            for chunk in chunks(new):
                rows = await session.execute(select(pk).where(fk.parent.in_(chunk)))
                found.update(rows.scalars())
            await _collect(session, child.name, found, acc)


async def blob_keys(session: AsyncSession, acc: dict[str, set]) -> list[str]:
    keys: list[str] = []
    for name, ids in acc.items():
        entry = data_map()[name]
        if not entry.blob or not ids:
            continue
        col = entry.table.c[entry.blob]
        for chunk in chunks(ids):
            rows = await session.execute(select(col).where(_pk(entry).in_(chunk)))
            keys.extend(k for k in rows.scalars() if k)
    return keys


async def purge(
    session: AsyncSession, blobs: BlobStore, table: str, ids: Iterable
) -> dict[str, int]:
    """Delete rows ``ids`` of ``table``, their descendants and their blobs, in the caller's
    transaction (the caller commits). Returns counts."""
    ids = set(ids)
    if not ids:
        return {}
    acc: dict[str, set] = {}
    await _collect(session, table, ids, acc)
    keys = await blob_keys(session, acc)
    for key in keys:
        await blobs.delete(key)
    counts: dict[str, int] = {}
    for entry in reversed(list(data_map().values())):
        rows = acc.get(entry.name)
        if not rows:
            continue
        for chunk in chunks(rows):
            await session.execute(delete(entry.table).where(_pk(entry).in_(chunk)))
        counts[entry.name] = len(rows)
    if keys:
        counts["blobs"] = len(keys)
    return counts
