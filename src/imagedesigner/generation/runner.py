"""Runs jobs in this process: bounded concurrency per provider, progress written as job events,
cancellation that reaches the provider, and a heartbeat so other instances can tell a dead
runner's jobs apart (the reaper marks them ``failed`` with code ``interrupted``).

The uploads of an edit live only in this process's memory (the task's ``Work``), never at rest.
Followers are woken through the notifier (in-process, or Redis pub/sub across instances).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from imagedesigner import errors, webhooks
from imagedesigner.config import Settings
from imagedesigner.db import uow
from imagedesigner.db.bulk import BulkInserter
from imagedesigner.db.engine import is_lock_timeout
from imagedesigner.db.models import Generation
from imagedesigner.db.writebehind import WriteBehind
from imagedesigner.generation import jobs, service
from imagedesigner.generation.normalize import GenerationInput, Plan
from imagedesigner.infra.notify import LocalNotifier
from imagedesigner.kit.clock import Clock
from imagedesigner.providers.registry import Resolved
from imagedesigner.storage.base import BlobStore

log = logging.getLogger("imagedesigner.jobs")
INTERRUPTED = {
    "message": "The generation was interrupted: the server running it stopped. Nothing was "
    "kept; start it again.",
    "type": "api_error",
    "param": None,
    "code": "interrupted",
}


@dataclass
class Work:
    """What a job needs besides its row: the resolved model and the input, uploads included
    (memory only)."""

    job_id: str
    user_id: str
    resolved: Resolved
    inp: GenerationInput
    store_outputs: bool
    # A sync request's job that nobody else can see yet (its id is in no answer until the
    # result): written once, with its result, when it succeeds; nothing at all otherwise.
    quiet_row: Generation | None = None
    planned: Plan | None = None  # the plan the request was checked with, if it made one


@dataclass
class Finished:
    status: str
    outcome: service.Outcome | None = None
    error: errors.DomainError | None = None


def error_dict(exc: errors.DomainError) -> dict:
    return {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}


def _internal() -> errors.DomainError:
    internal = errors.DomainError("Internal server error.", code="internal_error")
    internal.status, internal.type = 500, "api_error"
    return internal


def _busy() -> errors.DomainError:
    return errors.DatabaseBusy(
        "The database was busy and nothing was saved; try again in a few seconds.",
        headers={"Retry-After": "5"},
    )


def _instance_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


class JobRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker,
        blobs: BlobStore,
        settings: Settings,
        clock: Clock,
        notifier: LocalNotifier,
        bulk: BulkInserter | None = None,
    ) -> None:
        self.sessions = sessions
        # sync jobs whose images are not kept: their rows go in groups, after the answer
        bulk = bulk or BulkInserter(sessions.kw["bind"])
        self.history = WriteBehind(bulk, settings.history_write_batch.total_seconds())
        self.blobs = blobs
        self.settings = settings
        self.clock = clock
        self.notifier = notifier
        self.instance_id = _instance_id()
        self.tasks: dict[str, asyncio.Task[Finished]] = {}
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._waiting: dict[str, list[str]] = defaultdict(list)
        self._loops: list[asyncio.Task] = []
        self._writing: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one job, one writer
        self._quiet: set[str] = set()  # running quiet jobs: no row to beat for or reap
        # webhooks of finished jobs: enqueued with the final state, sent by a sibling loop
        self.deliverer = webhooks.Deliverer(sessions=sessions, settings=settings, clock=clock)

    # --- running --------------------------------------------------------------------------
    def _gate(self, provider: str) -> asyncio.Semaphore:
        if provider not in self._gates:
            limits = self.settings.job_concurrency
            size = limits.get(provider, limits.get("default", 256))
            self._gates[provider] = asyncio.Semaphore(max(1, size))
        return self._gates[provider]

    async def enqueue(self, work: Work, *, follow: bool = True) -> asyncio.Task[Finished]:
        """Run the job in this process (the same contract as the queue's dispatcher)."""
        return self.start(work)

    def start(self, work: Work) -> asyncio.Task[Finished]:
        run = self._run_quiet(work) if work.quiet_row is not None else self._run(work)
        task = asyncio.create_task(run, name=f"job-{work.job_id}")
        self.tasks[work.job_id] = task
        task.add_done_callback(lambda _t: self._done(work.job_id))
        return task

    def _done(self, job_id: str) -> None:
        self.tasks.pop(job_id, None)
        self._writing.pop(job_id, None)
        self._quiet.discard(job_id)

    async def _run_quiet(self, work: Work) -> Finished:
        """A sync request's job: the provider call under the same per-provider bound, then
        one transaction with the row, its result and its one event (images not kept: the row
        alone, written behind)."""
        self._quiet.add(work.job_id)
        try:
            async with self._gate(work.resolved.model.provider):
                produced = await self._produce(work, progress=None)
            if not work.store_outputs:  # nothing to keep but the row: written behind
                return await self._write_behind(work, produced)
            return await asyncio.shield(self._store(work, produced))
        except errors.DomainError as exc:
            return Finished("failed", error=exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("job failed: %s", type(exc).__name__)  # the type only: no content
            return Finished("failed", error=_busy() if is_lock_timeout(exc) else _internal())

    async def _write_behind(self, work: Work, produced: service.Produced) -> Finished:
        now, job = self.clock.now(), work.quiet_row
        assert job is not None  # noqa: S101 - only quiet jobs come here
        job.started_at = job.created_at
        outcome = service.unstored_outcome(job, work.resolved.model, produced, now)
        # the row alone: its one event, completed, is implied by it (jobs.implied_events)
        await self.history.add([job])
        return Finished("succeeded", outcome=outcome)

    def _produce(self, work: Work, progress) -> Awaitable[service.Produced]:
        return service.produce(
            self.settings,
            work.resolved,
            work.inp,
            safety_id=service.safety_identifier(self.settings.resolved_secret(), work.user_id),
            progress=progress,
            planned=work.planned,
        )

    async def _run(self, work: Work) -> Finished:
        provider = work.resolved.model.provider
        gate, queue = self._gate(provider), self._waiting[provider]
        queue.append(work.job_id)
        try:
            if gate.locked():
                await self._progress(work, {"stage": "queued", "position": len(queue)})
            async with gate:
                queue.remove(work.job_id)
                await self._set(work, "running", {"stage": "running"}, started=True)
                produced = await self._produce(
                    work, progress=lambda event: self._progress(work, event)
                )
                return await self._succeed(work, produced)
        except asyncio.CancelledError:
            await asyncio.shield(self._end(work.job_id, "cancelled", None))
            raise
        except errors.DomainError as exc:
            await self._end(work.job_id, "failed", error_dict(exc))
            return Finished("failed", error=exc)
        except Exception as exc:
            log.error("job failed: %s", type(exc).__name__)  # the type only: no content
            internal = _busy() if is_lock_timeout(exc) else _internal()
            await self._end(work.job_id, "failed", error_dict(internal))
            return Finished("failed", error=internal)
        finally:
            if work.job_id in queue:
                queue.remove(work.job_id)

    # Bookkeeping is shielded: a cancel stops the provider call, never a write half way
    # (an interrupted write could leave a connection holding SQLite's lock).
    async def _succeed(self, work: Work, produced: service.Produced) -> Finished:
        return await asyncio.shield(self._store(work, produced))

    async def _set(self, work: Work, status: str, progress: dict, *, started: bool) -> None:
        await asyncio.shield(self._write_state(work, status, progress, started))

    async def _progress(self, work: Work, event: dict) -> None:
        """A provider's progress report (or our own queue position) as a job event."""
        await asyncio.shield(self._write_progress(work, event))

    async def _store(self, work: Work, produced: service.Produced) -> Finished:
        now = self.clock.now()
        async with self._writing[work.job_id], self.sessions() as session:
            if work.quiet_row is not None:
                job = work.quiet_row
                job.started_at, job.runner, job.heartbeat_at = job.created_at, None, None
                session.add(job)
            else:
                job = await session.get(Generation, work.job_id)
            if job is None:  # erased or deleted while it ran: keep nothing
                return Finished("cancelled")
            outcome = await service.store_result(
                session,
                self.blobs,
                now,
                job,
                work.resolved.model,
                produced,
                store_outputs=work.store_outputs,
            )
            await jobs.add_event(
                session,
                job,
                "completed",
                {"images": len(outcome.outputs)},
                now,
                self._ttl,
                seq=1 if work.quiet_row is not None else None,
            )
            hook = await webhooks.enqueue(session, job, now, self.settings)
            await uow.commit(session)
        await self.notifier.publish(work.job_id)
        if hook is not None:
            self.deliverer.wake()
        return Finished("succeeded", outcome=outcome)

    @property
    def _ttl(self):
        return self.settings.content_ttl

    async def _write_state(self, work: Work, status: str, progress: dict, started: bool) -> None:
        now = self.clock.now()
        async with self._writing[work.job_id], self.sessions() as session:
            job = await session.get(Generation, work.job_id)
            if job is None:
                raise asyncio.CancelledError
            job.status = status
            job.progress = progress
            job.runner, job.heartbeat_at = self.instance_id, now
            if started:
                job.started_at = now
            await jobs.add_event(session, job, "progress", progress, now, self._ttl)
            await uow.commit(session)
        await self.notifier.publish(work.job_id)

    async def _write_progress(self, work: Work, event: dict) -> None:
        now = self.clock.now()
        partial = event.get("stage") == "partial_image"
        data = dict(event)
        async with self._writing[work.job_id], self.sessions() as session:
            job = await session.get(Generation, work.job_id)
            if job is None:
                return
            if not partial:
                job.progress = {**data, "percent": data.get("percent")}
            await jobs.add_event(
                session, job, "partial_image" if partial else "progress", data, now, self._ttl
            )
            await uow.commit(session)
        await self.notifier.publish(work.job_id)

    async def fail_unrunnable(self, job_id: str) -> None:
        """A claimed job whose input cannot be opened (another secret, a lost blob)."""
        await self._end(job_id, "failed", error_dict(_internal()))

    async def _end(self, job_id: str, status: str, error: dict | None) -> None:
        now = self.clock.now()
        hook = None
        try:
            async with self._writing[job_id], self.sessions() as session:
                job = await session.get(Generation, job_id)
                if job is not None and job.status not in jobs.FINAL:
                    jobs.finish(job, status, now, error=error)
                    await jobs.forget_content(session, job)
                    await jobs.add_event(
                        session, job, "failed" if error else status, error or {}, now, self._ttl
                    )
                    hook = await webhooks.enqueue(session, job, now, self.settings)
                    await uow.commit(session)
        except Exception as exc:  # noqa: BLE001 - the reaper finishes it later
            log.warning("job state not recorded: %s", type(exc).__name__)
            hook = None
        await self.notifier.publish(job_id)
        if hook is not None:
            self.deliverer.wake()

    # --- cancel, heartbeat, reaper -----------------------------------------------------------
    def cancel_local(self, job_id: str) -> bool:
        task = self.tasks.get(job_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def _beat(self) -> None:
        """Heartbeat for this runner's jobs; stop the ones whose owner asked to cancel."""
        ids = [job_id for job_id in self.tasks if job_id not in self._quiet]
        if not ids:
            return
        now = self.clock.now()
        async with self.sessions() as session:
            await session.execute(
                update(Generation)
                .where(Generation.id.in_(ids), Generation.status.in_(jobs.ACTIVE))
                .values(heartbeat_at=now, runner=self.instance_id)
            )
            wanted = (
                await session.execute(
                    select(Generation.id).where(
                        Generation.id.in_(ids), Generation.cancel_requested.is_(True)
                    )
                )
            ).scalars()
            cancel = list(wanted)
            await uow.commit(session)
        for job_id in cancel:
            self.cancel_local(job_id)

    async def reap(self) -> int:
        """Jobs whose runner went silent (killed instance): failed, ``interrupted``."""
        now = self.clock.now()
        cutoff = now - self.settings.job_stale_after
        async with self.sessions() as session:
            stale = list(
                (
                    await session.execute(
                        select(Generation).where(
                            Generation.status.in_(jobs.ACTIVE),
                            Generation.heartbeat_at < cutoff,
                        )
                    )
                ).scalars()
            )
            stale = [job for job in stale if job.id not in self.tasks]
            hooks = 0
            for job in stale:
                jobs.finish(job, "failed", now, error=INTERRUPTED)
                await jobs.forget_content(session, job)
                await jobs.add_event(session, job, "failed", INTERRUPTED, now, self._ttl)
                hooks += await webhooks.enqueue(session, job, now, self.settings) is not None
            await uow.commit(session)
        for job in stale:
            await self.notifier.publish(job.id)
        if hooks:
            self.deliverer.wake()
        return len(stale)

    async def _loop(self) -> None:
        interval = self.settings.job_heartbeat_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                await self._beat()
                await self.reap()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep beating
                log.warning("job heartbeat failed: %s", type(exc).__name__)

    async def start_background(self) -> None:
        if not self._loops:
            self._loops.append(asyncio.create_task(self._loop(), name="imagedesigner-jobs"))
        self.deliverer.start()

    async def aclose(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in list(self.tasks.values()):
            task.cancel()
        pending = [*self._loops, *self.tasks.values()]
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loops.clear()
        await self.history.aclose()
        await self.deliverer.aclose()  # pending deliveries stay due; any instance sends them
