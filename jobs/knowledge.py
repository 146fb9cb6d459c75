"""Knowledge jobs (RQ queue `ai`): rebuild the index, add a Slack file, `ask`, `kb search`, and
`answer_inbound`, the AI's answer to an incoming text.

They run in a worker because they call OpenAI (and Slack's file download), which the web
process never does inside a request. Answers to team members go to the person who asked as an
ephemeral Slack message; from the terminal chat (no Slack user) the job's return value is the
answer. An answer to a text is sent with `send_single` (opt-outs enforced, message recorded)
and posted in the conversation thread with its sources; when the knowledge base does not
answer, the thread gets "needs a human" with a Resume AI button and the question is kept.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError

from bot.blocks import knowledge as kb_blocks
from bot.blocks import notice
from bot.client import slack_client
from jobs import slack_files
from jobs.inbound import open_thread
from jobs.outbound import send_single
from knowledge.answer import Answer, Handoff, answer, search
from knowledge.documents import MAX_FILE_BYTES, load_bytes
from knowledge.index import KnowledgeUnavailable, SyncResult, ensure_current
from multisms import autoreply, conversations, keywords, knowledge
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.errors import FileUnavailable, UnreadableDocument
from multisms.numbers import mask
from multisms.queues import redis_connection

log = logging.getLogger(__name__)

PROGRESS_LOG_SECONDS = 5
ANSWERED_MEMORY_SECONDS = 24 * 3600


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
        document, change = knowledge.save_document(session, title=info.get("title") or loaded.title,
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
        result = answer(settings, question, connection=redis_connection(settings))
    except KnowledgeUnavailable as exc:
        return _tell(settings, user, channel, str(exc), notice(str(exc)))
    if isinstance(result, Handoff):
        if result.gap:
            with session_scope(settings.database_url) as session:
                knowledge.record_gap(session, question, source="slack", reason=result.reason,
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


def answer_inbound(conversation_id: int) -> dict:
    """Answer the number's latest text if every guardrail allows; say which one stopped it otherwise.

    `jobs.inbound` checked the guardrails when the text arrived; they are checked again here,
    since a STOP, a person's reply or a mode switch can arrive in between.
    """
    settings = get_settings()
    connection = redis_connection(settings)
    mode = autoreply.current_mode(connection, settings)
    with session_scope(settings.database_url) as session:
        where = conversations.thread(session, conversation_id)
        skipped = "AI mode is off" if mode != "ai" else conversations.auto_reply_block(session, conversation_id, mode)
        latest = conversations.latest_inbound(session, where.number)
    number = where.number
    if skipped:
        log.info("AI reply to %s skipped: %s", mask(number), skipped)
        return {"skipped": skipped}
    if latest is None or keywords.classify(latest[1]):
        return {"skipped": "no question" if latest is None else "keyword"}
    message_id, question = latest
    if not connection.set(f"multisms:ai-message:{message_id}", 1, nx=True, ex=ANSWERED_MEMORY_SECONDS):
        return {"skipped": "already answered"}  # two texts in a row queue two jobs; the latest is answered once
    if not settings.openai_api_key:
        return _hand_off(settings, connection, where, question,
                         Handoff("AI replies need OPENAI_API_KEY, which is not set", [], gap=False))
    if not autoreply.claim_ai_reply(connection, number, settings):
        return _over_limit(settings, connection, where, question)
    result = answer(settings, question, connection=connection)
    if isinstance(result, Handoff):
        return _hand_off(settings, connection, where, question, result)
    return _send_answer(settings, where, result)


def preload() -> None:
    """Load what an answer needs, for a worker to call once before it forks work-horses.

    RQ forks a work-horse per job, and what the parent has not loaded every job loads again:
    over a second for an AI answer, most of it the SDKs' lazy imports (bench/README.md, ai_reply).
    """
    import faiss  # noqa: F401  (LangChain imports it on first use)
    import httpcore  # noqa: F401  (httpx imports it on the first request)
    import openai.resources  # noqa: F401  (the SDK loads its resources on first use)
    import twilio.rest.api.v2010.account.message  # noqa: F401  (the Twilio SDK loads it on first send)


def _send_answer(settings: Settings, where: conversations.Thread, result: Answer) -> dict:
    outcome = send_single(settings, where.number, result.text)
    _post_in_thread(settings, where, f"AI answer to {mask(where.number)}",
                    kb_blocks.ai_answer(where.number, result.text, result.sources, sent=outcome.sent,
                                        detail=outcome.detail))
    return {"answered": outcome.sent, "detail": outcome.detail,
            "sources": [(s.title, s.chunk) for s in result.sources]}


def _hand_off(settings: Settings, connection, where: conversations.Thread, question: str, handoff: Handoff) -> dict:
    """No answer: keep the question, tell the team in the thread, optionally send the holding reply."""
    if handoff.gap:
        with session_scope(settings.database_url) as session:
            knowledge.record_gap(session, question, source="sms", reason=handoff.reason,
                                 conversation_id=where.conversation_id)
    holding = None
    if settings.ai_holding_reply and autoreply.claim_ai_reply(connection, where.number, settings):
        sent = send_single(settings, where.number, settings.ai_holding_reply).sent
        holding = settings.ai_holding_reply if sent else None
    _post_in_thread(settings, where, f"Needs a human: {mask(where.number)}",
                    kb_blocks.ai_handoff(where.number, question, handoff.reason, where.conversation_id,
                                         holding=holding, gap=handoff.gap))
    return {"handoff": handoff.reason, "holding_reply": bool(holding)}


def _over_limit(settings: Settings, connection, where: conversations.Thread, question: str) -> dict:
    """Past the AI reply limit: say so in the thread once per window, not on every text."""
    if connection.set(f"multisms:ai-limit-noted:{where.number}", 1, nx=True,
                      ex=max(int(settings.ai_reply_window_minutes * 60), 1)):
        reason = (f"this number already got {settings.ai_max_replies} AI replies in "
                  f"{settings.ai_reply_window_minutes:g} minutes")
        _post_in_thread(settings, where, f"Needs a human: {mask(where.number)}",
                        kb_blocks.ai_handoff(where.number, question, reason, where.conversation_id, holding=None,
                                             gap=False))
    return {"skipped": "AI reply limit reached"}


def _post_in_thread(settings: Settings, where: conversations.Thread, text: str, content: list[dict]) -> None:
    """Post in the conversation's thread, opening one if it has none, so a hand-over always reaches people."""
    if not settings.slack_configured:
        log.info("%s (Slack is not configured)", text)
        return
    thread = (where.channel, where.thread_ts) if where.channel and where.thread_ts else \
        open_thread(settings, where.conversation_id)
    if thread:
        slack_client(settings).chat_postMessage(channel=thread[0], thread_ts=thread[1], text=text, blocks=content)


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
    """The file's bytes from Slack's file host only, at most MAX_FILE_BYTES (`jobs.slack_files`)."""
    try:
        return slack_files.download(settings, info, max_bytes=MAX_FILE_BYTES)
    except FileUnavailable as exc:
        raise UnreadableDocument(str(exc)) from exc


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
