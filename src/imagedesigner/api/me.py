"""Self-service privacy API: the account (``/v1/me``), data export, erasure, restriction and
consents. The gallery is in ``api/gallery.py``, support tickets in ``api/support.py``, staff
routes in ``api/admin.py``.

Identity is whatever ``CurrentUser`` verified (API key or signed-in session). Each action is one
transaction, committed once, and that transaction also records the fulfilled data-subject
request in ``rights_requests`` (``privacy/rights.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts.service import normalize_email
from imagedesigner.api import websession
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.openapi import errors as error_responses
from imagedesigner.api.schemas import NO_STORE, RequestModel, ts
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.db.models import User
from imagedesigner.generation import gallery
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy import consents, erasure, rights
from imagedesigner.privacy.export import stream_export
from imagedesigner.privacy.sweep_steps import expire_user_rows

router = APIRouter(tags=["privacy"])
EMAIL_CHANGE = (
    "If no other account uses this address, it is now your sign-in address; otherwise your "
    "account is unchanged. GET /v1/me shows the address in use."
)


class EmailChange(RequestModel):
    email: str = Field(max_length=320)


class Account(BaseModel):
    id: str
    object: str = "account"
    email: str
    role: str
    created_at: int | None
    restricted: bool


class EmailChangeOut(BaseModel):
    object: str = "account.email_change"
    email: str
    message: str


class Erasure(BaseModel):
    object: str = "account.erasure"
    status: str = Field(description="erased (200) or pending (202: kept under a legal hold)")
    deleted: dict[str, int] | None = None
    message: str | None = None


class Restriction(BaseModel):
    object: str = "account.restriction"
    restricted: bool


class Purpose(BaseModel):
    description: str
    granted: bool
    since: int | None
    policy_version: str | None


class ConsentEvent(BaseModel):
    purpose: str
    granted: bool
    at: int
    policy_version: str


class Consents(BaseModel):
    object: str = "consents"
    purposes: dict[str, Purpose]
    history: list[ConsentEvent]


class ConsentWithdrawal(Consents):
    deleted_items: int


def account(user: User) -> Account:
    return Account(
        id=user.id,
        email=user.email,
        role=user.role,
        created_at=ts(user.created_at),
        restricted=user.restricted_at is not None,
    )


async def record(
    session: AsyncSession, c: Container, user: User, type_: str, received, **details
) -> None:
    """The fulfilled request, in the action's own transaction."""
    await rights.record(
        session,
        c.settings,
        user_id=user.id,
        type=type_,
        channel="self-service",
        received_at=received,
        completed_at=c.clock.now(),
        details=details,
    )


# --- account ---------------------------------------------------------------------------
@router.get("/v1/me")
async def me(response: Response, user: CurrentUser) -> Account:
    response.headers.update(NO_STORE)
    return account(user)


