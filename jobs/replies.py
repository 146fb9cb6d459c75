"""A team member's reply in a conversation thread, texted to the number, and its delivery status in Slack.

`send_reply` is queued by the thread listener (`bot.conversations`), which has already refused people
who may not text from there and left `note:` replies in Slack; it checks both again (settings can change
while a job waits), texts the reply through `send_single` (opt-outs, body checks, the history), pauses
the AI for the conversation and marks the person's message 📤 — or says in the thread why it did not go.
Twilio's later news (a status callback, or the delivery poller when callbacks are missing) queues
`show_status`, which moves the reaction on to ✅ delivered or ❌ not delivered, with the reason.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import conversations as thread_blocks
from bot.blocks import knowledge as kb_blocks
from bot.client import post_once, slack_client
from jobs.outbound import Outcome, send_single
from multisms import autoreply, conversations, permissions
from multisms.batches import FAILURE
from multisms.config import Settings, get_settings
from multisms.conversations import Thread
from multisms.db import session_scope
from multisms.models import Message
from multisms.permissions import Actor
from multisms.queues import redis_connection
from multisms.twilio_errors import describe

log = logging.getLogger(__name__)

def send_reply(conversation_id: int, text: str, user: str, slack_ts: str | None = None) -> dict:
    """Text one person's thread reply to the conversation's number (`slack_ts`: their Slack message)."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        where = conversations.thread(session, conversation_id)
    refused = permissions.refusal(settings, Actor.slack(user, where.channel), "send")
    if refused or conversations.is_internal_note(text):
        return {"sent": False, "detail": refused or "an internal note"}
    with session_scope(settings.database_url) as session:
        newly_paused = conversations.pause_ai(session, conversation_id)  # a human took over
    mark = (where.channel, slack_ts) if where.channel and slack_ts else None
    outcome = send_single(settings, where.number, text, slack=mark)
    if where.channel and where.thread_ts and settings.slack_configured:
        _tell_thread(settings, where, user, slack_ts, outcome)
        if newly_paused and autoreply.current_mode(redis_connection(settings), settings) == "ai":
            slack_client(settings).chat_postMessage(channel=where.channel, thread_ts=where.thread_ts,
                                                    text="AI replies are paused", blocks=kb_blocks.ai_paused(
                                                        conversation_id))
    return {"sent": outcome.sent, "detail": outcome.detail, "message_id": outcome.message_id}


def show_status(message_id: int) -> dict:
    """Bring a texted reply's reaction up to date with its status (safe to run any number of times)."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        message = session.get(Message, message_id)
        status, channel, ts, number, code = (message.status, message.slack_channel, message.slack_ts,
                                             message.to_number, message.error_code)
        where = conversations.thread_of_number(session, number)
    if not (channel and ts and settings.slack_configured) or status not in thread_blocks.REACTION_OF_STATUS:
        return {"message_id": message_id, "skipped": status}
    client, connection = slack_client(settings), redis_connection(settings)
    thread = where.thread_ts if where else None
    if not _react(client, channel, ts, thread_blocks.REACTION_OF_STATUS[status]) and thread:
        post_once(client, connection, f"multisms:slack:reply:{message_id}:{status}", channel=channel,
                  thread_ts=thread, text=thread_blocks.reply_status_line(number, status))
    if status in FAILURE and thread:  # said once, however many callbacks and polls report it
        reason = describe(code) if code else "the carrier gave no reason"
        post_once(client, connection, f"multisms:slack:reply:{message_id}:failed", channel=channel, thread_ts=thread,
                  text=f"The reply was not delivered: {reason}", blocks=thread_blocks.not_delivered(number, reason))
    return {"message_id": message_id, "status": status}


def _tell_thread(settings: Settings, where: Thread, user: str, slack_ts: str | None, outcome: Outcome) -> None:
    """📤 on the person's message, or a line in the thread saying why nothing went."""
    client = slack_client(settings)
    status = "queued" if outcome.sent else "failed"
    shown = slack_ts and _react(client, where.channel, slack_ts, thread_blocks.REACTION_OF_STATUS[status])
    if outcome.sent and not shown:
        client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts,
                                text=thread_blocks.reply_status_line(where.number, status))
    if not outcome.sent:
        client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts,
                                text=f"Not sent: {outcome.detail}",
                                blocks=thread_blocks.reply_not_sent(where.number, outcome.detail, user))


def _react(client: WebClient, channel: str, ts: str, name: str) -> bool:
    """Put `name` on the message and take the 📤 off once a final status replaces it. False when the app
    may not add reactions (installed before `reactions:write` was asked for), so the caller says it in words."""
    try:
        _call(client.reactions_add, "already_reacted", channel=channel, timestamp=ts, name=name)
        if name != thread_blocks.SENT:
            _call(client.reactions_remove, "no_reaction", channel=channel, timestamp=ts, name=thread_blocks.SENT)
    except SlackApiError as exc:
        if exc.response.get("error") not in ("missing_scope", "message_not_found"):
            raise
        log.warning("reply status not shown as a reaction: %s", exc.response.get("error"))
        return False
    return True


def _call(method, harmless: str, **arguments) -> None:
    """A reactions call whose `harmless` error means it is already as wanted (a repeated job)."""
    try:
        method(**arguments)
    except SlackApiError as exc:
        if exc.response.get("error") != harmless:
            raise
