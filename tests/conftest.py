"""Shared fixtures: a fake clock, a temporary data folder, the local provider only, and an
in-process HTTP client over ASGI. Tests move time with ``clock.advance`` instead of sleeping.

Set-up is kept cheap: argon2 runs with the cheapest parameters; the migrations run once per
session (SQLite: into a template database file copied into each test's data folder; PostgreSQL:
once, then every table is emptied between tests, or the schema rebuilt when a test changed it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from imagedesigner.accounts import passwords
from imagedesigner.accounts import service as accounts
from imagedesigner.app import create_app
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.db.engine import create_engine
from imagedesigner.db.migrate import upgrade
from imagedesigner.kit.clock import FrozenClock
from imagedesigner.providers.registry import ProviderRegistry

NO_KEYS = {"openai_api_key": None, "openrouter_api_key": None, "fal_key": None}
# When set, every test's database is this PostgreSQL database (emptied per test) instead of
# SQLite in the test's data folder: scripts/test runs the suite a second time this way in CI.
TEST_DATABASE_URL = os.environ.get("IMAGEDESIGNER_TEST_DATABASE_URL")
DB_FILE = "imagedesigner.db"  # what Settings.resolved_database_url() names in the data folder

# ~0.2 ms per hash instead of ~150 ms; tests that need the real parameters call configure()
passwords.configure(time_cost=1, memory_cost=8, parallelism=1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "fresh_data_dir: an empty data folder, not one holding the migrated template database "
        "(for tests of what Container.build itself creates)",
    )


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = {
        "data_dir": data_dir,
        "secret_key": "test-secret",
        "rate_limit": "10000/minute",
        "database_url": TEST_DATABASE_URL,
        "request_log_batch": "0s",  # rows at once, so tests read them right after a request
        "history_write_batch": "0s",
        **NO_KEYS,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def run_in_thread(coro):
    """Run a coroutine to completion from sync code, even where an event loop is already
    running in this thread (async tests, Playwright's sync API)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """A SQLite database at the head migration, made once per session, copied per test."""
    db = tmp_path_factory.mktemp("template") / DB_FILE
    run_in_thread(_migrate(f"sqlite+aiosqlite:///{db}"))
    con = sqlite3.connect(db)  # fold any WAL into the file: only the file is copied
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


# PostgreSQL: the schema as migrated, to tell whether a test changed it (ALTER, DROP SCHEMA)
_SCHEMA_FINGERPRINT = """
SELECT coalesce(string_agg(item, ' ' ORDER BY item), '') FROM (
  SELECT 'col:' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull::text AS item
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
     AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'rel:' || relname || ':' || relkind::text FROM pg_class
   WHERE relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'con:' || conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'trg:' || t.tgname || ':' || t.tgenabled::text FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
) AS parts
"""
_pg_state: dict[str, str] = {}  # url -> fingerprint after the last full migration


async def _reset_postgres(url: str) -> None:
    """Empty every table, keeping the migrated schema; rebuild it when it is not as migrated.

    audit_log's append-only trigger refuses DELETE and TRUNCATE, so a table's user triggers are
    disabled for its DELETE and re-enabled in the same transaction (the table owner may do
    that; no superuser-only ``session_replication_role``). A trigger left disabled would change
    the fingerprint, so the next test would rebuild the schema.
    """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))  # a test database
            current = (await conn.execute(text(_SCHEMA_FINGERPRINT))).scalar_one()
            if current and current == _pg_state.get(url):
                await _empty_all(conn)
                return
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        async with engine.connect() as conn:
            _pg_state[url] = (await conn.execute(text(_SCHEMA_FINGERPRINT))).scalar_one()
    finally:
        await engine.dispose()


_TABLES_WITH_TRIGGERS = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
"""
_RESTART_SEQUENCES = """
SELECT setval(c.oid::regclass, 1, false) FROM pg_class c
 WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace
"""


async def _empty_all(conn) -> None:
    """DELETE every row, children first, only in tables that have any, and restart the
    sequences. For a test's few rows this is far cheaper than TRUNCATE, which makes new files
    for every table (~50 ms a test). The schema is as migrated (the caller checked), which is
    exactly Base.metadata (tests/test_schema.py), so the models give a safe order."""
    from sqlalchemy import text

    from imagedesigner.db import all_models  # noqa: F401
    from imagedesigner.db.base import Base

    order = [t.name for t in reversed(Base.metadata.sorted_tables)]
    probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in order)
    filled = set((await conn.execute(text(probe))).scalars())
    guarded = set((await conn.execute(text(_TABLES_WITH_TRIGGERS))).scalars())
    for table in (t for t in order if t in filled):
        if table in guarded:  # audit_log's append-only trigger refuses DELETE
            await conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
        await conn.execute(text(f'DELETE FROM "{table}"'))
        if table in guarded:
            await conn.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
    await conn.execute(text(_RESTART_SEQUENCES))


@pytest.fixture(autouse=True)
def _postgres_per_test(monkeypatch):
    """On the PostgreSQL pass: empty tables at the head migration for every test, and the CLI
    pointed at the database too."""
    if TEST_DATABASE_URL:
        run_in_thread(_reset_postgres(TEST_DATABASE_URL))
        monkeypatch.setenv("IMAGEDESIGNER_DATABASE_URL", TEST_DATABASE_URL)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))


@pytest.fixture
def data_dir(tmp_path: Path, request) -> Path:
    """The test's data folder. On SQLite it already holds a copy of the migrated template
    database (owner-only, like Container.build makes them), so building a container finds the
    schema at head instead of running every migration; ``@pytest.mark.fresh_data_dir`` opts out."""
    folder = tmp_path / "data"
    if not TEST_DATABASE_URL and request.node.get_closest_marker("fresh_data_dir") is None:
        template = request.getfixturevalue("migrated_template")
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)  # whatever the umask
        db = folder / DB_FILE
        shutil.copyfile(template, db)
        db.chmod(0o600)
    return folder


@pytest.fixture
def settings_overrides() -> dict:
    return {}


@pytest.fixture
def settings(data_dir: Path, settings_overrides: dict) -> Settings:
    return make_settings(data_dir, **settings_overrides)


def at_head(settings: Settings) -> bool:
    """Whether the settings name a database this conftest already migrated for the test (the
    template copy in the data folder, or the reset PostgreSQL database): then building the
    container need not run Alembic at all (~20 ms a test)."""
    if TEST_DATABASE_URL:
        return settings.resolved_database_url() == TEST_DATABASE_URL
    return settings.database_url is None and (settings.data_dir / DB_FILE).is_file()


@pytest.fixture
async def container(settings: Settings, clock: FrozenClock):
    registry = ProviderRegistry.from_settings(settings, only=["local"])
    c = await Container.build(
        settings, clock=clock, registry=registry, migrate=not at_head(settings)
    )
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
        tables = run_in_thread(_tables_containing(needle))
        hits.extend(Path(f"postgresql:{t}") for t in tables)
    return hits


def _holds(value: object, needle: bytes) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return needle in bytes(value)
    try:
        return needle.decode() in str(value)
    except UnicodeDecodeError:  # raw bytes can only be in a binary column
        return False


async def _tables_containing(needle: bytes) -> list[str]:
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
                if any(_holds(value, needle) for row in rows for value in row):
                    found.append(table.name)
    finally:
        await engine.dispose()
    return found
