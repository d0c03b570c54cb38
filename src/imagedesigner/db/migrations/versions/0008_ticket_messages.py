"""support: ticket_messages (answers from support, follow-ups from the person) and
support_tickets.closed_at

Revision ID: 0008_ticket_messages
Revises: 0007_request_ids
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_ticket_messages"
down_revision = "0007_request_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_tickets") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_messages_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
    )
    for column in ("ticket_id", "user_id"):
        op.create_index(
            op.f(f"ix_ticket_messages_{column}"), "ticket_messages", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("ticket_messages")
    with op.batch_alter_table("support_tickets") as batch:
        batch.drop_column("closed_at")
