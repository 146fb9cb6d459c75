"""knowledge base: documents and unanswered questions (gaps)

The FAISS index itself is not in the database: each process keeps it under KNOWLEDGE_DIR
and rebuilds it from `knowledge_documents` when it is missing or stale.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=500), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_ref", name="uq_knowledge_documents_source_ref"),
    )
    op.create_table(
        "knowledge_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("asked_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("knowledge_gaps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_knowledge_gaps_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("knowledge_gaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_gaps_created_at"))
    op.drop_table("knowledge_gaps")
    op.drop_table("knowledge_documents")
