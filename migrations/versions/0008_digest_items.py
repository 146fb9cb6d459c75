"""digests from feeds and the knowledge base: digest_items (what each run saw and cited), reminder_runs.source_errors

Revision ID: 0008
Revises: 0006 (the lead re-chains it after 0007 reminder_approval)
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_errors", sa.JSON(), nullable=True))

    op.create_table(
        "digest_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cited", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reminder_id"], ["reminders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["reminder_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "key", name="uq_digest_items_run_key"),
    )
    with op.batch_alter_table("digest_items", schema=None) as batch_op:
        batch_op.create_index("ix_digest_items_reminder_key", ["reminder_id", "key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_items", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_items_reminder_key")
    op.drop_table("digest_items")
    with op.batch_alter_table("reminder_runs", schema=None) as batch_op:
        batch_op.drop_column("source_errors")