@router.patch("/v1/me")
async def rectify(
    body: EmailChange, response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> EmailChangeOut:
    """Rectification. The answer does not tell whether another account has the address."""
    received = c.clock.now()
    email = normalize_email(body.email)
    taken = await session.execute(select(User.id).where(User.email == email, User.id != user.id))
    if taken.first() is None:
        row = await session.get(User, user.id)
        row.email = email
        await record(session, c, user, "rectification", received, fields=["email"])
        uow.scrub_after_commit(session)  # the old address must not linger in SQLite's WAL
        await uow.commit(session)
    response.headers.update(NO_STORE)
    return EmailChangeOut(email=email, message=EMAIL_CHANGE)


@router.delete(
    "/v1/me",
    response_model=Erasure,
    response_model_exclude_none=True,
    responses={202: {"model": Erasure, "description": "Closed; some data kept under a hold."}},
)
async def erase_me(request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser):
    result = await erasure.erase_user(
        session, c.blobs, c.settings, c.clock.now(), user.id, channel="self-service"
    )
    await uow.commit(session)
    response = _erasure_response(result)
    if request.cookies.get(websession.SESSION_COOKIE):
        websession.clear_cookie(request, response, websession.SESSION_COOKIE)  # it is gone
    return response


def _erasure_response(result: dict) -> JSONResponse:
    if result["status"] == "pending_legal_hold":
        body = Erasure(
            status="pending",
            message="Your account is closed and its keys and sessions are revoked. Some "
            "data must be kept for a legal obligation; it is erased when that ends.",
        )
        return JSONResponse(body.model_dump(exclude_none=True), status_code=202)
    body = Erasure(status="erased", deleted=result["counts"])
    return JSONResponse(body.model_dump(exclude_none=True))


@router.get(
    "/v1/me/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A ZIP of everything tied to your account (docs/export.md). An error "
            "after the first byte aborts the connection: a complete body is a complete export.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def export(c: ContainerDep, session: SessionDep, user: CurrentUser):
    received = c.clock.now()
    await expire_user_rows(session, c.blobs, received, user.id)  # nothing past its TTL
    await uow.commit(session)

    async def done(counts: dict) -> None:
        async with c.sessions() as s:
            await record(s, c, user, "access", received, counts=counts)
            await uow.commit(s)

    stamp = as_utc(received).strftime("%Y%m%d")
    return StreamingResponse(
        stream_export(c.sessions, c.blobs, received, user.id, on_complete=done),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="imagedesigner-export-{stamp}.zip"',
            **NO_STORE,
        },
    )


@router.post("/v1/me/restriction")
async def restrict(c: ContainerDep, session: SessionDep, user: CurrentUser) -> Restriction:
    received = c.clock.now()
    row = await session.get(User, user.id)
    if row.restricted_at is None:
        row.restricted_at = received
    await record(session, c, user, "restriction", received)
    await uow.commit(session)
    return Restriction(restricted=True)


@router.delete("/v1/me/restriction")
async def lift_restriction(c: ContainerDep, session: SessionDep, user: CurrentUser) -> Restriction:
    received = c.clock.now()
    row = await session.get(User, user.id)
    row.restricted_at = None
    await record(session, c, user, "restriction-lifted", received)
    await uow.commit(session)
    return Restriction(restricted=False)


# --- consents ---------------------------------------------------------------------------
@router.get("/v1/me/consents")
async def get_consents(session: SessionDep, user: CurrentUser) -> Consents:
    return Consents.model_validate(await consents.state(session, user.id))


@router.post("/v1/me/consents/{purpose}")
async def grant(purpose: str, c: ContainerDep, session: SessionDep, user: CurrentUser) -> Consents:
    consents.check_purpose(purpose)
    await consents.append(session, c.clock.now(), c.settings.policy_version, user.id, purpose, True)
    body = await consents.state(session, user.id)
    await uow.commit(session)
    return Consents.model_validate(body)


@router.delete("/v1/me/consents/{purpose}", responses=error_responses(409))
async def withdraw(
    purpose: str, c: ContainerDep, session: SessionDep, user: CurrentUser, confirm: bool = False
) -> ConsentWithdrawal:
    """Withdrawing ``gallery`` deletes the saved items; without ``?confirm=true`` a 409 says
    how many first. With nothing saved it takes effect at once, like granting. One
    transaction: the items, the ledger row and the rights record commit together."""
    consents.check_purpose(purpose)
    received = c.clock.now()
    deleted = 0
    if purpose == "gallery":
        saved = await gallery.saved_ids(session, user.id)
        if saved and not confirm:
            raise errors.Conflict(
                f"Withdrawing 'gallery' consent deletes your {len(saved)} saved item(s) and "
                "their images for good. Repeat with ?confirm=true to go ahead.",
                code="confirmation_required",
                param="confirm",
            )
        deleted = await gallery.delete_items(session, c.blobs, received, user.id, saved)
    await consents.append(session, received, c.settings.policy_version, user.id, purpose, False)
    await record(session, c, user, "consent-withdrawal", received, purpose=purpose, deleted=deleted)
    body = await consents.state(session, user.id)
    await uow.commit(session)
    return ConsentWithdrawal.model_validate({**body, "deleted_items": deleted})
