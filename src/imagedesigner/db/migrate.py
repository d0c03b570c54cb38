"""Apply Alembic migrations at start-up (also ``imagedesigner migrate``).

A database already at :data:`HEAD` (every start but the first after an upgrade) is told by one
read of Alembic's version table, without loading Alembic: Alembic, Mako and Pygments are about
11 MiB of code that would otherwise stay resident in every serving process for its whole life.
``tests/test_schema.py`` checks that :data:`HEAD` is the migrations' head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0008_ticket_messages"  # the newest revision in migrations/versions
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _revisions(connection) -> list[str] | None:
    """The revisions the database records (None: it has no version table yet)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())  # noqa: S608


async def at_head(engine: AsyncEngine) -> bool:
    """True when the database records exactly :data:`HEAD` (nothing to migrate)."""
    async with engine.connect() as conn:
        revisions = await conn.run_sync(_revisions)
        await conn.rollback()
    return revisions == [HEAD]


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate up to ``revision`` (the newest by default; an older one for tests)."""
    if revision == "head" and await at_head(engine):
        return
    from alembic import command  # only when there is something to migrate (see above)

    cfg = alembic_config()

    def _run(connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # several instances may start at once: one migrates, the others wait
            await conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        await conn.run_sync(_run)
