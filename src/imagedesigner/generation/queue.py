"""Jobs on dedicated workers: procrastinate on the PostgreSQL the scaled stack already has.

With ``job_queue = "procrastinate"`` a web process does not run jobs. ``QueueDispatcher.enqueue``
(the same contract as ``JobRunner.enqueue``) seals the job's input (``sealed.py``) into the
blob store (its key in ``queued_inputs``), defers ``imagedesigner.run_job`` with nothing but
the job id, and follows the job through the database and the notifier until it is final.
``imagedesigner worker`` (``worker.py``) takes jobs off the queue and runs them with the same
``JobRunner`` (per-provider concurrency, progress, heartbeat, cancel), so followers, cancel
and the reaper work exactly as with in-process jobs.

A job is claimed once: the worker's claim and a cancel of a job nobody has claimed yet are both
conditional updates of the row, and only one of them can win.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from imagedesigner import errors
from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.db.models_jobs import QueuedInput
from imagedesigner.generation import jobs, sealed
from imagedesigner.generation.runner import Finished, JobRunner, Work
from imagedesigner.generation.service import Outcome, OutputImage
from imagedesigner.infra.notify import LocalNotifier
from imagedesigner.kit.clock import Clock
from imagedesigner.privacy.purge import purge
from imagedesigner.providers.base import GeneratedImage, ParamWarning
from imagedesigner.providers.registry import ProviderRegistry
from imagedesigner.storage.base import BlobStore, new_key

log = logging.getLogger("imagedesigner.queue")
TASK = "imagedesigner.run_job"
QUEUE = "imagedesigner"
SCHEMA_LOCK = 72_460_501  # pg_advisory_xact_lock: one instance applies the queue's schema
POLL = 1.0  # seconds: a follower re-reads the row this often even without a notification


def conninfo(database_url: str) -> str:
    """SQLAlchemy's URL (``postgresql+asyncpg://…``) as libpq's, for psycopg."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("job_queue = 'procrastinate' needs a PostgreSQL database_url")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def check_queue_settings(settings: Settings) -> None:
    """The queue needs the engines it runs on; say so at start-up, not at the first job."""
    if settings.job_queue != "procrastinate":
        return
    if make_url(settings.resolved_database_url()).get_backend_name() != "postgresql":
        raise ValueError(
            "IMAGEDESIGNER_JOB_QUEUE=procrastinate needs a PostgreSQL IMAGEDESIGNER_DATABASE_URL."
        )
    if not settings.storage_uri.startswith(("redis://", "rediss://")):
        raise ValueError(
            "IMAGEDESIGNER_JOB_QUEUE=procrastinate needs a Redis IMAGEDESIGNER_STORAGE_URI, so "
            "workers can tell the web instances about progress."
        )


def build_app(settings: Settings):
    import procrastinate  # only when configured

    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.resolved_database_url()), min_size=1, max_size=4
    )
    return procrastinate.App(connector=connector)


