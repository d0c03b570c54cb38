"""Legal holds. While a hold is active the user's data survives sweeps, deletions on request
and erasure; after release it goes at the next sweep. Every change is audit-logged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.audit import log as audit
from imagedesigner.config import Settings
from imagedesigner.db.models_privacy import LegalHold
from imagedesigner.db.uow import lock_user
from imagedesigner.kit.ids import new_id


async def held_ids(session: AsyncSession) -> set[str]:
    query = select(LegalHold.user_id).where(LegalHold.released_at.is_(None))
    return set((await session.execute(query)).scalars())


async def is_held(session: AsyncSession, user_id: str) -> bool:
    query = select(LegalHold.id).where(
        LegalHold.user_id == user_id, LegalHold.released_at.is_(None)
    )
    return (await session.execute(query.limit(1))).first() is not None


async def add(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    user_id: str,
    reason: str,
    actor: str,
) -> LegalHold:
    """Place a hold. Takes the account's lock first, so an erasure running at the same moment
    either finishes before (and there is no account left to hold) or sees this hold."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.InvalidRequest("A legal hold needs a reason.", param="reason")
    if not await lock_user(session, user_id):
        raise errors.NotFound("No user with this id.", param="user_id")
    hold = LegalHold(
        id=new_id("hold"),
        user_id=user_id,
        reason=reason[:500],
        created_at=now,
        created_by=actor[:80],
    )
    session.add(hold)
    await session.flush()
    target = audit.subject_ref(settings, user_id)
    await audit.record(session, now, actor=actor, action="hold-added", target=target)
    return hold


async def release(
    session: AsyncSession, settings: Settings, now: datetime, hold_id: str, actor: str
) -> LegalHold:
    hold = await session.get(LegalHold, hold_id)
    if hold is None:
        raise errors.NotFound(f"No legal hold {hold_id}.")
    if hold.released_at is not None:
        raise errors.Conflict(f"Legal hold {hold_id} is already released.")
    hold.released_at = now
    target = audit.subject_ref(settings, hold.user_id)
    await audit.record(session, now, actor=actor, action="hold-released", target=target)
    return hold


async def listing(session: AsyncSession) -> list[LegalHold]:
    return list((await session.execute(select(LegalHold).order_by(LegalHold.created_at))).scalars())
