"""Team replies in a conversation thread, texted back to the number, and what may not be.

Slack sends every message in channels the bot is in (Events API `message`). Only a person's
plain reply inside a conversation thread counts; the bot's own posts and Slack's retries of
the same event are dropped. Then, in order:

- a reply that starts with `note:` (any case) is for the team: it stays in Slack;
- someone who may not send from this channel (`multisms.permissions`, the same rule as
  `/multisms send`) is told so, only them (an ephemeral message), and nothing is texted;
- anything else is texted by a job (`jobs.replies.send_reply`), which marks the message with its
  delivery status.

An edit or deletion of a reply that was already texted sends nothing: the thread says the SMS went.
"""

from __future__ import annotations

import re

from slack_sdk import WebClient

from bot.blocks import conversations as thread_blocks
from bot.context import Bot
from multisms import conversations, permissions
from multisms.permissions import Actor
from multisms.queues import SEND_REPLY, enqueue

_LINK = re.compile(r"<((?:https?|mailto|tel):[^|>]+)(?:\|[^>]*)?>")
EVENT_MEMORY_SECONDS = 24 * 3600
"""Slack retries for minutes; remembering an event's ts for a day is plenty."""
CHANGES = ("message_changed", "message_deleted")


def message_listener(bot: Bot):
    def on_message(ack, event: dict, context, client: WebClient) -> None:
        ack()
        bot_user = context.get("bot_user_id")
        if event.get("subtype") in CHANGES:
            _after_sending(bot, client, event, bot_user)
        elif _is_person_reply(event, bot_user):
            _reply(bot, client, event)

    return on_message


def sms_text(slack_text: str) -> str:
    """Slack's markup as a phone shows it: `<https://x|label>` → `https://x`, `&amp;` → `&`."""
    text = _LINK.sub(lambda m: m.group(1), slack_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _reply(bot: Bot, client: WebClient, event: dict) -> None:
    channel, user = event["channel"], event["user"]
    with bot.session() as session:
        conversation_id = conversations.in_thread(session, channel, event["thread_ts"])
        number = conversations.thread(session, conversation_id).number if conversation_id else None
    if conversation_id is None or not _first_delivery(bot, event):
        return  # not a conversation (e.g. a batch's progress thread), or Slack delivered it before
    text = sms_text(event.get("text", ""))
    if conversations.is_internal_note(text):
        return
    refused = permissions.refusal(bot.settings, Actor.slack(user, channel), "send")
    if refused:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=event["thread_ts"],
                                  text=thread_blocks.reply_refused(refused, number))
        return
    enqueue(bot.redis, SEND_REPLY, conversation_id, text, user, event["ts"])


def _after_sending(bot: Bot, client: WebClient, event: dict, bot_user: str | None) -> None:
    """An edit or a deletion: if that reply was texted, say in the thread that the SMS already went."""
    deleted = event["subtype"] == "message_deleted"
    before = event.get("previous_message") or {}
    after = before if deleted else event.get("message") or {}
    ts = event.get("deleted_ts") if deleted else after.get("ts")
    thread_ts = after.get("thread_ts")
    if (not ts or not thread_ts or thread_ts == ts or after.get("bot_id") or after.get("user") in (None, bot_user)
            or (not deleted and before.get("text") == after.get("text"))):  # a link preview, not an edit
        return
    with bot.session() as session:
        number = conversations.texted_reply(session, event["channel"], ts)
    if number is None or not _first_delivery(bot, event):
        return
    client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, text="That reply was already texted",
                            blocks=thread_blocks.already_texted(number, deleted=deleted))


def _first_delivery(bot: Bot, event: dict) -> bool:
    """False for Slack's retries of an event already handled."""
    key = f"multisms:slack-event:{event['channel']}:{event.get('event_ts') or event['ts']}"
    return bool(bot.redis.set(key, 1, nx=True, ex=EVENT_MEMORY_SECONDS))


def _is_person_reply(event: dict, bot_user_id: str | None) -> bool:
    return (
        not event.get("subtype")
        and not event.get("bot_id")
        and event.get("user") not in (None, bot_user_id)
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
        and bool((event.get("text") or "").strip())
    )
