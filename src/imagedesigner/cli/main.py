"""The ``imagedesigner`` command. A thin shell over the same container the server uses."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from imagedesigner.cli import accounts as accounts_cli
from imagedesigner.cli import runtime
from imagedesigner.cli import staff as staff_cli
from imagedesigner.cli.runtime import run, run_async
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.infra.notify import shared_across_processes

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ImageDesigner service CLI.")
app.add_typer(accounts_cli.users, name="users")
app.add_typer(accounts_cli.keys, name="keys")
staff_cli.register(app, accounts_cli.users)  # rights, holds, audit, records


@app.callback()
def _load_settings() -> None:
    """ImageDesigner service CLI."""
    runtime.load()  # once per invocation; every command reads runtime.settings()


async def _count_users(c, session) -> int:
    from sqlalchemy import func, select

    from imagedesigner.db.models import User

    return (await session.execute(select(func.count()).select_from(User))).scalar_one()


@contextlib.contextmanager
def _multiprocess_metrics(workers: int) -> Iterator[None]:
    """Several workers: prometheus-client's multiprocess mode in a fresh folder, so a scrape of
    any worker adds up all of them (docs/metrics.md). The workers inherit the variable."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="imagedesigner-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def several_workers_problem(settings: Settings, workers: int) -> str | None:
    """What ``serve --workers N`` (N > 1) lacks, if anything. The processes share only the
    engines: PostgreSQL for the data, Redis for the rate-limit budgets and for the
    notifications (job wake-ups, and the key cache cleared on every worker when an account or a
    key changes). With in-process storage each worker would allow the whole limit on its own,
    and a key revoked through one worker would still open the others until their cache expires."""
    if workers <= 1:
        return None
    if not settings.resolved_database_url().startswith("postgresql"):
        return (
            "--workers above 1 needs a shared database: set IMAGEDESIGNER_DATABASE_URL to "
            "PostgreSQL, and IMAGEDESIGNER_STORAGE_URI to Redis."
        )
    if not shared_across_processes(settings.storage_uri):
        return (
            "--workers above 1 needs Redis: set IMAGEDESIGNER_STORAGE_URI=redis://host:6379/0 "
            "(rate limits shared by the workers; a revoked key or a changed account reaches "
            "every worker at once, and so do job events)."
        )
    return None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[
        int, typer.Option(help="Processes serving the port (one per core; several need PostgreSQL)")
    ] = 1,
) -> None:
    """Run the web service (uvicorn) with the in-process job runner and sweeper."""
    import uvicorn

    from imagedesigner.app import create_app

    settings = runtime.settings()
    if problem := several_workers_problem(settings, workers):
        raise runtime.fail(problem)  # before any connection: a plain error
    host = host or settings.host
    port = port or settings.port
    users = run(_count_users)
    typer.echo(f"ImageDesigner on http://{host}:{port}  (data folder: {settings.data_dir})")
    if users == 0:
        typer.echo("No users yet. Create one and an API key:")
        typer.echo("  imagedesigner users create --email you@example.com --password-stdin")
        typer.echo("  imagedesigner keys create --email you@example.com")
    from imagedesigner.infra import logging as log_hygiene

    # redacting formatter, no access log (request_logs replaces it), tracebacks without messages
    log_config = log_hygiene.configure("INFO")
    from imagedesigner.privacy.policy import operator_warning

    if warning := operator_warning(settings, host):
        logging.getLogger("imagedesigner.serve").warning(warning)
    with _multiprocess_metrics(workers):
        uvicorn.run(
            create_app(settings) if workers == 1 else "imagedesigner.app:create_app",
            factory=workers > 1,  # each worker process builds its app from the same settings
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            loop="uvloop",  # pinned dependencies: libuv's loop and the httptools parser
            http="httptools",
            access_log=False,
            log_config=log_config,
            proxy_headers=False,  # client IPs come from privacy/clientip.py and trusted_proxies only
        )


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs at once (default: IMAGEDESIGNER_WORKER_CONCURRENCY)")
    ] = None,
) -> None:
    """Run jobs from the queue (IMAGEDESIGNER_JOB_QUEUE=procrastinate), apart from the web
    processes. Stops gracefully on SIGTERM or Ctrl+C: running jobs finish first."""
    from imagedesigner.generation.queue import check_queue_settings
    from imagedesigner.generation.worker import serve_worker
    from imagedesigner.infra import logging as log_hygiene
    from imagedesigner.infra import memory

    settings = runtime.settings()
    if settings.job_queue != "procrastinate":
        raise runtime.fail(
            "imagedesigner worker runs queued jobs: set IMAGEDESIGNER_JOB_QUEUE=procrastinate "
            "(with PostgreSQL and Redis) for the web processes and the workers alike."
        )
    try:
        check_queue_settings(settings)  # before logging is set up: a plain error, no traceback
    except ValueError as exc:
        raise runtime.fail(str(exc)) from None
    log_hygiene.configure("INFO")
    size = concurrency or settings.worker_concurrency
    typer.echo(f"ImageDesigner worker: up to {size} jobs at once")

    async def go() -> None:
        c = await Container.build(settings)
        try:
            await c.start()  # heartbeats, the reaper, webhook delivery
            async with memory.serving(settings):  # GC thresholds, freed heap given back
                await serve_worker(c.runner, c.registry, c.blobs, settings, size)
        finally:
            await c.aclose()

    runtime.run_async(go())


