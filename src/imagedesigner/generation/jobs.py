"""Generations as jobs: the states of the one ``generations`` row, and its events.

    queued ──► running ──► succeeded
       │          ├──────► failed      (error in OpenAI's shape; "interrupted" if its runner died)
       └──────────┴──────► cancelled   (nothing stored)

Every change is written with an event (``job_events``: ``queued``, ``progress``,
``partial_image``, ``completed``, ``failed``, ``cancelled``) whose ``seq`` is the SSE event id.
These functions take the caller's session and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors, webhooks
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, User
from imagedesigner.db.models_jobs import JobEvent
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.kit.ids import new_id
from imagedesigner.providers.base import ModelInfo

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled")
NOT_FOUND = "No job with this id exists, or it has expired."


def params_of(inp: GenerationInput) -> dict:
    return {
        "n": inp.n,
        "size": inp.size,
        "aspect_ratio": inp.aspect_ratio,
        "seed": inp.seed,
        "output_format": inp.output_format,
        "quality": inp.quality,
        "background": inp.background,
        "input_images": len(inp.images),
        "mask": inp.mask is not None,
    }


async def active_count(session: AsyncSession, user_id: str) -> int:
    query = select(func.count()).where(Generation.user_id == user_id, Generation.status.in_(ACTIVE))
    return (await session.execute(query)).scalar_one()


async def counts_by_state(session: AsyncSession) -> dict[str, int]:
    """Jobs queued and running, across every instance (for the metrics scrape)."""
    query = (
        select(Generation.status, func.count())
        .where(Generation.status.in_(ACTIVE))
        .group_by(Generation.status)
    )
    return {status: n for status, n in (await session.execute(query)).all()}


def new_job(
    now: datetime,
    ttl: timedelta,
    user: User,
    model: ModelInfo,
    inp: GenerationInput,
    *,
    kind: str,
    response_format: str,
    runner: str | None,
    webhook_url: str | None = None,
) -> Generation:
    """A queued job's row, not yet added to a session."""
    return Generation(
        id=new_id("gen"),
        user_id=user.id,
        model=model.id,
        provider=model.provider,
        prompt=inp.prompt,
        params=params_of(inp),
        warnings=[],
        created_at=now,
        expires_at=now + ttl,
        kind=kind,
        status="queued",
        progress={},
        response_format=response_format,
        webhook_url=webhook_url,
        runner=runner,  # None: on the queue, for whichever worker claims it
        heartbeat_at=now if runner is not None else None,
        cancel_requested=False,
    )


async def create(
    session: AsyncSession,
    now: datetime,
    ttl: timedelta,
    user: User,
    model: ModelInfo,
    inp: GenerationInput,
    *,
    kind: str,
    response_format: str,
    runner: str | None,
    max_active: int,
    webhook_url: str | None = None,
) -> Generation:
    """A queued job for ``user``. Refused with 429 past ``max_active`` queued + running.

    ``webhook_url`` (checked by the caller with ``webhooks.check_url``) gets a signed POST when
    the job is final; it needs the account's signing secret (400 without one)."""
    if webhook_url is not None:
        await webhooks.require_secret(session, user.id)
    if max_active and await active_count(session, user.id) >= max_active:
        raise too_many(max_active)
    job = new_job(
        now,
        ttl,
        user,
        model,
        inp,
        kind=kind,
        response_format=response_format,
        runner=runner,
        webhook_url=webhook_url,
    )
    session.add(job)
    await session.flush()
    await add_event(session, job, "queued", {}, now, ttl, seq=1)
    return job


def too_many(max_active: int) -> errors.RateLimited:
    return errors.RateLimited(
        f"You have {max_active} generations queued or running, the most at once. Wait "
        "for one to finish (or cancel one) and try again.",
        retry_after=5,
        code="too_many_active_jobs",
    )


