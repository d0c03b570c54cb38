"""Staff routes for an admin: rights requests with their one-month deadline, legal holds, the
audit log (paged) and the under-age flag. Every call, a read included, is written to the audit
log in the same transaction; a user without the role gets 403 (``api/admin.py``'s rule)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from imagedesigner import errors
from imagedesigner.accounts.service import find_user_by_email
from imagedesigner.api.admin import require, staff_audit
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.schemas import NO_STORE, RequestModel, ts
from imagedesigner.audit import log as audit
from imagedesigner.db import uow
from imagedesigner.db.models import User
from imagedesigner.db.models_privacy import AuditEntry, LegalHold, RightsRequest
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy import erasure, holds, rights

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ADMIN = {"admin"}
DAY = 86400


class EmailBody(RequestModel):
    email: str = Field(min_length=1, max_length=320)


class HoldBody(EmailBody):
    reason: str = Field(min_length=1, max_length=500)


class Hold(BaseModel):
    id: str
    object: str = "legal_hold"
    user_id: str
    email: str | None
    reason: str
    created_at: int | None
    released_at: int | None
    created_by: str
    active: bool


class HoldList(BaseModel):
    object: str = "list"
    data: list[Hold]


class RightsBody(EmailBody):
    type: Literal["access", "rectification", "erasure", "restriction", "consent-withdrawal"]
    received_at: int | None = Field(None, description="Unix seconds; default: now")


class RightsItem(BaseModel):
    id: str
    object: str = "rights_request"
    type: str
    channel: str
    subject_ref: str
    received_at: int | None
    due_at: int | None
    completed_at: int | None
    status: str
    days_left: int | None = Field(description="Whole days to the deadline while open")


class RequestList(BaseModel):
    object: str = "list"
    data: list[RightsItem]


class Entry(BaseModel):
    id: int
    at: int | None
    actor: str
    action: str
    target: str


class EntryPage(BaseModel):
    object: str = "list"
    data: list[Entry]
    has_more: bool
    next_before: int | None = Field(description="Pass as 'before' for the next (older) page")


class UnderAge(BaseModel):
    object: str = "account.underage"
    status: Literal["erased", "pending_legal_hold"]


async def _user(session, email: str) -> User:
    user = await find_user_by_email(session, email)
    if user is None:
        raise errors.NotFound("No account uses this email address.", param="email")
    return user


def _hold(h: LegalHold, email: str | None) -> Hold:
    return Hold(
        id=h.id,
        user_id=h.user_id,
        email=email,
        reason=h.reason,
        created_at=ts(h.created_at),
        released_at=ts(h.released_at),
        created_by=h.created_by,
        active=h.released_at is None,
    )


def _request(r: RightsRequest, now: datetime) -> RightsItem:
    left = None
    if r.completed_at is None:
        left = int((as_utc(r.due_at) - now).total_seconds() // DAY)
    return RightsItem(
        id=r.id,
        type=r.type,
        channel=r.channel,
        subject_ref=r.subject_ref,
        received_at=ts(r.received_at),
        due_at=ts(r.due_at),
        completed_at=ts(r.completed_at),
        status=rights.status(r, now),
        days_left=left,
    )


# --- legal holds ------------------------------------------------------------------------
@router.get("/holds")
async def list_holds(
    response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> HoldList:
    """Active holds first, then released ones, newest first."""
    require(user, ADMIN)
    await staff_audit(session, c, user, "holds-read", "legal-holds")
    rows = (
        await session.execute(
            select(LegalHold, User.email)
            .join(User, User.id == LegalHold.user_id, isouter=True)
            .order_by(LegalHold.released_at.is_not(None), LegalHold.created_at.desc())
        )
    ).all()
    await uow.commit(session)
    response.headers.update(NO_STORE)
    return HoldList(data=[_hold(h, email) for h, email in rows])


@router.post("/holds", status_code=201)
async def place_hold(
    body: HoldBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Hold:
    require(user, ADMIN)
    target = await _user(session, body.email)
    actor = audit.staff_ref(c.settings, user.id)
    hold = await holds.add(session, c.settings, c.clock.now(), target.id, body.reason, actor)
    await uow.commit(session)
    return _hold(hold, target.email)


@router.post("/holds/{hold_id}/release")
async def release_hold(
    hold_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Hold:
    require(user, ADMIN)
    actor = audit.staff_ref(c.settings, user.id)
    hold = await holds.release(session, c.settings, c.clock.now(), hold_id, actor)
    owner = await session.get(User, hold.user_id)
    await uow.commit(session)
    return _hold(hold, owner.email if owner else None)


# --- rights requests --------------------------------------------------------------------
@router.get("/rights-requests")
async def list_requests(
    response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> RequestList:
    """Every recorded request with its deadline (one month, GDPR Art. 12(3)): open ones first."""
    require(user, ADMIN)
    await staff_audit(session, c, user, "rights-read", "rights-requests")
    rows = await rights.listing(session)
    await uow.commit(session)
    response.headers.update(NO_STORE)
    now = c.clock.now()
    return RequestList(data=[_request(r, now) for r in rows])


@router.post("/rights-requests", status_code=201)
async def record_request(
    body: RightsBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> RightsItem:
    """A request that reached staff another way (email, letter): recorded open, with its due date."""
    require(user, ADMIN)
    now = c.clock.now()
    received = now
    if body.received_at is not None:
        received = datetime.fromtimestamp(body.received_at, tz=now.tzinfo)
        if received > now or (now - received).days > 366:
            raise errors.InvalidRequest(
                "The date received must be within the last year and not in the future.",
                param="received_at",
            )
    target = await _user(session, body.email)
    row = await rights.record(
        session,
        c.settings,
        user_id=target.id,
        type=body.type,
        channel="staff",
        received_at=received,
        completed_at=None,
    )
    await staff_audit(session, c, user, "rights-request-recorded", row.subject_ref)
    await uow.commit(session)
    return _request(row, now)


@router.post("/rights-requests/{request_id}/complete")
async def complete_request(
    request_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> RightsItem:
    require(user, ADMIN)
    now = c.clock.now()
    row = await rights.fulfil(session, request_id, now)
    await staff_audit(session, c, user, "rights-request-completed", row.subject_ref)
    await uow.commit(session)
    return _request(row, now)


# --- the audit log ----------------------------------------------------------------------
@router.get("/audit")
async def audit_log(
    response: Response,
    c: ContainerDep,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(50, ge=1, le=200),
    before: int | None = Query(None, ge=1, description="Only entries older than this id"),
    email: str | None = Query(None, max_length=320, description="Only entries about this user"),
) -> EntryPage:
    """Newest first. Reading the log is itself an entry (``audit-read``)."""
    require(user, ADMIN)
    await staff_audit(session, c, user, "audit-read", "audit-log")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if email:
        target = await _user(session, email)
        query = query.where(AuditEntry.target_ref == audit.subject_ref(c.settings, target.id))
    rows = list((await session.execute(query)).scalars())
    await uow.commit(session)
    more = len(rows) > limit
    rows = rows[:limit]
    response.headers.update(NO_STORE)
    return EntryPage(
        data=[
            Entry(id=e.id, at=ts(e.at), actor=e.actor_ref, action=e.action, target=e.target_ref)
            for e in rows
        ],
        has_more=more,
        next_before=rows[-1].id if more else None,
    )


# --- children ---------------------------------------------------------------------------
@router.post("/underage")
async def flag_underage(
    body: EmailBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> UnderAge:
    """The person is under the minimum age: their account and data are erased now (kept only
    under a legal hold, then erased when it is released). Audited as ``underage-erasure``."""
    require(user, ADMIN)
    target = await _user(session, body.email)
    result = await erasure.erase_user(
        session,
        c.blobs,
        c.settings,
        c.clock.now(),
        target.id,
        channel="staff",
        actor=audit.staff_ref(c.settings, user.id),
        action="underage-erasure",
    )
    await uow.commit(session)
    return UnderAge(status=result["status"])
