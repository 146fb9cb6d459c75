"""v3 import: batches.legacy_ref and messages.legacy_ref, the keys that make the old app's import idempotent

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("batches", "messages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("legacy_ref", sa.String(length=64), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_legacy_ref"), ["legacy_ref"], unique=True)


def downgrade() -> None:
    for table in ("messages", "batches"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_legacy_ref"))
            batch_op.drop_column("legacy_ref")
