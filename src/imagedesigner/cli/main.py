"""The ``imagedesigner`` command. A thin shell over the same container the server uses."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from imagedesigner.cli import accounts as accounts_cli
from imagedesigner.cli import staff as staff_cli
from imagedesigner.config import Settings
from imagedesigner.container import Container

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ImageDesigner service CLI.")
app.add_typer(accounts_cli.users, name="users")
app.add_typer(accounts_cli.keys, name="keys")
staff_cli.register(app, accounts_cli.users)  # rights, holds, audit, records


def run(coro):
    return asyncio.run(coro)


async def _count_users(c: Container) -> int:
    from sqlalchemy import func, select

    from imagedesigner.db.models import User

    async with c.sessions() as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Run the web service (uvicorn) with the in-process sweeper."""
    import uvicorn

    from imagedesigner.app import create_app

    settings = Settings()
    host = host or settings.host
    port = port or settings.port

    async def prepare() -> int:
        c = await Container.build(settings)
        try:
            return await _count_users(c)
        finally:
            await c.aclose()

    users = run(prepare())
    typer.echo(f"ImageDesigner on http://{host}:{port}  (data folder: {settings.data_dir})")
    if users == 0:
        typer.echo("No users yet. Create one and an API key:")
        typer.echo("  imagedesigner users create --email you@example.com --password-stdin")
        typer.echo("  imagedesigner keys create --email you@example.com")
    from imagedesigner.privacy import logging as log_hygiene

    # redacting formatter, no access log (request_logs replaces it), tracebacks without messages
    log_config = log_hygiene.configure("INFO")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        log_config=log_config,
        proxy_headers=False,  # client IPs come from privacy/clientip.py and trusted_proxies only
    )


@app.command()
def generate(
    prompt: str,
    model: Annotated[str, typer.Option(help="Model id")] = "local/sketch",
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT")] = "1024x1024",
    seed: Annotated[int | None, typer.Option(help="Seed (same seed, same picture)")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file")] = Path("out.png"),
) -> None:
    """Generate one image in process (no server, no database; offline with local/sketch)."""
    from imagedesigner.generation.normalize import GenerationInput, plan
    from imagedesigner.providers.registry import ProviderRegistry

    settings = Settings()
    fmt = {".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}.get(output.suffix.lower(), "png")

    async def go() -> bytes:
        registry = ProviderRegistry.from_settings(settings)
        try:
            resolved = registry.resolve(model)
            the_plan = plan(
                GenerationInput(prompt=prompt, size=size, seed=seed, output_format=fmt),
                resolved.model,
                strict=settings.strict_parameters,
                max_prompt=settings.max_prompt_chars,
            )
            for w in the_plan.warnings:
                typer.echo(f"warning: {w.param}: {w.message}", err=True)
            result = await resolved.provider.generate(resolved.model, the_plan.calls[0])
            return result.images[0].data
        finally:
            await registry.aclose()

    from imagedesigner.errors import DomainError

    try:
        data = run(go())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data)} bytes)")


@app.command()
def sweep() -> None:
    """Delete expired content, orphaned blobs and old logs now."""
    from imagedesigner.retention.sweeper import sweep as do_sweep

    async def go() -> dict:
        c = await Container.build(Settings())
        try:
            return await do_sweep(c)
        finally:
            await c.aclose()

    typer.echo(json.dumps(run(go()), sort_keys=True))


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List models, their provider and whether they are available."""
    from imagedesigner.api.models import describe
    from imagedesigner.providers.registry import ProviderRegistry

    registry = ProviderRegistry.from_settings(Settings())
    entries = [describe(m, a) for m, a in registry.models()]
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        state = "available" if e["available"] else "unavailable (no key)"
        typer.echo(f"{e['id']:<40} {e['provider']:<11} {state:<22} {e['kind']}")


@app.command()
def migrate() -> None:
    """Apply database migrations (serve does this at start-up too)."""

    async def go() -> None:
        c = await Container.build(Settings())
        await c.aclose()

    run(go())
    typer.echo("database is up to date")


def main() -> None:  # pragma: no cover
    app(prog_name="imagedesigner")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
