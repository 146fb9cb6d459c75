"""Helpers for knowledge-base and AI-reply tests: AI settings, documents, what was embedded."""

from __future__ import annotations

from multisms import knowledge
from multisms.db import session_scope

OPENAI_KEY = "sk-test-0123456789abcdefghij"
PARKING = ("Parking", "Parking is free for guests at the main entrance. The car park closes at midnight.")
REFUNDS = ("Refunds", "Refunds are possible within 30 days of purchase with the receipt.")
ANSWER = "Yes, parking is free for guests at the main entrance."


def ai_env(openai_api, tmp_path, **extra) -> dict:
    return {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai_api.base_url,
            "KNOWLEDGE_DIR": str(tmp_path / "knowledge"), **extra}


def add_document(settings, title: str, text: str, *, ref: str | None = None) -> int:
    with session_scope(settings.database_url) as session:
        document, _ = knowledge.save_document(session, title=title, text=text,
                                                   source="folder" if ref else "slack", source_ref=ref,
                                                   created_by="test")
        return document.id


def embedded_inputs(openai_api) -> list[str]:
    """Every text the stand-in was asked to embed, in order (documents' chunks and queries)."""
    return [text for request in openai_api.embedding_requests
            for text in ([request["input"]] if isinstance(request["input"], str) else request["input"])]


def grounded_model(request: dict) -> str:
    """A chat model that answers the parking question only when the parking excerpt is in its prompt."""
    system = request["messages"][0]["content"]
    return ANSWER if "Parking is free for guests" in system else "NO_ANSWER"


def ai_configurer(configure, openai_api, tmp_path):
    """`apply(AI_MIN_SCORE=0.5)` → settings with OpenAI pointed at the stand-in and a fresh index folder.

    Wrap it in an `ai_settings` fixture in the test module.
    """
    openai_api.reply = grounded_model

    def apply(**extra):
        return configure(**ai_env(openai_api, tmp_path, **extra))

    return apply
