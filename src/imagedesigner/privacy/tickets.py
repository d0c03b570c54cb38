"""Support tickets ("Support communications"): kept ``TICKET_RETENTION`` (default 365 days),
deletable earlier on request, kept longer only under a legal hold."""

from __future__ import annotations

from sqlalchemy import select

from imagedesigner import errors
from imagedesigner.container import Container
from imagedesigner.db.engine import scrub_sqlite
from imagedesigner.db.models_privacy import SupportTicket
from imagedesigner.kit.clock import as_utc
from imagedesigner.kit.ids import new_id
from imagedesigner.privacy import holds
from imagedesigner.privacy.purge import purge

MAX_SUBJECT = 200
MAX_BODY = 20_000


def as_dict(t: SupportTicket) -> dict:
    return {
        "id": t.id,
        "object": "support.ticket",
        "subject": t.subject,
        "body": t.body,
        "created_at": int(as_utc(t.created_at).timestamp()),
        "expires_at": int(as_utc(t.expires_at).timestamp()) if t.expires_at else None,
    }


def _visible(now):
    return (SupportTicket.expires_at.is_(None)) | (SupportTicket.expires_at > now)


async def create(c: Container, user_id: str, subject: str, body: str) -> SupportTicket:
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise errors.InvalidRequest(
            f"'subject' must have 1 to {MAX_SUBJECT} characters.", param="subject"
        )
    if not body or len(body) > MAX_BODY:
        raise errors.InvalidRequest(f"'body' must have 1 to {MAX_BODY} characters.", param="body")
    now = c.clock.now()
    ticket = SupportTicket(
        id=new_id("tkt"),
        user_id=user_id,
        subject=subject,
        body=body,
        created_at=now,
        expires_at=now + c.settings.ticket_retention,
    )
    async with c.sessions() as session, session.begin():
        session.add(ticket)
    return ticket


async def for_user(c: Container, user_id: str) -> list[SupportTicket]:
    async with c.sessions() as session:
        query = (
            select(SupportTicket)
            .where(SupportTicket.user_id == user_id, _visible(c.clock.now()))
            .order_by(SupportTicket.created_at)
        )
        return list((await session.execute(query)).scalars())


async def all_open(c: Container, limit: int = 100) -> list[SupportTicket]:
    async with c.sessions() as session:
        query = (
            select(SupportTicket)
            .where(_visible(c.clock.now()))
            .order_by(SupportTicket.created_at.desc())
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())


async def delete(c: Container, user_id: str, ticket_id: str) -> None:
    now = c.clock.now()
    async with c.sessions() as session, session.begin():
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
    await purge(c, "support_tickets", [ticket_id])
    await scrub_sqlite(c.engine)  # deleted on request: gone from the WAL too, not at the next sweep
