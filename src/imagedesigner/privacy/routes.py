"""Self-service privacy API: the account (``/v1/me``), consents, the gallery, data export,
erasure, restriction and support tickets. Staff routes are in ``routes_admin.py``.

Identity is whatever ``CurrentUser`` verified (API key or signed-in session). Every fulfilled
data-subject request is recorded in ``rights_requests`` (see ``privacy/rights.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from imagedesigner import errors
from imagedesigner.accounts import sessions
from imagedesigner.accounts.service import normalize_email
from imagedesigner.api.deps import ContainerDep, CurrentUser
from imagedesigner.db.engine import scrub_sqlite
from imagedesigner.db.models import User
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy import consents, erasure, gallery, rights, tickets
from imagedesigner.privacy.export import stream_export
from imagedesigner.privacy.routes_admin import router as admin_router

router = APIRouter(tags=["privacy"])
router.include_router(admin_router)
NO_STORE = {"Cache-Control": "no-store"}


class EmailChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str


class TicketBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str
    body: str


def account(user: User) -> dict:
    return {
        "id": user.id,
        "object": "account",
        "email": user.email,
        "role": user.role,
        "created_at": int(as_utc(user.created_at).timestamp()),
        "restricted": user.restricted_at is not None,
    }


async def _record(c, user: User, type_: str, received, **details) -> None:
    async with c.sessions() as session, session.begin():
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
async def me(user: CurrentUser):
    return JSONResponse(account(user), headers=NO_STORE)


@router.patch("/v1/me")
async def rectify(body: EmailChange, c: ContainerDep, user: CurrentUser):
    """Rectification. Re-verifying the new address is a later concern (docs/privacy-rights.md)."""
    received = c.clock.now()
    email = normalize_email(body.email)
    async with c.sessions() as session, session.begin():
        taken = await session.execute(
            select(User.id).where(User.email == email, User.id != user.id)
        )
        if taken.first() is not None:
            raise errors.Conflict("An account with this email already exists.", param="email")
        row = await session.get(User, user.id)
        row.email = email
    await _record(c, user, "rectification", received, fields=["email"])
    await scrub_sqlite(c.engine)  # the old address must not linger in SQLite's WAL
    user.email = email
    return JSONResponse(account(user), headers=NO_STORE)


@router.delete("/v1/me")
async def erase_me(request: Request, c: ContainerDep, user: CurrentUser):
    result = await erasure.erase_user(c, user.id, channel="self-service")
    response = _erasure_response(result)
    if request.cookies.get(sessions.SESSION_COOKIE):
        sessions.clear_cookie(request, response, sessions.SESSION_COOKIE)  # its session is gone
    return response


def _erasure_response(result: dict) -> JSONResponse:
    if result["status"] == "pending_legal_hold":
        return JSONResponse(
            {
                "object": "account.erasure",
                "status": "pending",
                "message": "Your account is closed and its keys and sessions are revoked. Some "
                "data must be kept for a legal obligation; it is erased when that ends.",
            },
            status_code=202,
        )
    return JSONResponse(
        {"object": "account.erasure", "status": "erased", "deleted": result["counts"]}
    )


@router.get("/v1/me/export")
async def export(c: ContainerDep, user: CurrentUser):
    received = c.clock.now()

    async def done(counts: dict) -> None:
        await _record(c, user, "access", received, counts=counts)

    stamp = as_utc(received).strftime("%Y%m%d")
    return StreamingResponse(
        stream_export(c, user.id, on_complete=done),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="imagedesigner-export-{stamp}.zip"',
            **NO_STORE,
        },
    )


@router.post("/v1/me/restriction")
async def restrict(c: ContainerDep, user: CurrentUser):
    received = c.clock.now()
    async with c.sessions() as session, session.begin():
        row = await session.get(User, user.id)
        if row.restricted_at is None:
            row.restricted_at = received
    await _record(c, user, "restriction", received)
    return {"object": "account.restriction", "restricted": True}


@router.delete("/v1/me/restriction")
async def lift_restriction(c: ContainerDep, user: CurrentUser):
    received = c.clock.now()
    async with c.sessions() as session, session.begin():
        row = await session.get(User, user.id)
        row.restricted_at = None
    await _record(c, user, "restriction-lifted", received)
    return {"object": "account.restriction", "restricted": False}


# --- consents ---------------------------------------------------------------------------
@router.get("/v1/me/consents")
async def get_consents(c: ContainerDep, user: CurrentUser):
    async with c.sessions() as session:
        return await consents.state(session, user.id)


@router.post("/v1/me/consents/{purpose}")
async def grant(purpose: str, c: ContainerDep, user: CurrentUser):
    consents.check_purpose(purpose)
    async with c.sessions() as session, session.begin():
        await consents.append(c, session, user.id, purpose, True)
        return await consents.state(session, user.id)


@router.delete("/v1/me/consents/{purpose}")
async def withdraw(purpose: str, c: ContainerDep, user: CurrentUser, confirm: bool = False):
    """Withdrawing ``gallery`` deletes the saved items; without ``?confirm=true`` a 409 says
    how many first. With nothing saved it takes effect at once, like granting."""
    consents.check_purpose(purpose)
    received = c.clock.now()
    deleted = 0
    if purpose == "gallery":
        saved = await gallery.saved_ids(c, user.id)
        if saved and not confirm:
            raise errors.Conflict(
                f"Withdrawing 'gallery' consent deletes your {len(saved)} saved item(s) and "
                "their images for good. Repeat with ?confirm=true to go ahead.",
                code="confirmation_required",
                param="confirm",
            )
        deleted = await gallery.delete_items(c, user.id, saved)
    async with c.sessions() as session, session.begin():
        await consents.append(c, session, user.id, purpose, False)
        body = await consents.state(session, user.id)
    await _record(c, user, "consent-withdrawal", received, purpose=purpose, deleted=deleted)
    body["deleted_items"] = deleted
    return body


# --- gallery ----------------------------------------------------------------------------
@router.post("/v1/generations/{generation_id}/save")
async def save(generation_id: str, c: ContainerDep, user: CurrentUser):
    gen = await gallery.save(c, user, generation_id)
    return {"id": gen.id, "object": "gallery.item", "saved": True, "expires_at": None}


@router.get("/v1/gallery")
async def list_gallery(c: ContainerDep, user: CurrentUser):
    return JSONResponse(
        {"object": "list", "data": await gallery.listing(c, user.id)}, headers=NO_STORE
    )


@router.delete("/v1/gallery/{generation_id}")
async def delete_saved(generation_id: str, c: ContainerDep, user: CurrentUser):
    received = c.clock.now()
    if generation_id not in await gallery.saved_ids(c, user.id):
        raise errors.NotFound(gallery.NOT_FOUND, param="generation_id")
    await gallery.delete_items(c, user.id, [generation_id])
    await _record(c, user, "gallery-deletion", received)
    return {"id": generation_id, "object": "gallery.item", "deleted": True}


# --- support tickets --------------------------------------------------------------------
@router.post("/v1/support/tickets", status_code=201)
async def create_ticket(body: TicketBody, c: ContainerDep, user: CurrentUser):
    return tickets.as_dict(await tickets.create(c, user.id, body.subject, body.body))


@router.get("/v1/support/tickets")
async def list_tickets(c: ContainerDep, user: CurrentUser):
    rows = await tickets.for_user(c, user.id)
    return JSONResponse(
        {"object": "list", "data": [tickets.as_dict(t) for t in rows]}, headers=NO_STORE
    )


@router.delete("/v1/support/tickets/{ticket_id}", status_code=204)
async def delete_ticket(ticket_id: str, c: ContainerDep, user: CurrentUser):
    received = c.clock.now()
    await tickets.delete(c, user.id, ticket_id)
    await _record(c, user, "ticket-deletion", received)
    return Response(status_code=204)
