"""Apply Alembic migrations at start-up (also ``imagedesigner migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine) -> None:
    cfg = alembic_config()

    def _run(connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # several instances may start at once: one migrates, the others wait
            from sqlalchemy import text

            await conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        await conn.run_sync(_run)
