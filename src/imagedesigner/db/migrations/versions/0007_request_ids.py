"""request_logs.request_id: the random id each response carries as ``x-request-id``

Revision ID: 0007_request_ids
Revises: 0006_queued_inputs
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_request_ids"
down_revision = "0006_queued_inputs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=40), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_request_logs_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_logs_request_id"))
        batch_op.drop_column("request_id")
