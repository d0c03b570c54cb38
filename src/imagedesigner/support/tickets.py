"""Support tickets ("Support communications"): kept ``TICKET_RETENTION`` (default 365 days),
deletable earlier on request, kept longer only under a legal hold.

A ticket is a conversation: the person's first message (``subject``, ``body``), then
``ticket_messages`` (answers from support, follow-ups from the person), which live and die with
the ticket. Its state: ``open`` (waiting for support), ``answered`` (support spoke last),
``closed`` (closed by support; a follow-up from the person opens it again)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.db import uow
from imagedesigner.db.models import User
from imagedesigner.db.models_privacy import SupportTicket, TicketMessage
from imagedesigner.kit.ids import new_id
from imagedesigner.privacy import holds
from imagedesigner.privacy.purge import purge
from imagedesigner.storage.base import BlobStore

MAX_SUBJECT = 200
MAX_BODY = 20_000
STATES = ("open", "answered", "closed")
SUPPORT, PERSON = "support", "person"  # ticket_messages.author


def _visible(now):
    return (SupportTicket.expires_at.is_(None)) | (SupportTicket.expires_at > now)


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body or len(body) > MAX_BODY:
        raise errors.InvalidRequest(f"'body' must have 1 to {MAX_BODY} characters.", param="body")
    return body


async def create(
    session: AsyncSession,
    now: datetime,
    retention: timedelta,
    user_id: str,
    subject: str,
    body: str,
) -> SupportTicket:
    subject = (subject or "").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise errors.InvalidRequest(
            f"'subject' must have 1 to {MAX_SUBJECT} characters.", param="subject"
        )
    body = _body(body)
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


async def messages(session: AsyncSession, ticket_ids: list[str]) -> dict[str, list]:
    """Each ticket's messages, oldest first."""
    out: dict[str, list[TicketMessage]] = {t: [] for t in ticket_ids}
    if not ticket_ids:
        return out
    query = (
        select(TicketMessage)
        .where(TicketMessage.ticket_id.in_(ticket_ids))
        .order_by(TicketMessage.position, TicketMessage.created_at)
    )
    for m in (await session.execute(query)).scalars():
        out[m.ticket_id].append(m)
    return out


def state(ticket: SupportTicket, thread: list[TicketMessage]) -> str:
    if ticket.closed_at is not None:
        return "closed"
    return "answered" if thread and thread[-1].author == SUPPORT else "open"


async def listing(
    session: AsyncSession, now: datetime, wanted: str = "open", limit: int = 100
) -> list[tuple[SupportTicket, str, list[TicketMessage]]]:
    """Tickets for staff, newest first, as (ticket, owner's email, messages); ``wanted`` is a
    state, ``active`` (open or answered) or ``all``."""
    query = (
        select(SupportTicket, User.email)
        .join(User, User.id == SupportTicket.user_id)
        .where(_visible(now))
        .order_by(SupportTicket.created_at.desc(), SupportTicket.id)
    )
    if wanted == "closed":
        query = query.where(SupportTicket.closed_at.is_not(None))
    elif wanted != "all":
        query = query.where(SupportTicket.closed_at.is_(None))
    rows = list((await session.execute(query)).all())
    threads = await messages(session, [t.id for t, _ in rows])
    out = []
    for ticket, email in rows:
        thread = threads[ticket.id]
        if wanted in ("open", "answered") and state(ticket, thread) != wanted:
            continue
        out.append((ticket, email, thread))
    return out[:limit]


async def _find(
    session: AsyncSession, now: datetime, ticket_id: str, user_id: str | None = None
) -> SupportTicket:
    query = select(SupportTicket).where(SupportTicket.id == ticket_id, _visible(now))
    if user_id is not None:
        query = query.where(SupportTicket.user_id == user_id)
    ticket = (await session.execute(query)).scalar_one_or_none()
    if ticket is None:
        raise errors.NotFound("No support ticket with this id.", param="ticket_id")
    return ticket


async def _add(session, now, ticket: SupportTicket, author: str, body: str) -> TicketMessage:
    """The next message; ``position`` orders a thread whose messages share a timestamp."""
    count = select(func.count()).where(TicketMessage.ticket_id == ticket.id)
    message = TicketMessage(
        id=new_id("tmsg"),
        ticket_id=ticket.id,
        user_id=ticket.user_id,
        position=(await session.execute(count)).scalar_one() + 1,
        author=author,
        body=_body(body),
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def follow_up(
    session: AsyncSession, now: datetime, user_id: str, ticket_id: str, body: str
) -> SupportTicket:
    """The person writes again on their own ticket; a closed ticket opens again."""
    ticket = await _find(session, now, ticket_id, user_id)
    await _add(session, now, ticket, PERSON, body)
    ticket.closed_at = None
    return ticket


async def answer(session: AsyncSession, now: datetime, ticket_id: str, body: str) -> SupportTicket:
    """Support answers. A closed ticket is not answered (the person reopens it by writing)."""
    ticket = await _find(session, now, ticket_id)
    if ticket.closed_at is not None:
        raise errors.Conflict("This ticket is closed.", param="ticket_id", code="ticket_closed")
    await _add(session, now, ticket, SUPPORT, body)
    return ticket


async def close(session: AsyncSession, now: datetime, ticket_id: str) -> SupportTicket:
    ticket = await _find(session, now, ticket_id)
    if ticket.closed_at is not None:
        raise errors.Conflict(
            "This ticket is already closed.", param="ticket_id", code="ticket_closed"
        )
    ticket.closed_at = now
    return ticket


async def delete(
    session: AsyncSession, blobs: BlobStore, now: datetime, user_id: str, ticket_id: str
) -> None:
    ticket = await _find(session, now, ticket_id, user_id)
    if await holds.is_held(session, user_id):
        ticket.expires_at = now  # hidden now, deleted (with its messages) once the hold ends
        return
    await purge(session, blobs, "support_tickets", [ticket_id])
    uow.scrub_after_commit(session)  # deleted on request: gone from the WAL, not at the next sweep
