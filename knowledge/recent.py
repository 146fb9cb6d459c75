"""Knowledge documents added or changed since a time, found by a topic: what a digest's `kb:<topic>` brings.

The topic is compared with every chunk of those documents only (`KnowledgeIndex.search_among`),
so an older document that matches better cannot crowd a new one out. A document counts once, by
its best chunk, and only when that chunk is as close as an AI answer needs (AI_MIN_SCORE). Its
key changes with its content, so an edited document is news again.
"""

from __future__ import annotations

from datetime import datetime

from knowledge.index import ensure_current
from multisms import knowledge
from multisms.config import Settings
from multisms.db import session_scope
from multisms.digest_sources import Item, item_key
from multisms.feeds.text import shorten

SUMMARY_CHARS = 600
"""As much of the best-matching part as a feed item's summary: enough to tell what changed."""


def changed_on_topic(settings: Settings, topic: str, since: datetime | None) -> list[Item]:
    """Documents changed after `since` (all when None) that are about `topic`, closest first."""
    index, _ = ensure_current(settings)
    with session_scope(settings.database_url) as session:
        changed = knowledge.changed_since(session, since)
    candidates = {doc_id for doc_id in changed if doc_id in index.documents}
    chunks = sum(index.documents[doc_id]["chunks"] for doc_id in candidates)
    best = {}
    for hit in index.search_among(topic, chunks, candidates):
        if hit.score >= settings.ai_min_score and hit.document_id not in best:
            best[hit.document_id] = hit
    return [Item(key=item_key(f"kb:{doc_id}:{changed[doc_id][0]}"), source="kb", origin=topic, title=hit.title,
                 link=None, published=changed[doc_id][1], summary=shorten(hit.text, SUMMARY_CHARS))
            for doc_id, hit in best.items()]
