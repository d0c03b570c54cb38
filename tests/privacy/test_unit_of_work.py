"""One user action, one transaction: the consent withdrawal (items, ledger row, rights record)
commits once; an erasure and a legal hold placed at the same moment cannot both win."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select

from imagedesigner import errors
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, User
from imagedesigner.db.models_privacy import LegalHold
from imagedesigner.privacy import erasure, holds
from tests.conftest import make_user
from tests.privacy.conftest import bearer, generate

DML = ("INSERT", "UPDATE", "DELETE")


class WriteCommits:
    """Counts committed transactions that changed a table other than the request log."""

    def __init__(self, engine) -> None:
        self.count = 0
        self._dirty: set[int] = set()
        self.engine = engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        words = statement.lstrip().split(None, 3)
        if words and words[0].upper() in DML and "request_logs" not in statement:
            self._dirty.add(id(conn.connection.dbapi_connection))

    def _commit(self, conn) -> None:
        key = id(conn.connection.dbapi_connection)
        if key in self._dirty:
            self._dirty.discard(key)
            self.count += 1

    def _rollback(self, conn) -> None:
        self._dirty.discard(id(conn.connection.dbapi_connection))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)


async def test_withdrawing_the_gallery_consent_commits_once(client, auth, container):
    await client.post("/v1/me/consents/gallery", headers=auth)
    for prompt in ("first saved thing", "second saved thing"):
        gen = await generate(client, auth, prompt)
        assert (await client.post(f"/v1/generations/{gen['id']}/save", headers=auth)).is_success
    commits = WriteCommits(container.engine)
    try:
        r = await client.delete("/v1/me/consents/gallery?confirm=true", headers=auth)
        assert r.status_code == 200 and r.json()["deleted_items"] == 2
    finally:
        commits.close()
    assert commits.count == 1, "items, ledger row and rights record in one transaction"


async def test_erasure_commits_once(client, auth, container):
    await generate(client, auth, "something to erase")
    commits = WriteCommits(container.engine)
    try:
        assert (await client.delete("/v1/me", headers=auth)).status_code == 200
    finally:
        commits.close()
    assert commits.count == 1


async def _erase(container, user_id: str) -> dict:
    async with container.sessions() as session:
        result = await erasure.erase_user(
            session, container.blobs, container.settings, container.clock.now(), user_id
        )
        await uow.commit(session)
        return result


async def _hold(container, user_id: str) -> str:
    async with container.sessions() as session:
        try:
            await holds.add(
                session,
                container.settings,
                container.clock.now(),
                user_id,
                "litigation ref 7",
                "cli:test",
            )
        except errors.NotFound:
            return "no account left to hold"
        await uow.commit(session)
        return "held"


async def test_a_hold_placed_while_an_erasure_runs_is_honoured(client, container, monkeypatch):
    user, token = await make_user(container, email="held.race@example.com")
    await generate(client, bearer(token), "evidence that must survive a hold")
    checked = asyncio.Event()
    real_is_held = holds.is_held

    async def is_held_then_pause(session, user_id):
        answer = await real_is_held(session, user_id)
        checked.set()
        await asyncio.sleep(0.5)  # the hold is placed in this window, between check and delete
        return answer

    monkeypatch.setattr(holds, "is_held", is_held_then_pause)

    async def hold_after_the_check() -> str:
        await checked.wait()
        return await _hold(container, user.id)

    erased, held = await asyncio.gather(_erase(container, user.id), hold_after_the_check())
    async with container.sessions() as s:
        hold_rows = list((await s.execute(select(LegalHold))).scalars())
        user_left = await s.get(User, user.id)
        content_left = list((await s.execute(select(Generation.id))).scalars())
    # never both: a hold reported as placed, and the data erased anyway
    assert not (held == "held" and erased["status"] == "erased")
    assert erased["status"] == "erased" and held == "no account left to hold"
    assert hold_rows == [] and content_left == [] and user_left is None


async def test_a_hold_placed_before_the_erasure_keeps_the_data(client, container):
    user, token = await make_user(container, email="held.first@example.com")
    await generate(client, bearer(token), "evidence kept")
    assert await _hold(container, user.id) == "held"
    assert (await _erase(container, user.id))["status"] == "pending_legal_hold"
    async with container.sessions() as s:
        assert (await s.get(User, user.id)).role == "erased"
        assert list((await s.execute(select(Generation.id))).scalars()) != []