async def ensure_schema(settings: Settings) -> None:
    """procrastinate's tables, once per database (the first instance to start applies them)."""
    import psycopg
    from procrastinate.schema import SchemaManager

    sql = SchemaManager.get_schema()
    info = conninfo(settings.resolved_database_url())
    async with await psycopg.AsyncConnection.connect(info) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        row = await (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
        if row is None or row[0] is None:
            await conn.execute(sql)
            log.info("job queue schema applied")


def _error(data: dict | None) -> errors.DomainError:
    data = data or {}
    kind = {
        "authentication_error": errors.AuthenticationFailed,
        "permission_error": errors.PermissionDenied,
        "not_found_error": errors.NotFound,
        "rate_limit_error": errors.RateLimited,
    }.get(data.get("type") or "", errors.InvalidRequest)
    exc: errors.DomainError = kind(data.get("message") or "The generation failed.")
    if data.get("type") == "api_error":
        exc = errors.UpstreamError(exc.message)
        exc.status = {"internal_error": 500, "interrupted": 503, "upstream_timeout": 504}.get(
            data.get("code") or "", 502
        )
    exc.param, exc.code = data.get("param"), data.get("code") or exc.code
    return exc


async def load_outcome(
    sessions: async_sessionmaker, blobs: BlobStore, job_id: str, work: Work
) -> Finished:
    """A final job as the in-process runner would have returned it."""
    async with sessions() as session:
        job = await session.get(Generation, job_id)
        if job is None or job.status == "cancelled":
            return Finished("cancelled")
        if job.status == "failed":
            return Finished("failed", error=_error(job.error))
        rows = (
            await session.execute(
                select(StoredImage)
                .where(StoredImage.generation_id == job_id)
                .order_by(StoredImage.created_at, StoredImage.id)
            )
        ).scalars()
        revised = (job.result or {}).get("revised_prompts") or []
        outputs = []
        for i, row in enumerate(rows):
            data = await blobs.get(row.blob_key)
            if data is None:
                continue
            text = revised[i] if i < len(revised) else None
            image = GeneratedImage(data, row.media_type, row.width, row.height, text)
            outputs.append(OutputImage(image, row.id if work.store_outputs else None))
        if not work.store_outputs:  # stored only to cross from the worker: delivered now
            await _drop_outputs(session, blobs, job)
        warnings = [ParamWarning(w["param"], w["type"], w["message"]) for w in job.warnings or []]
        usage = (job.result or {}).get("usage")
        created, expires = job.finished_at or job.created_at, job.expires_at
    if not outputs:
        return Finished("failed", error=errors.UpstreamError("The images were not found."))
    outcome = Outcome(job_id, created, expires, work.resolved.model, outputs, warnings, usage)
    return Finished("succeeded", outcome=outcome)


async def _drop_outputs(session, blobs: BlobStore, job: Generation) -> None:
    rows = list(
        (await session.execute(select(StoredImage).where(StoredImage.generation_id == job.id)))
        .scalars()
        .all()
    )
    for row in rows:
        await session.delete(row)
    job.result = {**(job.result or {}), "stored": False}
    keys = [row.blob_key for row in rows]
    uow.after_commit(session, lambda: _delete(blobs, keys))
    uow.scrub_after_commit(session)
    await uow.commit(session)


async def _delete(blobs: BlobStore, keys: list[str]) -> None:
    for key in keys:
        await blobs.delete(key)


class QueueDispatcher:
    """The web side: hands jobs to the queue and follows them."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker,
        blobs: BlobStore,
        clock: Clock,
        notifier: LocalNotifier,
    ) -> None:
        self.settings, self.sessions, self.blobs = settings, sessions, blobs
        self.clock, self.notifier = clock, notifier
        self.app = build_app(settings)
        self.tasks: dict[str, asyncio.Task[Finished]] = {}
        self._open = False

    async def open(self) -> None:
        if not self._open:
            await ensure_schema(self.settings)
            await self.app.open_async()
            self._open = True

    async def aclose(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        if self._open:
            await self.app.close_async()
            self._open = False

    async def enqueue(self, work: Work, *, follow: bool = True) -> asyncio.Future[Finished]:
        """Put the job on the queue (raises ``ServiceUnavailable`` if it cannot be queued,
        keeping nothing); with ``follow`` the returned task ends with the job's outcome (a
        sync request or a stream), without it at once (``Prefer: respond-async``)."""
        try:
            await self._put_input(work)
            await self.open()
            await self.app.configure_task(TASK, queue=QUEUE).defer_async(job_id=work.job_id)
        except Exception as exc:
            await asyncio.shield(self._drop_input(work.job_id))
            log.error("job not queued: %s", type(exc).__name__)
            raise errors.ServiceUnavailable(
                "The job queue is unavailable right now; nothing was kept. Try again shortly.",
                code="queue_unavailable",
            ) from None
        if not follow:
            done: asyncio.Future[Finished] = asyncio.get_running_loop().create_future()
            done.set_result(Finished("queued"))
            return done
        task = asyncio.create_task(self._follow(work), name=f"job-{work.job_id}")
        self.tasks[work.job_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(work.job_id, None))
        return task

    async def _put_input(self, work: Work) -> None:
        now = self.clock.now()
        key = new_key(now)  # a crash before the row leaves an orphan the sweeper removes
        box = sealed.seal(
            self.settings.resolved_secret(),
            work.job_id,
            sealed.QueuedInput(work.resolved.model.id, work.inp),
        )
        await self.blobs.put(key, box)
        async with self.sessions() as session:
            session.add(
                QueuedInput(
                    generation_id=work.job_id,
                    user_id=work.user_id,
                    blob_key=key,
                    created_at=now,
                    expires_at=now + self.settings.content_ttl,
                )
            )
            uow.on_failure(session, lambda: self.blobs.delete(key))
            await uow.commit(session)

    async def _drop_input(self, job_id: str) -> None:
        async with self.sessions() as session:
            await purge(session, self.blobs, "queued_inputs", [job_id])
            await uow.commit(session)

    def cancel_local(self, job_id: str) -> bool:
        return False  # it runs on a worker, which sees the request at its next heartbeat

    async def _follow(self, work: Work) -> Finished:
        try:
            await self._wait(work.job_id)
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel(work.job_id))
            raise
        return await asyncio.shield(load_outcome(self.sessions, self.blobs, work.job_id, work))

    async def _wait(self, job_id: str) -> None:
        async with self.notifier.subscribe(job_id) as news:
            while True:
                news.clear()
                async with self.sessions() as session:
                    status = (
                        await session.execute(
                            select(Generation.status).where(Generation.id == job_id)
                        )
                    ).scalar_one_or_none()
                if status is None or status in jobs.FINAL:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(news.wait(), timeout=POLL)

    async def _cancel(self, job_id: str) -> None:
        """The caller left: a job nobody has claimed ends here; a running one on its worker."""
        async with self.sessions() as session:
            job = await session.get(Generation, job_id)
            now, ttl = self.clock.now(), self.settings.content_ttl
            if job is not None and await cancel_unclaimed(session, self.blobs, job, now, ttl):
                await uow.commit(session)
            elif job is not None and await jobs.request_cancel(session, job):
                await uow.commit(session)
        await self.notifier.publish(job_id)


async def cancel_unclaimed(session, blobs: BlobStore, job: Generation, now, ttl) -> bool:
    """Cancel a queued job no worker has claimed yet (False if one has, or it is final)."""
    if not await jobs.claim(session, job.id, None, now):
        return False
    await session.refresh(job)
    await purge(session, blobs, "queued_inputs", [job.id])
    await jobs.forget_content(session, job)
    await jobs.add_event(session, job, "cancelled", {}, now, ttl)
    return True


async def run_claimed(
    runner: JobRunner,
    registry: ProviderRegistry,
    blobs: BlobStore,
    settings: Settings,
    job_id: str,
) -> None:
    """The worker side of one job: claim it, read its sealed input into memory and delete it
    from rest (in the claim's transaction), then run it like any job."""
    now, ttl = runner.clock.now(), settings.content_ttl
    box: bytes | None = None
    async with runner.sessions() as session:
        job = await session.get(Generation, job_id)
        if job is not None and job.cancel_requested:  # cancelled while it waited
            await cancel_unclaimed(session, blobs, job, now, ttl)
            job = None
        elif job is not None and not await jobs.claim(session, job_id, runner.instance_id, now):
            job = None  # final, or claimed already
        if job is not None:
            row = await session.get(QueuedInput, job_id)
            box = await blobs.get(row.blob_key) if row is not None else None
            await purge(session, blobs, "queued_inputs", [job_id])
        await uow.commit(session)
    await runner.notifier.publish(job_id)
    if job is None:
        return  # cancelled, expired or erased before a worker got to it
    try:
        if box is None:
            raise sealed.SealBroken("missing")
        queued = sealed.unseal(settings.resolved_secret(), job_id, box)
        resolved = registry.resolve(queued.model_id)
    except (sealed.SealBroken, errors.DomainError) as exc:
        log.warning("queued job not runnable: %s", type(exc).__name__)
        await runner.fail_unrunnable(job_id)
        return
    del box
    await runner.start(Work(job_id, job.user_id, resolved, queued.inp, store_outputs=True))