def new_event(
    job: Generation, type_: str, data: dict, now: datetime, ttl: timedelta, seq: int = 1
) -> JobEvent:
    return JobEvent(
        generation_id=job.id,
        user_id=job.user_id,
        seq=seq,
        type=type_,
        data=data,
        created_at=now,
        expires_at=now + ttl,
    )


async def add_event(
    session: AsyncSession,
    job: Generation,
    type_: str,
    data: dict,
    now: datetime,
    ttl: timedelta,
    *,
    seq: int | None = None,
) -> JobEvent:
    """The job's next event (``seq`` when the caller knows it: a job's first event)."""
    if seq is None:
        last = (
            await session.execute(
                select(func.max(JobEvent.seq)).where(JobEvent.generation_id == job.id)
            )
        ).scalar_one()
        seq = (last or 0) + 1
    event = new_event(job, type_, data, now, ttl, seq)
    session.add(event)
    await session.flush()
    return event


async def get(session: AsyncSession, now: datetime, user_id: str, job_id: str) -> Generation:
    from imagedesigner.generation.history import live

    job = (
        await session.execute(
            select(Generation).where(
                Generation.id == job_id, Generation.user_id == user_id, live(now)
            )
        )
    ).scalar_one_or_none()
    if job is None:
        raise errors.NotFound(NOT_FOUND, param="job_id")
    return job


async def events_after(
    session: AsyncSession, job_id: str, after: int, limit: int = 100
) -> list[JobEvent]:
    query = (
        select(JobEvent)
        .where(JobEvent.generation_id == job_id, JobEvent.seq > after)
        .order_by(JobEvent.seq)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


def implied_events(job: Generation) -> list[JobEvent]:
    """The events of a job that has none stored. A sync job whose images are not kept is
    written as its row alone, after it succeeded (one row less per request on the gateway's
    hottest path): its one event, ``completed``, follows from the row. Only those rows (their
    result says ``stored: false``): any other job's events were stored, and once the sweep has
    taken them (they expire with the content TTL, a saved job's too) there are none to show.
    Not added to a session."""
    if job.status != "succeeded" or (job.result or {}).get("stored") is not False:
        return []
    at = job.finished_at or job.created_at
    event = JobEvent(
        generation_id=job.id,
        user_id=job.user_id,
        seq=1,
        type="completed",
        data={},
        created_at=at,
        expires_at=job.expires_at,
    )
    return [event]


async def request_cancel(session: AsyncSession, job: Generation) -> bool:
    """Asks the job's runner (on whichever instance) to stop. False when already final."""
    if job.status in FINAL:
        return False
    await session.execute(
        update(Generation).where(Generation.id == job.id).values(cancel_requested=True)
    )
    return True


async def claim(session: AsyncSession, job_id: str, runner: str | None, now: datetime) -> bool:
    """Take a queued job nobody has claimed (a dedicated worker), or with ``runner=None``
    cancel it. One conditional update: of a claim and a cancel racing, exactly one wins."""
    values: dict = (
        {"runner": runner, "heartbeat_at": now}
        if runner is not None
        else {"status": "cancelled", "finished_at": now, "heartbeat_at": None}
    )
    result = await session.execute(
        update(Generation)
        .where(
            Generation.id == job_id,
            Generation.status == "queued",
            Generation.runner.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def forget_content(session: AsyncSession, job: Generation) -> None:
    """A job that failed or was cancelled keeps its state and error for its followers, not
    its content: the prompt is blanked and its partial images deleted (and SQLite's WAL
    truncated once committed)."""
    job.prompt = ""
    await session.execute(
        delete(JobEvent).where(JobEvent.generation_id == job.id, JobEvent.type == "partial_image")
    )
    uow.scrub_after_commit(session)


def finish(job: Generation, status: str, now: datetime, **values) -> None:
    job.status = status
    job.finished_at = now
    job.heartbeat_at = None
    for key, value in values.items():
        setattr(job, key, value)
