"""Knowledge-base jobs (RQ queue `ai`): rebuild the index, add a Slack file, `ask`, `kb search`.

They run in a worker because they call OpenAI (and Slack's file download), which the web
process never does inside a request. Answers go to the person who asked as an ephemeral
Slack message; from the terminal chat (no Slack user) the job's return value is the answer.
"""

from __future__ import annotations

import logging
import time

import requests
from slack_sdk.errors import SlackApiError

from bot import kb_blocks
from bot.blocks import notice
from bot.client import slack_client
from knowledge.answer import Handoff, answer, search
from knowledge.documents import UnreadableDocument, load_bytes
from knowledge.index import KnowledgeUnavailable, SyncResult, ensure_current
from multisms import knowledge_base
from multisms.config import Settings, get_settings
from multisms.db import session_scope

log = logging.getLogger(__name__)

PROGRESS_LOG_SECONDS = 5
DOWNLOAD_TIMEOUT_SECONDS = 30


def rebuild(user: str | None = None, channel: str | None = None) -> dict:
    """Bring this worker's index up to date; tell `user` what changed. Returns the counts."""
    settings = get_settings()
    try:
        _, result = ensure_current(settings, progress=_log_progress())
    except KnowledgeUnavailable as exc:
        return _tell(settings, user, channel, str(exc), notice(str(exc)))
    counts = _counts(result)
    text = (f"Knowledge base updated: {counts['embedded_documents']} document(s) indexed "
            f"({counts['embedded_chunks']} chunks), {counts['removed_documents']} removed, "
            f"{counts['unchanged_documents']} unchanged.")
    log.info(text)
    _tell(settings, user, channel, text, notice(text))
    return counts


def add_slack_file(file_id: str, created_by: str, user: str | None = None, channel: str | None = None) -> dict:
    """Download a Slack file with the bot token, store its text as a document, then rebuild."""
    settings = get_settings()
    try:
        info = slack_client(settings).files_info(file=file_id)["file"]
    except SlackApiError as exc:
        problem = f"I can't open Slack file {file_id} ({exc.response.get('error')}): share it where the app is."
        return _tell(settings, user, channel, problem, notice(problem))
    name = info.get("name") or info.get("title") or file_id
    try:
        data = _download(settings, info)
        loaded = load_bytes(name, data, info.get("mimetype"))
    except UnreadableDocument as exc:
        return _tell(settings, user, channel, str(exc), notice(f"Nothing was added: {exc}"))
    with session_scope(settings.database_url) as session:
        document, change = knowledge_base.save_document(session, title=info.get("title") or loaded.title,
                                                        text=loaded.text, source="slack_file", source_ref=file_id,
                                                        created_by=created_by)
        document_id, title = document.id, document.title
    message = {"added": f"Added “{title}” as #{document_id}.", "updated": f"Updated #{document_id} “{title}”.",
               "unchanged": f"#{document_id} “{title}” is already in the knowledge base, unchanged."}[change]
    _tell(settings, user, channel, message, notice(message))
    if change != "unchanged":
        rebuild(user, channel)
    return {"document_id": document_id, "change": change}


def ask(question: str, user: str | None = None, channel: str | None = None) -> dict:
    """`/multisms ask`: the same grounded answer an SMS would get, for a team member, with sources."""
    settings = get_settings()
    try:
        result = answer(settings, question)
    except KnowledgeUnavailable as exc:
        return _tell(settings, user, channel, str(exc), notice(str(exc)))
    if isinstance(result, Handoff):
        if result.gap:
            with session_scope(settings.database_url) as session:
                knowledge_base.record_gap(session, question, source="slack", reason=result.reason,
                                          asked_by=f"slack:{user}" if user else "shell")
        return _tell(settings, user, channel, f"I can't answer that from the knowledge base: {result.reason}.",
                     kb_blocks.ask_handoff(question, result.reason))
    return _tell(settings, user, channel, result.text, kb_blocks.ask_answer(question, result.text, result.sources))


def search_excerpts(query: str, user: str | None = None, channel: str | None = None) -> dict:
    """`/multisms kb search`: the chunks the AI would read for this text, with their scores."""
    settings = get_settings()
    try:
        found = search(settings, query)
    except KnowledgeUnavailable as exc:
        return _tell(settings, user, channel, str(exc), notice(str(exc)))
    return _tell(settings, user, channel, f"{len(found)} excerpts for “{query[:100]}”", kb_blocks.hits(query, found))


def _tell(settings: Settings, user: str | None, channel: str | None, text: str, content: list[dict]) -> dict:
    """An ephemeral message to the person who asked (when they asked in Slack); the reply either way."""
    if user and channel and settings.slack_configured:
        client = slack_client(settings)
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=content)
        except SlackApiError as exc:  # e.g. a DM between two people, which the app is not in
            log.info("ephemeral answer refused (%s); sending it to the app's DM instead", exc.response.get("error"))
            client.chat_postMessage(channel=user, text=text, blocks=content)
    return {"text": text, "blocks": content}


def _download(settings: Settings, info: dict) -> bytes:
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise UnreadableDocument("Slack did not give a download link for this file.")
    response = requests.get(url, headers={"Authorization": f"Bearer {settings.slack_bot_token}"},
                            timeout=DOWNLOAD_TIMEOUT_SECONDS)
    response.raise_for_status()
    served_html = response.headers.get("Content-Type", "").startswith("text/html")
    if served_html and not (info.get("mimetype") or "").startswith("text/html"):
        raise UnreadableDocument("Slack answered with its sign-in page: the app needs the files:read scope "
                                 "(reinstall it after adding the scope).")
    return response.content


def _counts(result: SyncResult) -> dict:
    return {"embedded_documents": result.embedded_documents, "embedded_chunks": result.embedded_chunks,
            "removed_documents": result.removed_documents, "unchanged_documents": result.unchanged_documents}


def _log_progress():
    """Progress in the worker log, at most every few seconds (a big rebuild takes minutes)."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= PROGRESS_LOG_SECONDS:
            last[0] = now
            log.info("knowledge index: %d/%d chunks embedded", done, total)

    return report
