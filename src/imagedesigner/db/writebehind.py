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

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker

from imagedesigner.db import uow
from imagedesigner.db.batching import Batcher

log = logging.getLogger("imagedesigner.db")


class WriteBehind(Batcher[list]):
    def __init__(self, sessions: async_sessionmaker, interval: float, max_rows: int = 500):
        self.sessions = sessions
        self.dropped = 0
        super().__init__(
            self._write_groups,
            interval,
            size=len,
            max_items=max_rows,
            name="imagedesigner-write-behind",
        )

    async def _write_groups(self, groups: list[list]) -> None:
        """Each group is one submission: ORM objects added together (all or none)."""
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
