"""Blobs as files in a local folder: atomic writes (temp file, fsync, rename), sharded by key."""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from imagedesigner import errors
from imagedesigner.storage.base import KEY_PATTERN, key_created_at

FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left; disk quota exceeded


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError("invalid blob key")
        return self.root / key[-2:] / key

    def _put(self, key: str, data: bytes) -> None:
        final = self._path(key)
        final.parent.mkdir(exist_ok=True)
        tmp = self.root / ".tmp" / f"{key}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)  # a partial write holds content too
            if isinstance(exc, OSError) and exc.errno in FULL:
                raise errors.InsufficientStorage(
                    "The server has no room to store the image right now; nothing was kept. "
                    "Try again later."
                ) from None
            raise

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, key, data)

    def _get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def _delete_many(self, paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    async def delete_many(self, keys: list[str]) -> None:
        """Several blobs in one hop to a thread (a sweep batch's, say), not one hop each."""
        if keys:
            await asyncio.to_thread(self._delete_many, [self._path(k) for k in keys])

    def _shards(self) -> list[Path]:
        return [p for p in self.root.iterdir() if p.name != ".tmp" and p.is_dir()]

    @staticmethod
    def _list(shard: Path) -> list[str]:
        return [p.name for p in shard.iterdir() if KEY_PATTERN.match(p.name)]

    async def keys(self) -> AsyncIterator[str]:
        """Shard by shard (a 256th of the store at a time), not the whole listing at once."""
        for shard in await asyncio.to_thread(self._shards):
            for key in await asyncio.to_thread(self._list, shard):
                yield key

    def _clean_tmp(self, cutoff: datetime) -> int:
        """Temp files left by a crash mid-write hold content too: remove those older than
        ``cutoff`` (their age comes from the key they were written for)."""
        removed = 0
        for p in (self.root / ".tmp").iterdir():
            created = key_created_at(p.name.split(".", 1)[0])
            if created is None or created <= cutoff:
                p.unlink(missing_ok=True)
                removed += 1
        return removed

    async def clean_partial_writes(self, cutoff: datetime) -> int:
        return await asyncio.to_thread(self._clean_tmp, cutoff)

    async def check(self) -> None:
        def probe() -> None:
            p = self.root / f".probe-{secrets.token_hex(4)}"
            p.write_bytes(b"ok")
            assert p.read_bytes() == b"ok"
            p.unlink()

        await asyncio.to_thread(probe)
