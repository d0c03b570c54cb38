"""Blob store interface. Keys are generated here, never derived from user input.

A key embeds its creation time (from the injected clock), so the sweeper can tell how old an
orphaned blob is without trusting file-system times: ``<unix-ms>-<random hex>``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

KEY_PATTERN = re.compile(r"^(\d{13})-([0-9a-f]{32})$")


def new_key(now: datetime) -> str:
    return f"{int(now.timestamp() * 1000):013d}-{secrets.token_hex(16)}"


def key_created_at(key: str) -> datetime | None:
    match = KEY_PATTERN.match(key)
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...

    def keys(self) -> AsyncIterator[str]: ...

    async def check(self) -> None:
        """Raise if the store cannot be written and read (readiness probe)."""
        ...
