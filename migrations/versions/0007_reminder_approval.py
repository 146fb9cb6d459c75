"""reminder approval: reminders.approved_size, approved_by; thread replies: messages.slack_channel, slack_ts, checked_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack_channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("slack_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(op.f("ix_messages_slack_ts"), ["slack_ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_messages_slack_ts"))
        batch_op.drop_column("checked_at")
        batch_op.drop_column("slack_ts")
        batch_op.drop_column("slack_channel")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("approved_by")
        batch_op.drop_column("approved_size")
