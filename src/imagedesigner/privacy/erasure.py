"""Erasure (GDPR Art. 17): everything tied to a user in every table of the data map, deepest
first, and every blob; then SQLite's WAL is truncated so nothing survives in a file.

What is kept: a pseudonymous ``rights_requests`` row (HMAC of the user id, times, per-table
counts; no email) and, for staff-run requests, audit entries with the same reference.
A user under a legal hold keeps their data until the hold is released: their credentials die
at once, the account is disabled (role ``erased``, processing restricted) and a
``pending_erasures`` marker lets the next sweep after release finish the job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from imagedesigner.audit import log as audit
from imagedesigner.container import Container
from imagedesigner.db.engine import scrub_sqlite
from imagedesigner.db.models import User
from imagedesigner.db.models_privacy import PendingErasure
from imagedesigner.privacy import holds, rights
from imagedesigner.privacy.datamap import deletion_order, user_tables
from imagedesigner.privacy.purge import _chunks

ERASED_ROLE = "erased"


async def _user_blob_keys(c: Container, user_id: str) -> list[str]:
    keys: list[str] = []
    async with c.sessions() as session:
        for entry in user_tables():
            if entry.blob:
                col = entry.table.c[entry.blob]
                link = entry.table.c[entry.user_link]
                rows = await session.execute(select(col).where(link == user_id))
                keys.extend(k for k in rows.scalars() if k)
    return keys


async def erase_everything(c: Container, user_id: str) -> dict[str, int]:
    """Blobs first, then every user-linked row, deepest table first. Idempotent."""
    keys = await _user_blob_keys(c, user_id)
    for chunk in _chunks(keys):
        for key in chunk:
            await c.blobs.delete(key)
    counts: dict[str, int] = {}
    async with c.sessions() as session, session.begin():
        for entry in deletion_order():
            link = entry.table.c[entry.user_link]
            result = await session.execute(delete(entry.table).where(link == user_id))
            if result.rowcount:
                counts[entry.name] = result.rowcount
    if keys:
        counts["blobs"] = len(keys)
    return counts


async def _disable(session, user_id: str, now: datetime) -> None:
    for entry in user_tables():
        if entry.credential:
            link = entry.table.c[entry.user_link]
            await session.execute(delete(entry.table).where(link == user_id))
    await session.execute(
        update(User).where(User.id == user_id).values(role=ERASED_ROLE, restricted_at=now)
    )


async def erase_user(
    c: Container,
    user_id: str,
    *,
    channel: str = "self-service",
    actor: str | None = None,
    action: str = "rights-erasure",
) -> dict:
    """Returns ``{"status": "erased", "counts": {...}}`` or ``{"status": "pending_legal_hold"}``."""
    received = c.clock.now()
    target = audit.subject_ref(c.settings, user_id)
    async with c.sessions() as session, session.begin():
        if await holds.is_held(session, user_id):
            existing = await session.get(PendingErasure, user_id)
            if existing is None:
                rr = await rights.record(
                    session,
                    c.settings,
                    user_id=user_id,
                    type="erasure",
                    channel=channel,
                    received_at=received,
                    completed_at=None,
                    details={"held": True},
                )
                session.add(
                    PendingErasure(user_id=user_id, request_id=rr.id, requested_at=received)
                )
            await _disable(session, user_id, received)
            if actor:
                await audit.record(
                    session, received, actor=actor, action="rights-erasure-pending", target=target
                )
            return {"status": "pending_legal_hold"}
    counts = await erase_everything(c, user_id)
    async with c.sessions() as session, session.begin():
        await rights.record(
            session,
            c.settings,
            user_id=user_id,
            type="erasure",
            channel=channel,
            received_at=received,
            completed_at=c.clock.now(),
            details={"counts": counts},
        )
        if actor:
            await audit.record(session, c.clock.now(), actor=actor, action=action, target=target)
    await scrub_sqlite(c.engine)
    return {"status": "erased", "counts": counts}


async def finish_released(c: Container, now: datetime) -> dict[str, int]:
    """Sweep step: complete erasures that waited for a legal hold that is now released."""
    async with c.sessions() as session:
        pending = list((await session.execute(select(PendingErasure))).scalars())
        held = await holds.held_ids(session)
    done = 0
    for marker in pending:
        if marker.user_id in held:
            continue
        counts = await erase_everything(c, marker.user_id)
        async with c.sessions() as session, session.begin():
            await rights.complete(session, marker.request_id, c.clock.now(), counts=counts)
            await audit.record(
                session,
                now,
                actor="system:sweeper",
                action="rights-erasure-completed",
                target=audit.subject_ref(c.settings, marker.user_id),
            )
        done += 1
    return {"erasures_completed": done}
