"""Support tickets (``/v1/support/tickets``), kept ``TICKET_RETENTION`` (12 months)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.me import record
from imagedesigner.api.schemas import NO_STORE, ts
from imagedesigner.db import uow
from imagedesigner.db.models_privacy import SupportTicket
from imagedesigner.support import tickets

router = APIRouter(prefix="/v1/support/tickets", tags=["support"])


class TicketBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str
    body: str


def ticket_json(t: SupportTicket) -> dict:
    return {
        "id": t.id,
        "object": "support.ticket",
        "subject": t.subject,
        "body": t.body,
        "created_at": ts(t.created_at),
        "expires_at": ts(t.expires_at),
    }


@router.post("", status_code=201)
async def create_ticket(body: TicketBody, c: ContainerDep, session: SessionDep, user: CurrentUser):
    ticket = await tickets.create(
        session, c.clock.now(), c.settings.ticket_retention, user.id, body.subject, body.body
    )
    await uow.commit(session)
    return ticket_json(ticket)


@router.get("")
async def list_tickets(c: ContainerDep, session: SessionDep, user: CurrentUser):
    rows = await tickets.for_user(session, c.clock.now(), user.id)
    return JSONResponse(
        {"object": "list", "data": [ticket_json(t) for t in rows]}, headers=NO_STORE
    )


@router.delete("/{ticket_id}", status_code=204)
async def delete_ticket(ticket_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser):
    received = c.clock.now()
    await tickets.delete(session, c.blobs, received, user.id, ticket_id)
    await record(session, c, user, "ticket-deletion", received)
    await uow.commit(session)
    return Response(status_code=204)
