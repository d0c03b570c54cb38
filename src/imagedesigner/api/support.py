"""Support tickets (``/v1/support/tickets``), kept ``TICKET_RETENTION`` (12 months): the person
opens one, reads support's answers on it, writes a follow-up, or deletes it early."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.me import record
from imagedesigner.api.schemas import NO_STORE, RequestModel, ts
from imagedesigner.db import uow
from imagedesigner.db.models_privacy import SupportTicket, TicketMessage
from imagedesigner.support import tickets

router = APIRouter(prefix="/v1/support/tickets", tags=["support"])


class TicketBody(RequestModel):
    subject: str = Field(min_length=1, max_length=tickets.MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=tickets.MAX_BODY)


class MessageBody(RequestModel):
    body: str = Field(min_length=1, max_length=tickets.MAX_BODY)


class Message(BaseModel):
    id: str
    author: Literal["support", "person"]
    body: str
    created_at: int | None


class Ticket(BaseModel):
    id: str
    object: str = "support.ticket"
    subject: str
    body: str
    status: Literal["open", "answered", "closed"]
    messages: list[Message]
    created_at: int | None
    closed_at: int | None
    expires_at: int | None


class TicketList(BaseModel):
    object: str = "list"
    data: list[Ticket]


def ticket_json(t: SupportTicket, thread: list[TicketMessage]) -> Ticket:
    return Ticket(
        id=t.id,
        subject=t.subject,
        body=t.body,
        status=tickets.state(t, thread),
        messages=[
            Message(id=m.id, author=m.author, body=m.body, created_at=ts(m.created_at))
            for m in thread
        ],
        created_at=ts(t.created_at),
        closed_at=ts(t.closed_at),
        expires_at=ts(t.expires_at),
    )


async def one_ticket(session, t: SupportTicket) -> Ticket:
    return ticket_json(t, (await tickets.messages(session, [t.id]))[t.id])


@router.post("", status_code=201)
async def create_ticket(
    body: TicketBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Ticket:
    ticket = await tickets.create(
        session, c.clock.now(), c.settings.ticket_retention, user.id, body.subject, body.body
    )
    await uow.commit(session)
    return ticket_json(ticket, [])


@router.get("")
async def list_tickets(
    response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> TicketList:
    rows = await tickets.for_user(session, c.clock.now(), user.id)
    threads = await tickets.messages(session, [t.id for t in rows])
    response.headers.update(NO_STORE)
    return TicketList(data=[ticket_json(t, threads[t.id]) for t in rows])


@router.post("/{ticket_id}/messages", status_code=201)
async def follow_up(
    ticket_id: str, body: MessageBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Ticket:
    """Write again on your own ticket (a closed one opens again)."""
    ticket = await tickets.follow_up(session, c.clock.now(), user.id, ticket_id, body.body)
    out = await one_ticket(session, ticket)
    await uow.commit(session)
    return out


@router.delete("/{ticket_id}", status_code=204, response_class=Response)
async def delete_ticket(
    ticket_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Response:
    received = c.clock.now()
    await tickets.delete(session, c.blobs, received, user.id, ticket_id)
    await record(session, c, user, "ticket-deletion", received)
    await uow.commit(session)
    return Response(status_code=204)
