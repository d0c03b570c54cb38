"""The unit of work: one database session per user action, committed once.

A request (or a CLI command) opens one ``AsyncSession``; services take it and only add, change
or delete rows — they never commit. The transport commits once, with :func:`commit`, when the
action succeeded. Work that must follow a successful commit (truncating SQLite's WAL after a
deletion) is queued with :func:`after_commit`; work that must undo side effects outside the
database when the action fails (deleting blobs a failed request wrote) with :func:`on_failure`,
which :func:`discard` runs (for a request, ``api.deps.RequestSession`` calls it when it ends).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.db.engine import scrub_sqlite
from imagedesigner.db.models import User

Action = Callable[[], Awaitable[object]]
_AFTER = "imagedesigner.after_commit"
_FAILURE = "imagedesigner.on_failure"
log = logging.getLogger("imagedesigner.db")


def after_commit(session: AsyncSession, action: Action) -> None:
    session.info.setdefault(_AFTER, []).append(action)


def on_failure(session: AsyncSession, action: Action) -> None:
    session.info.setdefault(_FAILURE, []).append(action)


def scrub_after_commit(session: AsyncSession) -> None:
    """Deleted on request: once committed, fold SQLite's WAL back so no old page survives."""
    engine = session.bind
    actions = session.info.setdefault(_AFTER, [])
    if not any(getattr(a, "_scrub", False) for a in actions):

        async def scrub() -> None:
            await scrub_sqlite(engine)

        scrub._scrub = True  # type: ignore[attr-defined]
        actions.append(scrub)


async def commit(session: AsyncSession) -> None:
    """Commit the action's one transaction, then run what waited for it."""
    try:
        await session.commit()
    except BaseException:
        await discard(session)
        raise
    session.info.pop(_FAILURE, None)
    for action in session.info.pop(_AFTER, []):
        await action()


async def discard(session: AsyncSession) -> None:
    """The action failed (or never committed): roll back and undo what lies outside the DB."""
    session.info.pop(_AFTER, None)
    actions = session.info.pop(_FAILURE, [])
    try:
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            await session.rollback()  # (nothing begun: no hop through SQLAlchemy's greenlet)
    finally:
        for action in actions:
            try:
                await action()
            except Exception as exc:  # noqa: BLE001 - the next sweep removes what is left
                log.warning("clean-up after a failed action failed: %s", type(exc).__name__)


async def lock_user(session: AsyncSession, user_id: str) -> bool:
    """Serialise actions on one account (erasure against a legal hold, say).

    A no-op write on the account row: on PostgreSQL it takes the row lock until commit, on
    SQLite the database write lock. Whoever comes second waits, then sees the first one's
    outcome. Returns False when there is no such account.
    """
    result = await session.execute(update(User).where(User.id == user_id).values(role=User.role))
    return bool(result.rowcount)
