"""Support tickets (``/v1/support/tickets``), kept ``TICKET_RETENTION`` (12 months)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.me import record
from imagedesigner.api.schemas import NO_STORE, RequestModel, ts
from imagedesigner.db import uow
from imagedesigner.db.models_privacy import SupportTicket
from imagedesigner.support import tickets

router = APIRouter(prefix="/v1/support/tickets", tags=["support"])


class TicketBody(RequestModel):
    subject: str = Field(min_length=1, max_length=tickets.MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=tickets.MAX_BODY)


class Ticket(BaseModel):
    id: str
    object: str = "support.ticket"
    subject: str
    body: str
    created_at: int | None
    expires_at: int | None


class TicketList(BaseModel):
    object: str = "list"
    data: list[Ticket]


def ticket_json(t: SupportTicket) -> Ticket:
    return Ticket(
        id=t.id,
        subject=t.subject,
        body=t.body,
        created_at=ts(t.created_at),
        expires_at=ts(t.expires_at),
    )


@router.post("", status_code=201)
async def create_ticket(
    body: TicketBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Ticket:
    ticket = await tickets.create(
        session, c.clock.now(), c.settings.ticket_retention, user.id, body.subject, body.body
    )
    await uow.commit(session)
    return ticket_json(ticket)


@router.get("")
async def list_tickets(
    response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> TicketList:
    rows = await tickets.for_user(session, c.clock.now(), user.id)
    response.headers.update(NO_STORE)
    return TicketList(data=[ticket_json(t) for t in rows])


@router.delete("/{ticket_id}", status_code=204, response_class=Response)
async def delete_ticket(
    ticket_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Response:
    received = c.clock.now()
    await tickets.delete(session, c.blobs, received, user.id, ticket_id)
    await record(session, c, user, "ticket-deletion", received)
    await uow.commit(session)
    return Response(status_code=204)
