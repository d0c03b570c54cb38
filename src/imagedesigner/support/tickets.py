"""Support tickets ("Support communications"): kept ``TICKET_RETENTION`` (default 365 days),
deletable earlier on request, kept longer only under a legal hold."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.db import uow
from imagedesigner.db.models_privacy import SupportTicket
from imagedesigner.kit.ids import new_id
from imagedesigner.privacy import holds
from imagedesigner.privacy.purge import purge
from imagedesigner.storage.base import BlobStore

MAX_SUBJECT = 200
MAX_BODY = 20_000


def _visible(now):
    return (SupportTicket.expires_at.is_(None)) | (SupportTicket.expires_at > now)


async def create(
    session: AsyncSession,
    now: datetime,
    retention: timedelta,
    user_id: str,
    subject: str,
    body: str,
) -> SupportTicket:
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise errors.InvalidRequest(
            f"'subject' must have 1 to {MAX_SUBJECT} characters.", param="subject"
        )
    if not body or len(body) > MAX_BODY:
        raise errors.InvalidRequest(f"'body' must have 1 to {MAX_BODY} characters.", param="body")
    ticket = SupportTicket(
        id=new_id("tkt"),
        user_id=user_id,
        subject=subject,
        body=body,
        created_at=now,
        expires_at=now + retention,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def for_user(session: AsyncSession, now: datetime, user_id: str) -> list[SupportTicket]:
    query = (
        select(SupportTicket)
        .where(SupportTicket.user_id == user_id, _visible(now))
        .order_by(SupportTicket.created_at)
    )
    return list((await session.execute(query)).scalars())


async def all_open(session: AsyncSession, now: datetime, limit: int = 100) -> list[SupportTicket]:
    query = (
        select(SupportTicket)
        .where(_visible(now))
        .order_by(SupportTicket.created_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def delete(
    session: AsyncSession, blobs: BlobStore, now: datetime, user_id: str, ticket_id: str
) -> None:
    ticket = (
        await session.execute(
            select(SupportTicket).where(
                SupportTicket.id == ticket_id,
                SupportTicket.user_id == user_id,
                _visible(now),
            )
        )
    ).scalar_one_or_none()
    if ticket is None:
        raise errors.NotFound("No support ticket with this id.", param="ticket_id")
    if await holds.is_held(session, user_id):
        ticket.expires_at = now  # hidden now, deleted by the sweep once the hold ends
        return
    await purge(session, blobs, "support_tickets", [ticket_id])
    uow.scrub_after_commit(session)  # deleted on request: gone from the WAL, not at the next sweep
