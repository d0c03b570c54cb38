"""Generations as jobs over HTTP.

- ``submit``: the one path every ``POST /v1/images/generations`` and ``/edits`` takes: the job
  row is created (committed), the runner starts it, then the answer is one of
  - sync (default): wait for the job, answer as before (a client that leaves cancels it);
  - ``Prefer: respond-async`` (RFC 7240): ``202`` with the job and ``Location: /v1/jobs/{id}``;
  - ``stream: true``: OpenAI's ``text/event-stream`` (``api/streams.py``).
- ``GET /v1/jobs`` (paged), ``GET /v1/jobs/{id}``, ``POST /v1/jobs/{id}/cancel`` and
  ``GET /v1/jobs/{id}/events`` (Server-Sent Events, resumable with ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import contextlib

import pybase64
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors, webhooks
from imagedesigner.api import streams
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep, get_session
from imagedesigner.api.schemas import NO_STORE, ts
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, StoredImage, User
from imagedesigner.generation import jobs
from imagedesigner.generation.history import live
from imagedesigner.generation.normalize import GenerationInput, Plan, plan
from imagedesigner.generation.queue import cancel_unclaimed
from imagedesigner.generation.runner import Work
from imagedesigner.generation.service import ensure_not_restricted
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy.purge import purge
from imagedesigner.providers.base import ParamWarning

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
MAX_LIMIT = 100
SSE_DOC = {
    200: {
        "description": "Server-Sent Events: queued, progress, partial_image, completed, failed, "
        "cancelled; each with id (resume with Last-Event-ID) and JSON data.",
        "content": {"text/event-stream": {"schema": {"type": "object"}}},
    }
}


class JobLinks(BaseModel):
    self: str
    events: str
    cancel: str


class JobOut(BaseModel):
    """A generation or edit as a job. ``result`` has the sync response's shape once it
    succeeded; ``error`` OpenAI's error fields once it failed."""

    model_config = ConfigDict(extra="allow")
    id: str
    object: str = "job"
    kind: str
    status: str
    model: str
    provider: str
    created_at: int | None
    started_at: int | None
    finished_at: int | None
    expires_at: int | None
    progress: dict
    error: dict | None
    links: JobLinks
    result: dict | None = None


def job_responses(prefix: str) -> dict:
    """What a generation or edit may answer besides its JSON result."""
    return {
        200: {
            "content": {"text/event-stream": {"schema": {"type": "object"}}},
            "description": f"The result; with stream: true, OpenAI's {prefix}.partial_image and "
            f"{prefix}.completed events (or an error event).",
        },
        202: {"model": JobOut, "description": "With 'Prefer: respond-async': the queued job."},
    }


class JobList(BaseModel):
    object: str = "list"
    data: list[JobOut]
    has_more: bool
    last_id: str | None


def wants_async(request: Request) -> bool:
    """RFC 7240: ``Prefer: respond-async`` (among other preferences, any case)."""
    for value in request.headers.getlist("prefer"):
        for token in value.split(","):
            if token.split(";")[0].strip().lower() == "respond-async":
                return True
    return False


