"""Shared fixtures: a fake clock, a temporary data folder, the local provider only, and an
in-process HTTP client over ASGI. Tests move time with ``clock.advance`` instead of sleeping."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from imagedesigner.accounts import service as accounts
from imagedesigner.app import create_app
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.kit.clock import FrozenClock
from imagedesigner.providers.registry import ProviderRegistry

NO_KEYS = {"openai_api_key": None, "openrouter_api_key": None, "fal_key": None}
# When set, every test's database is this PostgreSQL database (schema reset per test) instead of
# SQLite in the test's data folder: scripts/test runs the suite a second time this way in CI.
TEST_DATABASE_URL = os.environ.get("IMAGEDESIGNER_TEST_DATABASE_URL")


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = {
        "data_dir": data_dir,
        "secret_key": "test-secret",
        "rate_limit": "10000/minute",
        "database_url": TEST_DATABASE_URL,
        **NO_KEYS,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def run_in_thread(coro):
    """Run a coroutine to completion from sync code, even where an event loop is already
    running in this thread (async tests, Playwright's sync API)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(autouse=True)
def _postgres_per_test(monkeypatch):
    """On the PostgreSQL pass: an empty schema for every test, and the CLI pointed at it too."""
    if TEST_DATABASE_URL:
        run_in_thread(_reset_postgres(TEST_DATABASE_URL))
        monkeypatch.setenv("IMAGEDESIGNER_DATABASE_URL", TEST_DATABASE_URL)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings_overrides() -> dict:
    return {}


@pytest.fixture
def settings(data_dir: Path, settings_overrides: dict) -> Settings:
    return make_settings(data_dir, **settings_overrides)


@pytest.fixture
async def container(settings: Settings, clock: FrozenClock):
    registry = ProviderRegistry.from_settings(settings, only=["local"])
    c = await Container.build(settings, clock=clock, registry=registry)
    yield c
    await c.aclose()


@pytest.fixture
def app(container: Container):
    return create_app(container=container, run_sweeper=False)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def make_user(container: Container, email: str = "ada@example.com", role: str = "user"):
    async with container.sessions() as session, session.begin():
        user = await accounts.create_user(
            session,
            container.clock.now(),
            email=email,
            password="correct horse battery",
            age_confirmed=True,
            role=role,
        )
        new = await accounts.create_key(session, container.clock.now(), user)
    return user, new.token


@pytest.fixture
async def user_and_key(container: Container):
    return await make_user(container)


@pytest.fixture
def auth(user_and_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_and_key[1]}"}


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def find_in_files(folder: Path, needle: bytes) -> list[Path]:
    """Every file under ``folder`` whose bytes contain ``needle`` (DB, WAL, journal, blobs).

    On the PostgreSQL pass the database is not a file here, so every table's rows are searched
    too and a hit is reported as ``postgresql:<table>``.
    """
    hits = [p for p in files_under(folder) if needle in p.read_bytes()]
    if TEST_DATABASE_URL:
        tables = run_in_thread(_tables_containing(needle.decode()))
        hits.extend(Path(f"postgresql:{t}") for t in tables)
    return hits


async def _tables_containing(needle: str) -> list[str]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from imagedesigner.db import all_models  # noqa: F401
    from imagedesigner.db.base import Base

    engine = create_async_engine(TEST_DATABASE_URL)
    found = []
    try:
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(select(table))).all()
                if any(needle in str(tuple(row)) for row in rows):
                    found.append(table.name)
    finally:
        await engine.dispose()
    return found
