"""Grouped writes: items submitted within ``interval`` seconds (or ``max_items`` of them) are
written together by one call of ``write``, after the answer that submitted them. Items wait in
memory at most that long; ``aclose`` writes what is left; ``interval=0`` writes each at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        interval: float,
        *,
        size: Callable[[T], int] = lambda _item: 1,
        max_items: int = 500,
        name: str = "imagedesigner-batch",
    ) -> None:
        self._write, self.interval, self._size, self.max_items = write, interval, size, max_items
        self._name = name
        self._pending: list[T] = []
        self._count = 0  # pending size, so a submission costs O(1)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def submit(self, item: T) -> None:
        if self.interval <= 0:
            await self._write([item])
            return
        self._pending.append(item)
        self._count += self._size(item)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=self._name)
        if self._count >= self.max_items:
            self._wake.set()

    async def flush(self) -> None:
        items, self._pending, self._count = self._pending, [], 0
        if items:
            await self._write(items)

    async def _loop(self) -> None:
        """Runs while there is something to write; ``submit`` starts it again (an idle
        process does not wake every interval)."""
        while self._pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            await asyncio.shield(self.flush())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