def links(job_id: str) -> dict:
    base = f"/v1/jobs/{job_id}"
    return {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"}


async def result_of(
    request: Request, c: Container, session: AsyncSession, job: Generation
) -> dict | None:
    """A finished job's result in the sync response's shape."""
    from imagedesigner.api import generate  # signed links, as in the sync response

    if job.status != "succeeded" or not job.result:
        return None
    rows = list(
        (
            await session.execute(
                select(StoredImage)
                .where(StoredImage.generation_id == job.id)
                .order_by(StoredImage.created_at, StoredImage.id)
            )
        ).scalars()
    )
    revised = job.result.get("revised_prompts") or []
    data = []
    for i, row in enumerate(rows):
        datum: dict = {"revised_prompt": revised[i] if i < len(revised) else None}
        if job.response_format == "url":
            datum["url"] = generate.image_url(request, c, row.id, job.expires_at)
        else:
            blob = await c.blobs.get(row.blob_key)
            datum["b64_json"] = pybase64.b64encode_as_string(blob) if blob is not None else None
        data.append({k: v for k, v in datum.items() if v is not None})
    body = {
        "created": job.result.get("created"),
        "data": data,
        "usage": job.result.get("usage"),
        "output_format": job.result.get("output_format"),
        "size": job.result.get("size"),
        "quality": job.result.get("quality"),
        "background": job.result.get("background"),
        "id": job.id,
        "model": job.model,
        "provider": job.provider,
        "warnings": job.warnings or [],
        "expires_at": ts(job.expires_at),
    }
    if not rows and not job.result.get("stored", True):
        body["note"] = "The images were delivered in the original response and not kept."
    return {k: v for k, v in body.items() if v is not None}


def describe(job: Generation, now) -> dict:
    started = as_utc(job.started_at) if job.started_at is not None else None
    end = as_utc(job.finished_at) if job.finished_at is not None else now
    progress = dict(job.progress or {})
    if started is not None:
        progress["elapsed_ms"] = int((end - started).total_seconds() * 1000)
    return {
        "id": job.id,
        "object": "job",
        "kind": job.kind,
        "status": job.status,
        "model": job.model,
        "provider": job.provider,
        "created_at": ts(job.created_at),
        "started_at": ts(job.started_at),
        "finished_at": ts(job.finished_at),
        "expires_at": ts(job.expires_at),
        "progress": progress,
        "error": job.error,
        "links": links(job.id),
    }


async def job_json(request: Request, c: Container, session: AsyncSession, job: Generation):
    body = describe(job, as_utc(c.clock.now()))
    body["result"] = await result_of(request, c, session, job)
    return body


async def submit(
    request: Request,
    c: Container,
    session: AsyncSession | None,
    user: User,
    model_id: str | None,
    inp: GenerationInput,
    response_format: str,
    extra: list[ParamWarning],
    *,
    kind: str = "generation",
    stream: bool = False,
    partial_images: int = 0,
    webhook_url: str | None = None,
) -> Response:
    from imagedesigner.api import generate  # the sync response's renderer

    ensure_not_restricted(user)
    if webhook_url is not None:
        webhook_url = webhooks.check_url(webhook_url, c.settings)
    resolved = c.registry.resolve(model_id)
    request.state.model = resolved.model.id
    # a request the model cannot take is refused here, before any job or stream exists
    checked = plan(
        inp,
        resolved.model,
        strict=c.settings.strict_parameters,
        max_prompt=c.settings.max_prompt_chars,
    )
    is_async = wants_async(request)
    store = response_format == "url" or c.settings.store_b64_outputs or is_async
    if not (is_async or stream or webhook_url) and c.dispatch is c.runner:
        return await _sync(
            request, c, user, resolved, inp, kind, response_format, store, extra, checked
        )
    if session is None:  # the request's own, made now that a job row is written
        session = await get_session(request)
    job = await jobs.create(
        session,
        c.clock.now(),
        c.settings.content_ttl,
        user,
        resolved.model,
        inp,
        kind=kind,
        response_format=response_format,
        runner=c.runner.instance_id if c.dispatch is c.runner else None,  # None: queued
        max_active=c.settings.max_active_jobs,
        webhook_url=webhook_url,
    )
    await uow.commit(session)
    work = Work(job.id, user.id, resolved, inp, store_outputs=store or stream)
    try:
        task = await c.dispatch.enqueue(work, follow=not is_async)
    except BaseException:
        await asyncio.shield(_forget(c, job.id))
        raise
    if is_async:
        body = await job_json(request, c, session, job)
        return JSONResponse(
            body, status_code=202, headers={"Location": f"/v1/jobs/{job.id}", **NO_STORE}
        )
    if stream:
        return streams.openai_stream(request, c, job.id, user.id, kind, task, partial_images)
    try:
        finished = await generate.cancel_on_disconnect(request, task)
    except BaseException:
        await asyncio.shield(_forget(c, job.id))
        raise
    if finished.status != "succeeded":
        # the caller gets the error in this response: nothing of the request is kept
        await _forget(c, job.id)
        raise finished.error or errors.DomainError("The generation was cancelled.")
    return generate.render(request, c, finished.outcome, response_format, extra)


async def _sync(
    request: Request,
    c: Container,
    user: User,
    resolved,
    inp: GenerationInput,
    kind: str,
    response_format: str,
    store: bool,
    extra: list[ParamWarning],
    checked: Plan,
) -> Response:
    """A plain sync request: its job is written once, with its result, and only if it
    succeeds (nobody can follow or cancel it before then: its id is in no answer yet). The
    caller leaving cancels it; a failure keeps nothing."""
    from imagedesigner.api import generate

    row = jobs.new_job(
        c.clock.now(),
        c.settings.content_ttl,
        user,
        resolved.model,
        inp,
        kind=kind,
        response_format=response_format,
        runner=None,
    )
    work = Work(row.id, user.id, resolved, inp, store, quiet_row=row, planned=checked)
    finished = await generate.cancel_on_disconnect(request, c.runner.start(work))
    if finished.status != "succeeded":
        raise finished.error or errors.DomainError("The generation was cancelled.")
    return generate.render(request, c, finished.outcome, response_format, extra)


async def _forget(c: Container, job_id: str) -> None:
    async with c.sessions() as session:
        await purge(session, c.blobs, "generations", [job_id])
        uow.scrub_after_commit(session)
        await uow.commit(session)


# --- the job API ------------------------------------------------------------------------------
@router.get("", response_model=JobList)
async def list_jobs(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(20),
    after: str | None = Query(None),
    status: str | None = Query(None),
):
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}.", param="limit")
    query = select(Generation).where(Generation.user_id == user.id, live(c.clock.now()))
    if status is not None:
        if status not in (*jobs.ACTIVE, *jobs.FINAL):
            raise errors.InvalidRequest(
                "status must be queued, running, succeeded, failed or cancelled.", param="status"
            )
        query = query.where(Generation.status == status)
    if after is not None:
        anchor = await session.get(Generation, after)
        if anchor is None or anchor.user_id != user.id:
            raise errors.InvalidRequest("Unknown 'after' cursor.", param="after")
        query = query.where(
            or_(
                Generation.created_at < anchor.created_at,
                (Generation.created_at == anchor.created_at) & (Generation.id < anchor.id),
            )
        )
    query = query.order_by(Generation.created_at.desc(), Generation.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    more = len(rows) > limit
    now = as_utc(c.clock.now())
    data = [describe(job, now) for job in rows[:limit]]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "has_more": more,
            "last_id": data[-1]["id"] if data else None,
        },
        headers=NO_STORE,
    )


