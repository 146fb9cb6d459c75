"""What happens after an SMS arrives (the webhook has stored it and answered Twilio).

`handle_inbound` posts it to the number's conversation thread in Slack (and a note in the
thread of the batch the number recently received) and sends an automatic reply when the mode
and the guardrails allow. `send_reply` texts a team member's thread reply back to the number.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import blocks, kb_blocks
from bot.client import slack_client
from jobs.outbound import send_single
from multisms import autoreply, conversations
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.models import Message
from multisms.numbers import mask
from multisms.queues import ANSWER_INBOUND, enqueue, redis_connection

log = logging.getLogger(__name__)

KEYWORD_NOTES = {
    "opt_out": "opted out (STOP): no batch, reply or AI answer will reach this number",
    "opt_in": "opted back in (START)",
    "help": "asked for HELP: the help text was sent",
}


def handle_inbound(message_id: int, keyword: str | None = None) -> dict:
    settings = get_settings()
    connection = redis_connection(settings)
    with session_scope(settings.database_url) as session:
        message = session.get(Message, message_id)
        number, body = message.from_number, message.body
        conversation, batch = conversations.note_inbound(
            session, number, window=timedelta(hours=settings.conversation_window_hours))
        conversation_id = conversation.id
        batch_thread = (batch.slack_channel, batch.slack_ts, batch.id) if batch and batch.slack_ts else None
    posted = _post_to_slack(settings, conversation_id, number, body, keyword, batch_thread)
    replied = _auto_reply(settings, connection, conversation_id, number, keyword)
    return {"message_id": message_id, "posted": posted, "auto_reply": replied}


def send_reply(conversation_id: int, text: str, user: str) -> dict:
    """A person's reply in a conversation thread, sent as SMS; the thread says whether it went."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        newly_paused = conversations.pause_ai(session, conversation_id)  # a human took over
        where = conversations.thread(session, conversation_id)
    number, channel, thread = where.number, where.channel, where.thread_ts
    outcome = send_single(settings, number, text)
    note = f"✓ Sent to {mask(number)}" if outcome.sent else f"✗ {mask(number)}: {outcome.detail}"
    if channel and thread and settings.slack_configured:
        lines = [blocks.context(f"{note} (reply by <@{user}>)")]
        if newly_paused and autoreply.current_mode(redis_connection(settings), settings) == "ai":
            lines += kb_blocks.ai_paused(conversation_id)
        slack_client(settings).chat_postMessage(channel=channel, thread_ts=thread, text=note, blocks=lines)
    return {"sent": outcome.sent, "detail": outcome.detail}


def _post_to_slack(settings: Settings, conversation_id: int, number: str, body: str, keyword: str | None,
                   batch_thread: tuple[str, str, int] | None) -> bool:
    if not settings.slack_configured:
        return False
    channel = settings.slack_inbox_channel or (batch_thread[0] if batch_thread else None)
    if channel is None:
        log.info("inbound from %s: no inbox channel and no recent batch thread to post to", mask(number))
        return False
    client = slack_client(settings)
    thread = _conversation_thread(settings, client, conversation_id, number, channel, batch_thread)
    text = f"{mask(number)} {KEYWORD_NOTES[keyword]}" if keyword else f"{mask(number)}: {body}"
    lines = [blocks.section(f"*{mask(number)}:* {blocks.escape(body)}")]
    if keyword:
        lines.append(blocks.context(KEYWORD_NOTES[keyword]))
    client.chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=lines)
    if batch_thread and (batch_thread[0], batch_thread[1]) != (channel, thread):
        note = f"↩️ {mask(number)} replied: {blocks.escape(body)[:500]}"
        client.chat_postMessage(channel=batch_thread[0], thread_ts=batch_thread[1], text=note,
                                blocks=[blocks.context(f"{note} — the conversation is in <#{channel}>")])
    return True


def _conversation_thread(settings: Settings, client, conversation_id: int, number: str, channel: str,
                         batch_thread: tuple[str, str, int] | None) -> str:
    """The thread for this number in `channel`, started (once) with a root message."""
    with session_scope(settings.database_url) as session:
        where = conversations.thread(session, conversation_id)
    if where.channel == channel and where.thread_ts:
        return where.thread_ts
    origin = f" (after batch #{batch_thread[2]})" if batch_thread else ""
    root = client.chat_postMessage(
        channel=channel, text=f"Conversation with {mask(number)}",
        blocks=[blocks.section(f"💬 *Conversation with {mask(number)}*{origin}"),
                blocks.context("Reply in this thread to text them back.")])
    with session_scope(settings.database_url) as session:
        conversations.bind_thread(session, conversation_id, channel, root["ts"])
    return root["ts"]


def _auto_reply(settings: Settings, connection, conversation_id: int, number: str, keyword: str | None) -> str:
    """Send the automatic reply if the mode and every guardrail allow; say which one stopped it."""
    mode = autoreply.current_mode(connection, settings)
    with session_scope(settings.database_url) as session:
        blocked = conversations.auto_reply_block(session, conversation_id, mode, keyword=keyword)
    if blocked:
        return blocked
    if mode == "ai":  # every question may get an answer; the job allows AI_MAX_REPLIES per window
        enqueue(connection, ANSWER_INBOUND, conversation_id)
        return "ai queued"
    if not autoreply.claim_reply_slot(connection, number, settings):
        return "already replied"
    outcome = send_single(settings, number, settings.auto_reply_template)
    return "template sent" if outcome.sent else outcome.detail
