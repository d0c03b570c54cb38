"""Rows written behind the answer, in groups: everything submitted in the last ``interval``
seconds goes into one transaction, instead of one transaction per request.

For rows nobody waits for: a sync generation's history when its images are not kept (the
caller has its answer already), so a burst of requests costs one commit, not one each. If the
group's commit fails (an account erased meanwhile: its rows must not be written), each
submission is written on its own and the ones that still fail are dropped and counted.
``interval=0`` writes each submission at once (the tests' default). ``aclose`` writes what is
left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import async_sessionmaker

from imagedesigner.db import uow

log = logging.getLogger("imagedesigner.db")


class WriteBehind:
    def __init__(self, sessions: async_sessionmaker, interval: float, max_rows: int = 500):
        self.sessions, self.interval, self.max_rows = sessions, interval, max_rows
        self._pending: list[list] = []
        self._rows = 0  # rows pending, so a submission costs O(1)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.dropped = 0

    async def submit(self, rows: list) -> None:
        """ORM objects to add together (one submission: all or none)."""
        if self.interval <= 0:
            await self._write([rows])
            return
        self._pending.append(rows)
        self._rows += len(rows)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="imagedesigner-write-behind")
        if self._rows >= self.max_rows:
            self._wake.set()

    async def flush(self) -> None:
        groups, self._pending, self._rows = self._pending, [], 0
        if groups:
            await self._write(groups)

    async def _write(self, groups: list[list]) -> None:
        try:
            await self._commit([row for rows in groups for row in rows])
            return
        except Exception:  # noqa: BLE001 - one bad submission must not lose the others
            if len(groups) == 1:
                self._drop(groups[0])
                return
        for rows in groups:
            try:
                await self._commit(rows)
            except Exception:  # noqa: BLE001
                self._drop(rows)

    async def _commit(self, rows: list) -> None:
        async with self.sessions() as session:
            session.add_all(rows)
            await uow.commit(session)

    def _drop(self, rows: list) -> None:
        self.dropped += 1
        log.warning("a history row was not written (its account is gone)")

    async def _loop(self) -> None:
        while True:
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
