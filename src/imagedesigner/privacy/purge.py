"""Deleting rows together with everything that hangs off them, found through the data map:
child tables (by foreign key) and blob columns. Blobs go first, then rows deepest first, so a
crash half way leaves at worst rows whose blob is already gone, never an unreferenced blob
holding content.

Set-based: the rows of every table that go with the chosen rows are named by one condition
per table (a child's foreign key ``IN`` the ids, a grandchild's ``IN`` the child's rows), so
purging a chunk of ids is one ``SELECT`` per blob column and one ``DELETE`` per table, with no
child ids fetched into Python.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.privacy.datamap import TableEntry, children, data_map
from imagedesigner.storage.base import BlobStore

CHUNK = 1000


def _pk(entry: TableEntry):
    cols = list(entry.table.primary_key.columns)
    if len(cols) != 1:
        raise ValueError(f"{entry.name}: purge needs a single-column primary key")
    return cols[0]


def chunks(values: Iterable) -> Iterable[list]:
    values = list(values)
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def scope(table: str, ids: list) -> dict[str, ColumnElement[bool]]:
    """For the rows ``ids`` of ``table``: a condition per table (that table and its
    descendants) selecting the rows that go with them. A child of ``table`` is named by its
    foreign key ``IN ids`` itself (an index look-up per id, never a join the planner might
    answer with a scan of the child table); a grandchild by its foreign key ``IN`` the
    child's rows."""
    root = _pk(data_map()[table])
    acc: dict[str, list[ColumnElement[bool]]] = {table: [root.in_(ids)]}

    def walk(name: str, cond: ColumnElement[bool], path: tuple[str, ...]) -> None:
        for child in children(name):
            if child.name in path:  # a cycle in the foreign keys: already covered
                continue
            for fk in child.table.foreign_keys:
                if fk.column.table.name != name:
                    continue
                if fk.column is root:
                    sub = fk.parent.in_(ids)
                else:
                    sub = fk.parent.in_(select(fk.column).where(cond))
                acc.setdefault(child.name, []).append(sub)
                walk(child.name, sub, (*path, child.name))

    walk(table, acc[table][0], (table,))
    return {name: conds[0] if len(conds) == 1 else or_(*conds) for name, conds in acc.items()}


async def delete_blobs(blobs: BlobStore, keys: list[str]) -> None:
    """Every key, in one hand-over when the store can take a list (``delete_many``)."""
    many = getattr(blobs, "delete_many", None)
    if many is not None:
        await many(keys)
        return
    for key in keys:
        await blobs.delete(key)


async def _purge_chunk(
    session: AsyncSession, blobs: BlobStore, table: str, ids: list
) -> dict[str, int]:
    conds = scope(table, ids)
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
    counts: dict[str, int] = {}
    for chunk in chunks(set(ids)):
        for name, n in (await _purge_chunk(session, blobs, table, chunk)).items():
            counts[name] = counts.get(name, 0) + n
    return counts
