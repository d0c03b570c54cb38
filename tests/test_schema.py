"""Models and migrations never drift: after ``alembic upgrade head`` the database schema is
exactly ``Base.metadata`` (every table family, via ``imagedesigner.db.all_models``)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from imagedesigner.db import all_models  # noqa: F401  (registers every table)
from imagedesigner.db.base import Base
from imagedesigner.db.migrate import alembic_config


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
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "migrations must form one line (one head)"
    assert script.get_revision("0002_logs_sessions").down_revision == "0001_core"
