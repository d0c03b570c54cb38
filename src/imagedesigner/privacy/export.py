"""Access and portability (GDPR Art. 15 and 20): a ZIP of everything tied to the user, found
through the data map, streamed with flat memory.

``zipfile`` writes into a sink that only collects bytes; after every row batch or image the
sink is drained and the chunk is yielded, so at most one image (plus a small buffer) is in
memory at a time. The sink is not seekable, so entries use data descriptors. The schema of
every file is documented in ``docs/export.md``.

A failure after the first chunk is never hidden: the archive is abandoned without its end
record and the error propagates, so the server aborts the connection and the client sees an
incomplete download, never a complete-looking 200.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy.datamap import TableEntry, data_map, user_tables
from imagedesigner.storage.base import BlobStore

FORMAT_VERSION = 1
FLUSH_AT = 256 * 1024
ROWS_PER_FETCH = 200
# File names for tables whose name is not what a person would look for.
FILE_NAMES = {"users": "account", "request_logs": "requests"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


class _Sink(io.RawIOBase):
    """A write-only, non-seekable stream that hands its bytes over on ``drain``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        data = bytes(b)
        self._parts.append(data)
        self._size += len(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    @property
    def pending(self) -> int:
        return self._size

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        return data


def file_name(entry: TableEntry) -> str:
    if entry.export_as != entry.name:
        return entry.export_as
    return FILE_NAMES.get(entry.name, entry.name)


def exportable() -> list[TableEntry]:
    return [e for e in user_tables() if e.exported_columns]


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _encode(row: dict) -> bytes:
    """UTF-8 JSON. A lone surrogate (stored before requests were checked for them) becomes its
    JSON escape (``\\ud800``), so the file stays valid JSON with the value as it was stored."""
    return json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8", "backslashreplace")


def _info(name: str, now: datetime, compress: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=as_utc(now).timetuple()[:6])
    zi.compress_type = compress
    zi.external_attr = 0o600 << 16
    return zi


async def stream_export(
    sessions: async_sessionmaker,
    blobs: BlobStore,
    now: datetime,
    user_id: str,
    *,
    on_complete: Callable[[dict], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """The ZIP, chunk by chunk. Read-only: the caller has purged the user's expired rows first
    (``sweep_steps.expire_user_rows``), so nothing past its TTL is in it."""
    sink = _Sink()
    zf = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    parts = _archive(sessions, blobs, now, user_id, sink, zf, on_complete)
    try:
        async for chunk in parts:
            yield chunk
    except BaseException:
        zf.fp = None  # abandoned: no end record is written, not even when it is collected
        raise
    finally:
        await parts.aclose()


async def _archive(
    sessions: async_sessionmaker,
    blobs: BlobStore,
    now: datetime,
    user_id: str,
    sink: _Sink,
    zf: zipfile.ZipFile,
    on_complete: Callable[[dict], Awaitable[None]] | None,
) -> AsyncIterator[bytes]:
    counts: dict[str, int] = {}
    files: list[str] = []
    for entry in exportable():
        name = f"{file_name(entry)}.json"
        single = entry.user_link == "id"
        cols = [entry.table.c[n] for n in entry.exported_columns]
        link = entry.table.c[entry.user_link]
        pk = list(entry.table.primary_key.columns)
        query = select(*cols).where(link == user_id).order_by(*pk)
        n = 0
        with zf.open(_info(name, now, zipfile.ZIP_DEFLATED), "w") as out:
            out.write(b"" if single else b"[")
            async with sessions() as session:
                result = await session.stream(query.execution_options(yield_per=ROWS_PER_FETCH))
                async for row in result.mappings():
                    if n and not single:
                        out.write(b",\n")
                    out.write(_encode({k: _value(v) for k, v in row.items()}))
                    n += 1
                    if single:
                        break
                    if sink.pending >= FLUSH_AT:
                        yield sink.drain()
            if single and n == 0:
                out.write(b"null")
            out.write(b"" if single else b"]")
        counts[entry.name] = n
        files.append(name)
        yield sink.drain()
    for entry in exportable():
        if not entry.blob:
            continue
        async for name in _blobs(sessions, blobs, zf, entry, user_id, now):
            files.append(name)
            counts[f"{entry.name}.files"] = counts.get(f"{entry.name}.files", 0) + 1
            if sink.pending >= FLUSH_AT:
                yield sink.drain()
    manifest = _manifest(now, counts, files)
    zf.writestr(_info("manifest.json", now, zipfile.ZIP_DEFLATED), manifest)
    zf.close()
    yield sink.drain()
    if on_complete is not None:
        await on_complete(counts)


async def _blobs(
    sessions: async_sessionmaker,
    blobs: BlobStore,
    zf: zipfile.ZipFile,
    entry: TableEntry,
    user_id: str,
    now: datetime,
):
    t = entry.table
    media = t.c["media_type"] if entry.has("media_type") else None
    pk = list(t.primary_key.columns)[0]
    cols = [pk, t.c[entry.blob]] + ([media] if media is not None else [])
    query = select(*cols).where(t.c[entry.user_link] == user_id).order_by(pk)
    folder = file_name(entry)
    last = None
    while True:  # a page of rows per short read, not every row at once nor one long read
        page = query if last is None else query.where(pk > last)
        async with sessions() as session:
            rows = (await session.execute(page.limit(ROWS_PER_FETCH))).all()
        if not rows:
            return
        last = rows[-1][0]
        for row in rows:
            data = await blobs.get(row[1])
            if data is None:
                continue
            ext = EXTENSIONS.get(row[2], "bin") if media is not None else "bin"
            name = f"{folder}/{row[0]}.{ext}"
            zf.writestr(_info(name, now, zipfile.ZIP_STORED), data)
            del data  # the sink holds the bytes now; not a second copy while suspended
            yield name


def _manifest(now: datetime, counts: dict[str, int], files: list[str]) -> bytes:
    withheld = {
        e.name: [c.name for c in e.columns if not c.export]
        for e in data_map().values()
        if e.user_link and any(not c.export for c in e.columns)
    }
    body = {
        "format": "imagedesigner-export",
        "version": FORMAT_VERSION,
        "generated_at": as_utc(now).isoformat(),
        "files": files,
        "counts": counts,
        "withheld_columns": withheld,
        "schema": "docs/export.md",
    }
    return json.dumps(body, indent=2, sort_keys=True).encode()
