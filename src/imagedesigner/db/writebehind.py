"""Rows written behind the answer, in groups: everything submitted in the last ``interval``
seconds goes into one transaction, instead of one transaction per request.

For rows nobody waits for: a sync generation's history when its images are not kept (the
caller has its answer already), so a burst of requests costs one commit, not one each. A
submission is a list of ORM objects, written as Core rows by :class:`~imagedesigner.db.bulk.
BulkInserter` (one hand-off to SQLite's writer thread per group). If the group's commit fails
(an account erased meanwhile: its rows must not be written), each submission is written on its
own and the ones that still fail are dropped and counted. ``interval=0`` writes each submission
at once (the tests' default). ``aclose`` writes what is left.
"""

from __future__ import annotations

import logging

from imagedesigner.db.batching import Batcher
from imagedesigner.db.bulk import BulkInserter, Row, orm_row

log = logging.getLogger("imagedesigner.db")


class WriteBehind(Batcher[list[Row]]):
    def __init__(self, bulk: BulkInserter, interval: float, max_rows: int = 500):
        self.bulk = bulk
        self.dropped = 0
        super().__init__(
            self._write_groups,
            interval,
            size=len,
            max_items=max_rows,
            name="imagedesigner-write-behind",
        )

    async def add(self, objects: list) -> None:
        """Submit ORM objects that belong together (all written or none)."""
        await self.submit([orm_row(obj) for obj in objects])

    async def _write_groups(self, groups: list[list[Row]]) -> None:
        try:
            await self.bulk.insert([row for rows in groups for row in rows])
            return
        except Exception:  # noqa: BLE001 - one bad submission must not lose the others
            if len(groups) == 1:
                self._drop()
                return
        for rows in groups:
            try:
                await self.bulk.insert(rows)
            except Exception:  # noqa: BLE001
                self._drop()

    def _drop(self) -> None:
        self.dropped += 1
        log.warning("a history row was not written (its account is gone)")
