"""The knowledge base's rows: documents the AI answers from, and the questions it could not answer.

The database holds each document's text; FAISS indexes (knowledge/index.py) are caches built
from it, so every worker, on any machine, can rebuild the same index. Slack commands, jobs and
scripts all change documents through these functions.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from multisms.errors import NotFound
from multisms.models import KnowledgeDocument, KnowledgeGap

SOURCES = frozenset({"slack", "slack_file", "folder"})
TITLE_CHARS = 80


def content_hash(title: str, text: str) -> str:
    """Changes whenever what the AI would read changes (the title is part of every excerpt)."""
    return hashlib.sha256(f"{title}\n\0{text}".encode()).hexdigest()


def title_for(text: str, fallback: str = "Note") -> str:
    """The first non-empty line, without Markdown heading marks, short enough for a list."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"
    return fallback


def save_document(session: Session, *, title: str, text: str, source: str, created_by: str,
                  source_ref: str | None = None) -> tuple[KnowledgeDocument, str]:
    """Store a document; one with the same `source_ref` (file id, path) is updated in place.

    Returns the row and what happened: `added`, `updated` or `unchanged`.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown document source {source!r}; expected one of {', '.join(sorted(SOURCES))}")
    title = title[:200]
    digest = content_hash(title, text)
    found = None
    if source_ref is not None:
        found = session.scalars(select(KnowledgeDocument).where(
            KnowledgeDocument.source == source, KnowledgeDocument.source_ref == source_ref)).first()
    if found is None:
        document = KnowledgeDocument(title=title, text=text, source=source, source_ref=source_ref,
                                     content_hash=digest, created_by=created_by)
        session.add(document)
        session.flush()
        return document, "added"
    if found.content_hash == digest:
        return found, "unchanged"
    found.title, found.text, found.content_hash, found.chunk_count = title, text, digest, None
    session.flush()
    return found, "updated"


def remove_document(session: Session, document_id: int) -> KnowledgeDocument:
    document = session.get(KnowledgeDocument, document_id)
    if document is None:
        raise NotFound(f"There is no knowledge document #{document_id}; `kb list` shows them.")
    session.delete(document)
    session.flush()
    return document


def remove_missing(session: Session, source: str, keep_refs: set[str]) -> list[int]:
    """Delete documents of `source` whose `source_ref` is not in `keep_refs` (files gone from a folder)."""
    gone = list(session.scalars(select(KnowledgeDocument).where(
        KnowledgeDocument.source == source, KnowledgeDocument.source_ref.not_in(keep_refs))))
    for document in gone:
        session.delete(document)
    session.flush()
    return [document.id for document in gone]


def list_documents(session: Session, limit: int) -> tuple[list[KnowledgeDocument], int]:
    """Newest first, with the total."""
    total = session.scalar(select(func.count()).select_from(KnowledgeDocument)) or 0
    rows = session.scalars(select(KnowledgeDocument).order_by(KnowledgeDocument.id.desc()).limit(limit))
    return list(rows), total


def fingerprint(session: Session) -> dict[int, str]:
    """Document id → content hash: what an up-to-date index must contain."""
    return dict(session.execute(select(KnowledgeDocument.id, KnowledgeDocument.content_hash)).all())


def changed_since(session: Session, since: datetime | None) -> dict[int, tuple[str, datetime]]:
    """Document id → (content hash, last change) of documents added or changed after `since` (all when None)."""
    query = select(KnowledgeDocument.id, KnowledgeDocument.content_hash, KnowledgeDocument.updated_at)
    if since is not None:
        query = query.where(KnowledgeDocument.updated_at > since)
    return {doc_id: (digest, updated) for doc_id, digest, updated in session.execute(query)}


def documents(session: Session, ids: set[int]) -> list[KnowledgeDocument]:
    if not ids:
        return []
    return list(session.scalars(select(KnowledgeDocument).where(KnowledgeDocument.id.in_(ids))
                                .order_by(KnowledgeDocument.id)))


def set_chunk_counts(session: Session, counts: dict[int, int]) -> None:
    for document_id, count in counts.items():
        document = session.get(KnowledgeDocument, document_id)
        if document is not None:
            document.chunk_count = count


def record_gap(session: Session, question: str, *, source: str, reason: str, conversation_id: int | None = None,
               asked_by: str | None = None) -> KnowledgeGap:
    gap = KnowledgeGap(question=question[:2000], source=source, reason=reason[:200],
                       conversation_id=conversation_id, asked_by=asked_by)
    session.add(gap)
    session.flush()
    return gap


def list_gaps(session: Session, limit: int) -> tuple[list[KnowledgeGap], int]:
    """Newest first, with the total."""
    total = session.scalar(select(func.count()).select_from(KnowledgeGap)) or 0
    rows = session.scalars(select(KnowledgeGap).order_by(KnowledgeGap.created_at.desc(), KnowledgeGap.id.desc())
                           .limit(limit))
    return list(rows), total
