"""What happens after an SMS arrives (the webhook has checked it, honoured STOP/START and answered Twilio).

`receive` stores it once per MessageSid; `handle_inbound` posts it to the number's conversation
thread in Slack (and a note in the thread of the batch the number recently received) and sends
an automatic reply when the mode and the guardrails allow. A post Slack refuses (an outage, a
long rate limit) is handed to `post_to_slack`, a job RQ retries, so the text still reaches the
team; each post is made once. A team member's reply in that thread is `jobs.replies.send_reply`
(still importable from here for jobs queued before it moved).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.blocks import conversations as thread_blocks
from bot.client import post_once, slack_client
from jobs.outbound import send_single
from jobs.replies import send_reply
from multisms import autoreply, conversations
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.models import Message
from multisms.numbers import mask
from multisms.queues import ANSWER_INBOUND, POST_INBOUND, enqueue, redis_connection
from multisms.storage import record_inbound, record_message

log = logging.getLogger(__name__)

__all__ = ["handle_inbound", "open_thread", "post_to_slack", "receive", "send_reply"]

KEYWORD_NOTES = {
    "opt_out": "opted out (STOP): no batch, reply or AI answer will reach this number",
    "opt_in": "opted back in (START)",
    "help": "asked for HELP: the help text was sent",
}


def receive(sid: str, number: str, to: str, body: str, keyword: str | None = None) -> dict:
    """An SMS the webhook took (signature checked, STOP/START already honoured): store it once per
    MessageSid, answer HELP's history, then follow it up in Slack and with automatic replies."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        message = record_inbound(session, sid=sid, from_number=number, to_number=to, body=body)
        if message is None:
            return {"sid": sid, "skipped": "already received"}  # Twilio or the webhook sent it twice
        if keyword == "help":
            record_message(session, direction="outbound", from_number=to, to_number=number,
                           body=settings.inbound_help_text, status="queued")
        session.flush()
        message_id = message.id
    return handle_inbound(message_id, keyword)


def handle_inbound(message_id: int, keyword: str | None = None) -> dict:
    """Follow up a stored inbound SMS (also the job path of the previous release, for jobs queued before it)."""
    settings = get_settings()
    connection = redis_connection(settings)
    with session_scope(settings.database_url) as session:
        number = session.get(Message, message_id).from_number
        conversation, batch = conversations.note_inbound(
            session, number, window=timedelta(hours=settings.conversation_window_hours))
        conversation_id = conversation.id
        batch_thread = (batch.slack_channel, batch.slack_ts, batch.id) if batch and batch.slack_ts else None
    try:
        posted = _post_to_slack(settings, connection, message_id, conversation_id, keyword, batch_thread)
    except (SlackApiError, OSError) as exc:  # the text is stored; the post is retried on its own
        log.warning("Slack refused the post of inbound message %s (%s): retrying it in a job", message_id, exc)
        enqueue(connection, POST_INBOUND, message_id, conversation_id, keyword, batch_thread)
        posted = False
    replied = _auto_reply(settings, connection, conversation_id, number, keyword)
    return {"message_id": message_id, "posted": posted, "auto_reply": replied}


def post_to_slack(message_id: int, conversation_id: int, keyword: str | None = None,
                  batch_thread: tuple[str, str, int] | None = None) -> dict:
    """The Slack post of a stored text that Slack refused the first time (RQ retries this job)."""
    settings = get_settings()
    posted = _post_to_slack(settings, redis_connection(settings), message_id, conversation_id, keyword, batch_thread)
    return {"message_id": message_id, "posted": posted}


def _post_to_slack(settings: Settings, connection, message_id: int, conversation_id: int, keyword: str | None,
                   batch_thread: tuple[str, str, int] | None) -> bool:
    if not settings.slack_configured:
        return False
    with session_scope(settings.database_url) as session:
        message = session.get(Message, message_id)
        number, body = message.from_number, message.body
    where = open_thread(settings, conversation_id, batch_thread)
    if where is None:
        return False
    client = slack_client(settings)
    channel, thread = where
    text = f"{mask(number)} {KEYWORD_NOTES[keyword]}" if keyword else f"{mask(number)}: {blocks.escape(body)}"
    lines = [blocks.section(f"*{mask(number)}:* {blocks.escape(body)}")]
    if keyword:
        lines.append(blocks.context(KEYWORD_NOTES[keyword]))
    post_once(client, connection, f"multisms:inbound-posted:{message_id}", channel=channel, thread_ts=thread,
              text=text, blocks=lines)
    if batch_thread and (batch_thread[0], batch_thread[1]) != (channel, thread):
        note = f"↩️ {mask(number)} replied: {blocks.escape(body)[:500]}"
        post_once(client, connection, f"multisms:inbound-noted:{message_id}", channel=batch_thread[0],
                  thread_ts=batch_thread[1], text=note,
                  blocks=[blocks.context(f"{note} — the conversation is in <#{channel}>")])
    return True


def open_thread(settings: Settings, conversation_id: int,
                batch_thread: tuple[str, str, int] | None = None) -> tuple[str, str] | None:
    """(channel, thread ts) of this number's conversation in Slack, started (once) with a root message
    in its home channel (`conversations.home_channel`). None, logged as an error, when there is none."""
    with session_scope(settings.database_url) as session:
        where = conversations.thread(session, conversation_id)
        channel = conversations.home_channel(session, settings, conversation_id,
                                             batch_thread[0] if batch_thread else None)
    if channel is None:
        log.error("a text from %s has nowhere to go in Slack: set SLACK_INBOX_CHANNEL", mask(where.number))
        return None
    if where.channel == channel and where.thread_ts:
        return channel, where.thread_ts
    origin = f" (after batch #{batch_thread[2]})" if batch_thread else ""
    root = slack_client(settings).chat_postMessage(
        channel=channel, text=f"Conversation with {mask(where.number)}",
        blocks=thread_blocks.thread_root(where.number, origin))
    with session_scope(settings.database_url) as session:
        conversations.bind_thread(session, conversation_id, channel, root["ts"])
    return channel, root["ts"]


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