@app.command()
def generate(
    prompt: str,
    model: Annotated[str, typer.Option(help="Model id")] = "local/sketch",
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT")] = "1024x1024",
    seed: Annotated[int | None, typer.Option(help="Seed (same seed, same picture)")] = None,
    n: Annotated[int, typer.Option("-n", help="How many images")] = 1,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file")] = Path("out.png"),
) -> None:
    """Generate in process through the same generation service as the API (no server, no
    database; offline with local/sketch). With -n 3 and -o out.png: out-1.png ... out-3.png."""
    from imagedesigner.generation.normalize import GenerationInput
    from imagedesigner.generation.service import produce
    from imagedesigner.providers.registry import ProviderRegistry

    settings = runtime.settings()
    fmt = {".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}.get(output.suffix.lower(), "png")

    async def go():
        registry = ProviderRegistry.from_settings(settings)
        try:
            inp = GenerationInput(prompt=prompt, n=n, size=size, seed=seed, output_format=fmt)
            return await produce(settings, registry.resolve(model), inp)
        finally:
            await registry.aclose()

    produced = run_async(go())
    for w in produced.warnings:
        typer.echo(f"warning: {w.param}: {w.message}", err=True)
    images = produced.images
    for i, image in enumerate(images, start=1):
        path = output if len(images) == 1 else output.with_stem(f"{output.stem}-{i}")
        path.write_bytes(image.data)
        typer.echo(f"wrote {path} ({len(image.data)} bytes)")


@app.command()
def sweep() -> None:
    """Delete expired content, orphaned blobs and old logs now."""
    from imagedesigner.retention.sweeper import sweep as do_sweep

    async def go(c, session) -> dict:
        return await do_sweep(c)

    typer.echo(json.dumps(run(go), sort_keys=True))


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List models, their provider and whether they are available."""
    from imagedesigner.providers.registry import ProviderRegistry

    registry = ProviderRegistry.from_settings(runtime.settings())
    entries = [
        {
            "id": m.id,
            "provider": m.provider,
            "subprocessor": m.subprocessor,
            "kind": m.kind,
            "available": available,
            "capabilities": m.capabilities.as_dict(),
        }
        for m, available in registry.models()
    ]
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        state = "available" if e["available"] else "unavailable (no key)"
        typer.echo(f"{e['id']:<40} {e['provider']:<11} {state:<22} {e['kind']}")


@app.command()
def migrate() -> None:
    """Apply database migrations (serve does this at start-up too)."""

    async def go(c, session) -> None:
        return None

    run(go)  # building the container applies the migrations
    typer.echo("database is up to date")


def main() -> None:  # pragma: no cover
    app(prog_name="imagedesigner")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
