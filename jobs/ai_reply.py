"""`answer_inbound(conversation_id)` (RQ queue `ai`): an inbound question → an AI answer by SMS, or a person.

`jobs.inbound` queues this after its own checks; they are repeated here because time passes
between the two (a STOP, a person's reply or a mode switch can arrive in between). The answer
is sent with `send_single` (opt-outs enforced, message recorded) and posted in the conversation
thread with its sources. When the knowledge base does not answer, the thread gets a
"needs a human" post with a Resume AI button and the question is kept as a knowledge gap.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from bot import kb_blocks
from bot.client import slack_client
from jobs.outbound import send_single
from knowledge.answer import Answer, Handoff, answer
from multisms import autoreply, keywords, knowledge_base
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.models import Conversation, Message, utcnow
from multisms.numbers import mask
from multisms.optouts import is_opted_out
from multisms.queues import redis_connection
from multisms.storage import inbound_count

log = logging.getLogger(__name__)

REPEATS_LOOK_LIKE_A_BOT = 3
"""This many identical texts in a row from one number: another automated sender, not a person."""
ANSWERED_MEMORY_SECONDS = 24 * 3600


def answer_inbound(conversation_id: int) -> dict:
    """Answer the number's latest text if every guardrail allows; say which one stopped it otherwise."""
    settings = get_settings()
    connection = redis_connection(settings)
    with session_scope(settings.database_url) as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return {"skipped": "no such conversation"}
        number, paused = conversation.number, conversation.ai_paused
        skipped = _guardrail(session, settings, connection, number, paused)
        latest = _latest_inbound(session, number)
    if skipped:
        log.info("AI reply to %s skipped: %s", mask(number), skipped)
        return {"skipped": skipped}
    if latest is None or keywords.classify(latest[1]):
        return {"skipped": "no question" if latest is None else "keyword"}
    message_id, question = latest
    if not connection.set(f"multisms:ai-message:{message_id}", 1, nx=True, ex=ANSWERED_MEMORY_SECONDS):
        return {"skipped": "already answered"}  # two texts in a row queue two jobs; the latest is answered once
    if not settings.openai_api_key:
        return _hand_off(settings, connection, conversation_id, number, question,
                         Handoff("AI replies need OPENAI_API_KEY, which is not set", [], gap=False))
    if not _claim(connection, number, settings):
        return _over_limit(settings, connection, conversation_id, number, question)
    result = answer(settings, question)
    if isinstance(result, Handoff):
        return _hand_off(settings, connection, conversation_id, number, question, result)
    return _send_answer(settings, conversation_id, number, result)


def preload() -> None:
    """Load what an answer needs, for a worker to call once before it forks work-horses.

    RQ forks a work-horse per job, and what the parent has not loaded every job loads again:
    over a second for an AI answer, most of it the SDKs' lazy imports (bench/README.md, ai_reply).
    """
    import faiss  # noqa: F401  (LangChain imports it on first use)
    import httpcore  # noqa: F401  (httpx imports it on the first request)
    import openai.resources  # noqa: F401  (the SDK loads its resources on first use)
    import twilio.rest.api.v2010.account.message  # noqa: F401  (the Twilio SDK loads it on first send)


def _guardrail(session, settings: Settings, connection, number: str, paused: bool) -> str | None:
    """Why the AI must stay quiet for this number now, or None."""
    if autoreply.current_mode(connection, settings) != "ai":
        return "AI mode is off"
    if paused:
        return "paused: a person is answering this conversation"
    if is_opted_out(session, number):
        return "opted out"
    if inbound_count(session, number, utcnow() - timedelta(minutes=autoreply.LOOP_WINDOW_MINUTES)) \
            > autoreply.LOOP_LIMIT:
        return "loop suspected: too many texts in a short time"
    if _looks_like_a_bot(session, number):
        return "loop suspected: the number repeats itself or echoes our reply"
    return None


def _looks_like_a_bot(session, number: str) -> bool:
    """Another auto-responder repeats one text, or sends our own reply back to us."""
    inbound = list(session.scalars(select(Message.body).where(
        Message.direction == "inbound", Message.from_number == number)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(REPEATS_LOOK_LIKE_A_BOT)))
    if len(inbound) == REPEATS_LOOK_LIKE_A_BOT and len({body.strip().lower() for body in inbound}) == 1:
        return True
    last_sent = session.scalars(select(Message.body).where(
        Message.direction == "outbound", Message.to_number == number)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    return bool(inbound and last_sent and inbound[0].strip().lower() == last_sent.strip().lower())


def _latest_inbound(session, number: str) -> tuple[int, str] | None:
    row = session.execute(select(Message.id, Message.body).where(
        Message.direction == "inbound", Message.from_number == number)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    return (row.id, row.body) if row else None


def _claim(connection, number: str, settings: Settings) -> bool:
    """One of AI_MAX_REPLIES per AI_REPLY_WINDOW_MINUTES for this number (shared by all workers)."""
    key = f"multisms:ai-replies:{number}"
    count = connection.incr(key)
    if count == 1:
        connection.expire(key, max(int(settings.ai_reply_window_minutes * 60), 1))
    return count <= settings.ai_max_replies


def _send_answer(settings: Settings, conversation_id: int, number: str, result: Answer) -> dict:
    outcome = send_single(settings, number, result.text)
    _post(settings, conversation_id, f"AI answer to {mask(number)}",
          kb_blocks.ai_answer(number, result.text, result.sources, sent=outcome.sent, detail=outcome.detail))
    return {"answered": outcome.sent, "detail": outcome.detail,
            "sources": [(s.title, s.chunk) for s in result.sources]}


def _hand_off(settings: Settings, connection, conversation_id: int, number: str, question: str,
              handoff: Handoff) -> dict:
    """No answer: keep the question, tell the team in the thread, optionally send the holding reply."""
    if handoff.gap:
        with session_scope(settings.database_url) as session:
            knowledge_base.record_gap(session, question, source="sms", reason=handoff.reason,
                                      conversation_id=conversation_id)
    holding = None
    if settings.ai_holding_reply and _claim(connection, number, settings):
        holding = settings.ai_holding_reply if send_single(settings, number, settings.ai_holding_reply).sent else None
    _post(settings, conversation_id, f"Needs a human: {mask(number)}",
          kb_blocks.ai_handoff(number, question, handoff.reason, conversation_id, holding=holding, gap=handoff.gap))
    return {"handoff": handoff.reason, "holding_reply": bool(holding)}


def _over_limit(settings: Settings, connection, conversation_id: int, number: str, question: str) -> dict:
    """Past the AI reply limit: say so in the thread once per window, not on every text."""
    if connection.set(f"multisms:ai-limit-noted:{number}", 1, nx=True,
                      ex=max(int(settings.ai_reply_window_minutes * 60), 1)):
        reason = (f"this number already got {settings.ai_max_replies} AI replies in "
                  f"{settings.ai_reply_window_minutes:g} minutes")
        _post(settings, conversation_id, f"Needs a human: {mask(number)}",
              kb_blocks.ai_handoff(number, question, reason, conversation_id, holding=None, gap=False))
    return {"skipped": "AI reply limit reached"}


def _post(settings: Settings, conversation_id: int, text: str, content: list[dict]) -> None:
    with session_scope(settings.database_url) as session:
        conversation = session.get(Conversation, conversation_id)
        channel, thread = conversation.slack_channel, conversation.slack_thread_ts
    if not (settings.slack_configured and channel and thread):
        log.info("%s (no Slack thread to post to)", text)
        return
    slack_client(settings).chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=content)
