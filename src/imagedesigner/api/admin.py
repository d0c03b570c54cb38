"""Staff routes, least privilege. ``support`` reads tickets and account basics; only ``admin``
reads a user's content (prompts, images) and the records of processing. Every staff read of
a user's account or content, and every refused attempt, is written to the audit log, in the
same transaction as the read."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.me import Account, account
from imagedesigner.api.schemas import NO_STORE, ts
from imagedesigner.api.support import MessageBody, Ticket, one_ticket, ticket_json
from imagedesigner.audit import log as audit
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, StoredImage, User
from imagedesigner.privacy.records import records_of_processing
from imagedesigner.privacy.sweep_steps import expire_user_rows
from imagedesigner.support import tickets

router = APIRouter(prefix="/v1/admin", tags=["admin"])
STAFF = {"support", "admin"}


class RecordsOfProcessing(BaseModel):
    """GDPR Art. 30 records, built from the data map (``privacy/records.py``)."""

    object: str = "records_of_processing"
    controller_contact: str
    policy_version: str
    activities: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    transfers: str
    security_measures: list[str]
    data_map: Any


class StaffTicket(Ticket):
    user_id: str
    email: str


class StaffTicketList(BaseModel):
    object: str = "list"
    data: list[StaffTicket]


class StoredGeneration(BaseModel):
    id: str
    model: str
    prompt: str
    params: dict[str, Any]
    created_at: int | None
    saved: bool
    images: list[str]


class StoredGenerationList(BaseModel):
    object: str = "list"
    data: list[StoredGeneration]


def require(user: User, roles: set[str]) -> None:
    if user.role not in roles:
        raise errors.PermissionDenied("Your role does not allow this.", code="insufficient_role")


async def staff_audit(session: AsyncSession, c: Container, staff: User, action: str, target: str):
    await audit.record(
        session,
        c.clock.now(),
        actor=audit.staff_ref(c.settings, staff.id),
        action=action,
        target=target,
    )


@router.get("/records-of-processing")
async def records(
    response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> RecordsOfProcessing:
    require(user, {"admin"})
    await staff_audit(session, c, user, "records-read", "records-of-processing")
    await uow.commit(session)
    response.headers.update(NO_STORE)
    return RecordsOfProcessing.model_validate(records_of_processing(c.settings, c.registry))


TicketState = Literal["active", "open", "answered", "closed", "all"]


@router.get("/tickets")
async def all_tickets(
    response: Response,
    c: ContainerDep,
    session: SessionDep,
    user: CurrentUser,
    status: TicketState = "active",
) -> StaffTicketList:
    """Tickets newest first: ``active`` (open or answered, the default), one state, or all."""
    require(user, STAFF)
    rows = await tickets.listing(session, c.clock.now(), status)
    for target in sorted({audit.subject_ref(c.settings, t.user_id) for t, _, _ in rows}):
        await staff_audit(session, c, user, "tickets-read", target)
    await uow.commit(session)
    data = [
        StaffTicket(**ticket_json(t, thread).model_dump(), user_id=t.user_id, email=email)
        for t, email, thread in rows
    ]
    response.headers.update(NO_STORE)
    return StaffTicketList(data=data)


@router.post("/tickets/{ticket_id}/answers", status_code=201)
async def answer_ticket(
    ticket_id: str, body: MessageBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Ticket:
    """Support answers a ticket; the person sees it on their ticket."""
    require(user, STAFF)
    ticket = await tickets.answer(session, c.clock.now(), ticket_id, body.body)
    target = audit.subject_ref(c.settings, ticket.user_id)
    await staff_audit(session, c, user, "ticket-answered", target)
    out = await one_ticket(session, ticket)
    await uow.commit(session)
    return out


@router.post("/tickets/{ticket_id}/close")
async def close_ticket(
    ticket_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Ticket:
    require(user, STAFF)
    ticket = await tickets.close(session, c.clock.now(), ticket_id)
    await staff_audit(
        session, c, user, "ticket-closed", audit.subject_ref(c.settings, ticket.user_id)
    )
    out = await one_ticket(session, ticket)
    await uow.commit(session)
    return out


@router.get("/users/{user_id}")
async def read_account(
    user_id: str, response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Account:
    require(user, STAFF)
    target = await session.get(User, user_id)
    if target is None:
        raise errors.NotFound("No user with this id.")
    await staff_audit(session, c, user, "account-read", audit.subject_ref(c.settings, user_id))
    await uow.commit(session)
    response.headers.update(NO_STORE)
    return account(target)


@router.get("/users/{user_id}/generations")
async def read_content(
    user_id: str, response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> StoredGenerationList:
    target = audit.subject_ref(c.settings, user_id)
    if user.role != "admin":
        if user.role in STAFF:
            await staff_audit(session, c, user, "content-read-denied", target)
            await uow.commit(session)
        raise errors.PermissionDenied(
            "Only admins may read a user's prompts and images.", code="insufficient_role"
        )
    await expire_user_rows(session, c.blobs, c.clock.now(), user_id)  # nothing past its TTL
    gens = list(
        (
            await session.execute(
                select(Generation)
                .where(Generation.user_id == user_id)
                .order_by(Generation.created_at)
            )
        ).scalars()
    )
    images = list(
        (await session.execute(select(StoredImage).where(StoredImage.user_id == user_id))).scalars()
    )
    await staff_audit(session, c, user, "content-read", target)
    await uow.commit(session)
    by_gen: dict[str, list[str]] = {}
    for img in images:
        by_gen.setdefault(img.generation_id, []).append(img.id)
    data = [
        StoredGeneration(
            id=g.id,
            model=g.model,
            prompt=g.prompt,
            params=g.params,
            created_at=ts(g.created_at),
            saved=g.saved_at is not None,
            images=by_gen.get(g.id, []),
        )
        for g in gens
    ]
    response.headers.update(NO_STORE)
    return StoredGenerationList(data=data)
