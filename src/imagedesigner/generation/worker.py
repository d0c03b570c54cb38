"""``imagedesigner worker``: a dedicated process that runs queued jobs (procrastinate).

It builds the same container as a web process (settings, database, blobs, providers, the job
runner with its heartbeat, reaper and webhook delivery) and runs procrastinate's worker on the
``imagedesigner`` queue. procrastinate keeps only the job's id and its sealed input's key, and
deletes its own row when the task ends (``delete_jobs="always"``); a job is never retried: a
worker that dies leaves its jobs to the reaper, which fails them as ``interrupted``.
"""

from __future__ import annotations

from imagedesigner.config import Settings
from imagedesigner.generation.queue import QUEUE, TASK, build_app, ensure_schema, run_claimed
from imagedesigner.generation.runner import JobRunner
from imagedesigner.providers.registry import ProviderRegistry
from imagedesigner.storage.base import BlobStore


async def serve_worker(
    runner: JobRunner,
    registry: ProviderRegistry,
    blobs: BlobStore,
    settings: Settings,
    concurrency: int,
    *,
    signals: bool = True,
) -> None:
    """Runs until stopped (SIGTERM/SIGINT with ``signals``, or cancelled)."""
    await ensure_schema(settings)
    app = build_app(settings)

    @app.task(name=TASK, queue=QUEUE)
    async def run_job(job_id: str) -> None:
        await run_claimed(runner, registry, blobs, settings, job_id)

    async with app.open_async():
        await app.run_worker_async(
            queues=[QUEUE],
            concurrency=max(1, concurrency),
            delete_jobs="always",
            install_signal_handlers=signals,
            name=runner.instance_id,
        )
