"""Deleting rows together with everything that hangs off them, found through the data map:
child tables (by foreign key) and blob columns. Blobs go first, then rows deepest first, so a
crash half way leaves at worst rows whose blob is already gone, never an unreferenced blob
holding content.

Set-based: the rows of every table that go with the chosen rows are named by one condition
per table (a child's foreign key ``IN`` the parent's condition, nested for grandchildren), so
a purge is one ``SELECT`` per blob column and one ``DELETE`` per table, whatever the number
of rows, with no child ids fetched into Python.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, or_, select
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


def scope(table: str, where: ColumnElement[bool]) -> dict[str, ColumnElement[bool]]:
    """For the rows of ``table`` matching ``where``: a condition per table (that table and its
    descendants) selecting the rows that go with them."""
    acc: dict[str, list[ColumnElement[bool]]] = {}

    def walk(name: str, cond: ColumnElement[bool], path: tuple[str, ...]) -> None:
        acc.setdefault(name, []).append(cond)
        for child in children(name):
            if child.name in path:  # a cycle in the foreign keys: already covered
                continue
            for fk in child.table.foreign_keys:
                if fk.column.table.name == name:
                    parent_rows = select(fk.column).where(cond)
                    walk(child.name, fk.parent.in_(parent_rows), (*path, child.name))

    walk(table, where, (table,))
    return {name: conds[0] if len(conds) == 1 else or_(*conds) for name, conds in acc.items()}


async def delete_blobs(blobs: BlobStore, keys: list[str]) -> None:
    """Every key, in one hand-over when the store can take a list (``delete_many``)."""
    many = getattr(blobs, "delete_many", None)
    if many is not None:
        await many(keys)
        return
    for key in keys:
        await blobs.delete(key)


async def purge_where(
    session: AsyncSession, blobs: BlobStore, table: str, where: ColumnElement[bool]
) -> dict[str, int]:
    """Delete the rows of ``table`` matching ``where``, their descendants and their blobs, in
    the caller's transaction (the caller commits). Returns counts per table and ``blobs``."""
    conds = scope(table, where)
    entries = data_map()
    keys: list[str] = []
    for name, cond in conds.items():
        entry = entries[name]
        if entry.blob:
            found = await session.execute(select(entry.table.c[entry.blob]).where(cond))
            keys.extend(k for k in found.scalars() if k)
    await delete_blobs(blobs, keys)
    counts: dict[str, int] = {}
    for entry in reversed(list(entries.values())):
        cond = conds.get(entry.name)
        if cond is None:
            continue
        deleted = (await session.execute(delete(entry.table).where(cond))).rowcount
        if deleted:
            counts[entry.name] = deleted
    if keys:
        counts["blobs"] = len(keys)
    return counts


async def purge(
    session: AsyncSession, blobs: BlobStore, table: str, ids: Iterable
) -> dict[str, int]:
    """Delete rows ``ids`` of ``table``, their descendants and their blobs, in the caller's
    transaction (the caller commits). Returns counts."""
    pk = _pk(data_map()[table])
    counts: dict[str, int] = {}
    for chunk in chunks(set(ids)):
        for name, n in (await purge_where(session, blobs, table, pk.in_(chunk))).items():
            counts[name] = counts.get(name, 0) + n
    return counts
