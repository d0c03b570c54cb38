"""Models and migrations never drift: after ``alembic upgrade head`` the database schema is
exactly ``Base.metadata`` (every table family, via ``imagedesigner.db.all_models``). A database
already at the head is recognised without loading Alembic, and one behind it is migrated."""

from __future__ import annotations

import shutil
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from imagedesigner.db import all_models  # noqa: F401  (registers every table)
from imagedesigner.db.base import Base
from imagedesigner.db.engine import create_engine
from imagedesigner.db.migrate import HEAD, alembic_config, at_head, upgrade


async def test_migrations_match_models(container):
    def diff(connection):
        ctx = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(ctx, Base.metadata)

    async with container.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations differ: {differences}"


def test_single_linear_history():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "migrations must form one line (one head)"
    assert script.get_revision("0002_logs_sessions").down_revision == "0001_core"


def test_head_is_the_newest_migration():
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_a_database_at_head_starts_without_loading_alembic(migrated_template, tmp_path):
    """What ``serve`` does at start-up (the whole app imported, then the upgrade) on a database
    that is already migrated: Alembic, Mako and their Pygments plug-in are never imported."""
    db = tmp_path / "at-head.db"
    shutil.copy(migrated_template, db)
    script = f"""
import asyncio, sys
import imagedesigner.app
from imagedesigner.db.engine import create_engine
from imagedesigner.db.migrate import upgrade

async def main():
    engine = create_engine("sqlite+aiosqlite:///{db}")
    await upgrade(engine)
    await engine.dispose()

asyncio.run(main())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako")))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


async def test_a_fresh_or_older_database_is_migrated_to_head(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        assert not await at_head(engine)  # no version table yet
        await upgrade(engine, "0007_request_ids")
        assert not await at_head(engine)
        await upgrade(engine)
        assert await at_head(engine)
        async with engine.connect() as conn:
            names = await conn.run_sync(
                lambda c: set(Base.metadata.tables) - set(inspect(c).get_table_names())
            )
        assert names == set()  # every table of the models exists, 0008's too
    finally:
        await engine.dispose()
