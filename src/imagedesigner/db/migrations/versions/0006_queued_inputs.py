"""queued_inputs: sealed inputs of jobs waiting for a dedicated worker

Revision ID: 0006_queued_inputs
Revises: 0005_webhooks
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_queued_inputs"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queued_inputs",
        sa.Column("generation_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("blob_key", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_queued_inputs_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_queued_inputs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("generation_id", name=op.f("pk_queued_inputs")),
    )
    for column in ("user_id", "expires_at"):
        op.create_index(op.f(f"ix_queued_inputs_{column}"), "queued_inputs", [column], unique=False)


def downgrade() -> None:
    op.drop_table("queued_inputs")
