"""The CLI's one settings load and one runner.

``load()`` reads the settings once per invocation (the app's callback calls it); every command
that needs the service's parts runs through :func:`run`: one container, one database session,
one commit when the command succeeded. A domain error is printed as one line and exits 2."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.errors import DomainError

T = TypeVar("T")
_settings: Settings | None = None


def load() -> Settings:
    global _settings
    _settings = Settings()
    return _settings


def settings() -> Settings:
    return _settings if _settings is not None else load()


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def run_async(coro: Awaitable[T]) -> T:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except DomainError as exc:
        raise fail(exc.message) from None
    except ValueError as exc:  # settings that cannot work together, found at start-up
        raise fail(str(exc)) from None


def run(fn: Callable[[Container, AsyncSession], Awaitable[T]]) -> T:
    """``fn(container, session)`` as one unit of work."""

    async def go() -> T:
        c = await Container.build(settings())
        try:
            async with c.sessions() as session:
                try:
                    result = await fn(c, session)
                    await uow.commit(session)
                    return result
                finally:
                    await uow.discard(session)
        finally:
            await c.aclose()

    return run_async(go())
