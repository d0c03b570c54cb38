"""Erasure (GDPR Art. 17): everything tied to a user in every table of the data map, deepest
first, and every blob; then SQLite's WAL is truncated so nothing survives in a file.

What is kept: a pseudonymous ``rights_requests`` row (HMAC of the user id, times, per-table
counts; no email) and, for staff-run requests, audit entries with the same reference.
A user under a legal hold keeps their data until the hold is released: their credentials die
at once, the account is disabled (role ``erased``, processing restricted) and a
``pending_erasures`` marker lets the next sweep after release finish the job.

The hold check and the erasure are one transaction that starts by taking the account's lock
(``uow.lock_user``); placing a hold takes the same lock, so a hold placed at the same moment is
either seen or finds no account left to hold. The caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.audit import log as audit
from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.db.models import User
from imagedesigner.db.models_privacy import PendingErasure
from imagedesigner.privacy import holds, rights
from imagedesigner.privacy.datamap import deletion_order, user_tables
from imagedesigner.storage.base import BlobStore

ERASED_ROLE = "erased"


async def _user_blob_keys(session: AsyncSession, user_id: str) -> list[str]:
    keys: list[str] = []
    for entry in user_tables():
        if entry.blob:
            col = entry.table.c[entry.blob]
            link = entry.table.c[entry.user_link]
            rows = await session.execute(select(col).where(link == user_id))
            keys.extend(k for k in rows.scalars() if k)
    return keys


async def erase_everything(session: AsyncSession, blobs: BlobStore, user_id: str) -> dict[str, int]:
    """Blobs first, then every user-linked row, deepest table first. Idempotent."""
    keys = await _user_blob_keys(session, user_id)
    for key in keys:
        await blobs.delete(key)
    counts: dict[str, int] = {}
    for entry in deletion_order():
        link = entry.table.c[entry.user_link]
        result = await session.execute(delete(entry.table).where(link == user_id))
        if result.rowcount:
            counts[entry.name] = result.rowcount
    if keys:
        counts["blobs"] = len(keys)
    uow.scrub_after_commit(session)
    return counts


async def _disable(session: AsyncSession, user_id: str, now: datetime) -> None:
    for entry in user_tables():
        if entry.credential:
            link = entry.table.c[entry.user_link]
            await session.execute(delete(entry.table).where(link == user_id))
    await session.execute(
        update(User).where(User.id == user_id).values(role=ERASED_ROLE, restricted_at=now)
    )


async def erase_user(
    session: AsyncSession,
    blobs: BlobStore,
    settings: Settings,
    now: datetime,
    user_id: str,
    *,
    channel: str = "self-service",
    actor: str | None = None,
    action: str = "rights-erasure",
) -> dict:
    """Returns ``{"status": "erased", "counts": {...}}`` or ``{"status": "pending_legal_hold"}``."""
    target = audit.subject_ref(settings, user_id)
    if not await uow.lock_user(session, user_id):
        raise errors.NotFound("No user with this id.", param="user_id")
    if await holds.is_held(session, user_id):
        existing = await session.get(PendingErasure, user_id)
        if existing is None:
            rr = await rights.record(
                session,
                settings,
                user_id=user_id,
                type="erasure",
                channel=channel,
                received_at=now,
                completed_at=None,
                details={"held": True},
            )
            session.add(PendingErasure(user_id=user_id, request_id=rr.id, requested_at=now))
        await _disable(session, user_id, now)
        if actor:
            await audit.record(
                session, now, actor=actor, action="rights-erasure-pending", target=target
            )
        return {"status": "pending_legal_hold"}
    counts = await erase_everything(session, blobs, user_id)
    await rights.record(
        session,
        settings,
        user_id=user_id,
        type="erasure",
        channel=channel,
        received_at=now,
        completed_at=now,
        details={"counts": counts},
    )
    if actor:
        await audit.record(session, now, actor=actor, action=action, target=target)
    return {"status": "erased", "counts": counts}


async def finish_released(sessions, blobs: BlobStore, settings: Settings, now: datetime) -> dict:
    """Sweep step: complete erasures that waited for a legal hold that is now released. Each
    account is its own transaction."""
    async with sessions() as session:
        pending = list((await session.execute(select(PendingErasure))).scalars())
        held = await holds.held_ids(session)
    done = 0
    for marker in pending:
        if marker.user_id in held:
            continue
        async with sessions() as session:
            await uow.lock_user(session, marker.user_id)
            if await holds.is_held(session, marker.user_id):  # held again meanwhile
                await session.rollback()
                continue
            counts = await erase_everything(session, blobs, marker.user_id)
            await rights.complete(session, marker.request_id, now, counts=counts)
            await audit.record(
                session,
                now,
                actor="system:sweeper",
                action="rights-erasure-completed",
                target=audit.subject_ref(settings, marker.user_id),
            )
            await uow.commit(session)
        done += 1
    return {"erasures_completed": done}
