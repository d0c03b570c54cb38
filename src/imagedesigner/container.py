"""The one place that builds the service's parts from settings. The app's lifespan, the CLI and
the tests all use it, so they run the same code."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from imagedesigner.accounts import keycache
from imagedesigner.accounts.keycache import KeyCache
from imagedesigner.config import Settings
from imagedesigner.db.bulk import BulkInserter
from imagedesigner.db.engine import create_engine, sessionmaker
from imagedesigner.db.migrate import upgrade
from imagedesigner.generation.queue import QueueDispatcher, check_queue_settings
from imagedesigner.generation.runner import JobRunner
from imagedesigner.infra.notify import LocalNotifier, notifier_for
from imagedesigner.infra.requestlog import RequestLogWriter
from imagedesigner.kit.clock import Clock, SystemClock
from imagedesigner.providers.registry import ProviderRegistry
from imagedesigner.storage.base import BlobStore
from imagedesigner.storage.local import LocalBlobStore


def build_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        from imagedesigner.storage.s3 import S3BlobStore  # boto3 only when used

        return S3BlobStore.from_settings(settings)  # a clear error when the bucket is missing
    return LocalBlobStore(settings.resolved_blob_dir())


@dataclass
class Container:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker
    blobs: BlobStore
    registry: ProviderRegistry
    notifier: LocalNotifier
    runner: JobRunner  # heartbeats, the reaper, webhooks; runs the jobs unless queued
    dispatch: JobRunner | QueueDispatcher  # what starts a job: the runner, or the queue
    request_log: RequestLogWriter
    bulk: BulkInserter
    key_cache: KeyCache

    @classmethod
    async def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        registry: ProviderRegistry | None = None,
        blobs: BlobStore | None = None,
        migrate: bool = True,
    ) -> Container:
        clock = clock or SystemClock()
        check_queue_settings(settings)
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        blobs = blobs or build_blob_store(settings)  # before the database: fail fast
        engine = create_engine(settings.resolved_database_url())
        if migrate:
            await upgrade(engine)
        sessions = sessionmaker(engine)
        notifier = notifier_for(settings.storage_uri)
        parts = dict(sessions=sessions, blobs=blobs, settings=settings, clock=clock)
        bulk = BulkInserter(engine)  # the writes nobody waits for, in groups
        runner = JobRunner(**parts, notifier=notifier, bulk=bulk)
        queued = settings.job_queue == "procrastinate"
        dispatch = QueueDispatcher(**parts, notifier=notifier) if queued else runner
        return cls(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            blobs=blobs,
            registry=registry or ProviderRegistry.from_settings(settings),
            notifier=notifier,
            runner=runner,
            dispatch=dispatch,
            request_log=RequestLogWriter(bulk, settings.request_log_batch.total_seconds()),
            bulk=bulk,
            key_cache=KeyCache(settings.key_cache_ttl.total_seconds()),
        )

    async def start(self) -> None:
        """For a serving process: job notifications across instances, heartbeats, the reaper,
        and the key cache cleared when another instance changes an account or a key."""
        await self.notifier.start()
        await self.runner.start_background()
        self._tasks = [asyncio.create_task(self._follow_accounts(), name="imagedesigner-keys")]
        self.key_cache.announce = self._announce

    def _announce(self) -> None:
        task = asyncio.get_running_loop().create_task(self.notifier.publish(keycache.ANNOUNCE))
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _follow_accounts(self) -> None:
        async with self.notifier.subscribe(keycache.ANNOUNCE) as news:
            while True:
                await news.wait()
                news.clear()
                self.key_cache.clear()

    async def aclose(self) -> None:
        for task in list(getattr(self, "_tasks", [])):
            task.cancel()
        await self.request_log.aclose()
        if self.dispatch is not self.runner:
            await self.dispatch.aclose()
        await self.runner.aclose()
        await self.notifier.aclose()
        await self.registry.aclose()
        close_blobs = getattr(self.blobs, "aclose", None)  # optional: S3's connection pool
        if close_blobs is not None:
            await close_blobs()
        await self.bulk.aclose()
        await self.engine.dispose()
