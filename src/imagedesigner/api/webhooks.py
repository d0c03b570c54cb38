"""Webhooks over HTTP: the account's signing secret and a job's delivery record.

- ``POST /v1/me/webhook-secret``: creates the secret, or replaces it (the old one stops at
  once); the only answer that ever contains it.
- ``GET /v1/me/webhook-secret``: whether there is one, and since when. Never the secret.
- ``DELETE /v1/me/webhook-secret``: removes it; webhooks not yet delivered then fail
  (``no_secret``), and new requests with ``webhook_url`` are refused until a new one exists.
- ``GET /v1/jobs/{job_id}/webhook``: the delivery of a finished job's webhook and its attempts.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.schemas import NO_STORE, ts
from imagedesigner.db import uow
from imagedesigner.generation import jobs
from imagedesigner.webhooks import delivery_for
from imagedesigner.webhooks import secret as signing_secret

router = APIRouter(tags=["webhooks"])
SHOWN_ONCE = (
    "Store this secret now: it is shown only once. Verify every webhook with it (Standard "
    "Webhooks, see docs/api.md)."
)


class SecretStatus(BaseModel):
    object: str = "webhook_secret"
    exists: bool
    created_at: int | None


class NewSecret(SecretStatus):
    secret: str
    replaced: bool
    message: str


class SecretDeleted(BaseModel):
    object: str = "webhook_secret"
    exists: bool
    deleted: bool


class Attempt(BaseModel):
    number: int
    attempted_at: int | None
    status_code: int | None
    error: str | None
    duration_ms: int | None


class Delivery(BaseModel):
    id: str
    object: str = "webhook_delivery"
    job_id: str
    type: str
    status: str
    created_at: int | None
    next_attempt_at: int | None
    finished_at: int | None
    attempts: list[Attempt]


def _status(created) -> dict:
    return {"object": "webhook_secret", "exists": created is not None, "created_at": ts(created)}


@router.post("/v1/me/webhook-secret", status_code=201, response_model=NewSecret)
async def create_secret(c: ContainerDep, session: SessionDep, user: CurrentUser):
    new = await signing_secret.rotate(session, c.settings, c.clock.now(), user.id)
    await uow.commit(session)
    body = {
        **_status(new.created_at),
        "secret": new.secret,
        "replaced": new.replaced,
        "message": SHOWN_ONCE,
    }
    return JSONResponse(body, status_code=201, headers=NO_STORE)


@router.get("/v1/me/webhook-secret", response_model=SecretStatus)
async def secret_status(session: SessionDep, user: CurrentUser):
    return JSONResponse(
        _status(await signing_secret.created_at(session, user.id)), headers=NO_STORE
    )


@router.delete("/v1/me/webhook-secret", response_model=SecretDeleted)
async def delete_secret(session: SessionDep, user: CurrentUser):
    deleted = await signing_secret.remove(session, user.id)
    await uow.commit(session)
    return JSONResponse(
        {"object": "webhook_secret", "exists": False, "deleted": deleted}, headers=NO_STORE
    )


@router.get("/v1/jobs/{job_id}/webhook", response_model=Delivery)
async def job_webhook(job_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser):
    job = await jobs.get(session, c.clock.now(), user.id, job_id)
    delivery, attempts = await delivery_for(session, user.id, job.id)
    body = {
        "id": delivery.id,
        "object": "webhook_delivery",
        "job_id": job.id,
        "type": delivery.event_type,
        "status": delivery.status,
        "created_at": ts(delivery.created_at),
        "next_attempt_at": ts(delivery.next_attempt_at),
        "finished_at": ts(delivery.finished_at),
        "attempts": [
            {
                "number": a.number,
                "attempted_at": ts(a.attempted_at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }
    return JSONResponse(body, headers=NO_STORE)
