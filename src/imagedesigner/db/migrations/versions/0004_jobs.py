"""generations as jobs: status, progress, error, result, runner heartbeat; job_events

Revision ID: 0004_jobs
Revises: 0003_rights
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_jobs"
down_revision = "0003_rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=12), nullable=False, server_default="generation")
        )
        batch.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="succeeded")
        )
        batch.add_column(sa.Column("progress", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("error", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column(
                "response_format", sa.String(length=10), nullable=False, server_default="b64_json"
            )
        )
        batch.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("runner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(op.f("ix_generations_status"), ["status"], unique=False)
        batch.create_index(op.f("ix_generations_heartbeat_at"), ["heartbeat_at"], unique=False)
    op.create_table(
        "job_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("generation_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_job_events_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_job_events_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_events")),
        sa.UniqueConstraint("generation_id", "seq", name=op.f("uq_job_events_generation_id")),
    )
    for column in ("generation_id", "user_id", "expires_at"):
        op.create_index(op.f(f"ix_job_events_{column}"), "job_events", [column], unique=False)


def downgrade() -> None:
    op.drop_table("job_events")
    with op.batch_alter_table("generations") as batch:
        batch.drop_index(op.f("ix_generations_heartbeat_at"))
        batch.drop_index(op.f("ix_generations_status"))
        for column in (
            "heartbeat_at", "runner", "cancel_requested", "finished_at", "started_at",
            "webhook_url", "response_format", "result", "error", "progress", "status", "kind",
        ):  # fmt: skip
            batch.drop_column(column)