@router.get("/{job_id}", response_model=JobOut)
async def get_job(
    job_id: str, request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser
):
    job = await jobs.get(session, c.clock.now(), user.id, job_id)
    return JSONResponse(await job_json(request, c, session, job), headers=NO_STORE)


@router.post("/{job_id}/cancel", response_model=JobOut)
async def cancel_job(
    job_id: str, request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser
):
    """Stops the job wherever it runs: here at once; on another instance at its next
    heartbeat (or at once through the notifier). A finished job is left as it is."""
    job = await jobs.get(session, c.clock.now(), user.id, job_id)
    if await cancel_unclaimed(session, c.blobs, job, c.clock.now(), c.settings.content_ttl):
        await uow.commit(session)  # still on the queue: no worker will run it
        await c.notifier.publish(job.id)
    elif await jobs.request_cancel(session, job):
        await uow.commit(session)
        if not c.runner.cancel_local(job.id):
            await c.notifier.publish(job.id)
        await _settled(c, session, job)
    await session.refresh(job)
    return JSONResponse(await job_json(request, c, session, job), headers=NO_STORE)


async def _settled(c: Container, session: AsyncSession, job: Generation, wait: float = 5.0):
    """Give a cancelled job a moment to reach its final state, so the answer shows it."""
    async with c.notifier.subscribe(job.id) as news:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline:
            await session.refresh(job)
            await session.commit()
            if job.status in jobs.FINAL:
                return
            news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), timeout=min(0.5, deadline - loop.time()))


@router.get("/{job_id}/events", response_class=StreamingResponse, responses=SSE_DOC)
async def job_events(
    job_id: str, request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser
):
    job = await jobs.get(session, c.clock.now(), user.id, job_id)
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    try:
        after = max(0, int(raw))
    except ValueError:
        raise errors.InvalidRequest(
            "Last-Event-ID must be the id of an event of this job.", param="Last-Event-ID"
        ) from None
    await session.commit()  # release the connection: the stream reads with its own sessions
    streams.take_slot(c, user.id)
    return StreamingResponse(
        streams.job_event_stream(request, c, job.id, user.id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
