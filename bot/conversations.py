"""Team replies in a conversation thread, texted back to the number.

Slack sends every message in channels the bot is in (Events API `message`). Only a person's
plain reply inside a conversation thread counts: the bot's own posts, edits and other
subtypes are ignored, and Slack's retries of the same event are recognised and dropped.
The send itself happens in a job (`jobs.inbound.send_reply`), which also pauses the AI for
that conversation and says in the thread whether the SMS went out.
"""

from __future__ import annotations

import re

from bot.context import Bot
from multisms import conversations
from multisms.queues import SEND_REPLY, enqueue

_LINK = re.compile(r"<((?:https?|mailto|tel):[^|>]+)(?:\|[^>]*)?>")
EVENT_MEMORY_SECONDS = 24 * 3600
"""Slack retries for minutes; remembering an event's ts for a day is plenty."""


def message_listener(bot: Bot):
    def on_message(ack, event: dict, context) -> None:
        ack()
        if not _is_person_reply(event, context.get("bot_user_id")):
            return
        with bot.session() as session:
            conversation_id = conversations.in_thread(session, event["channel"], event["thread_ts"])
        if conversation_id is None:
            return  # a thread that is not a conversation (e.g. a batch's progress thread)
        if not bot.redis.set(f"multisms:slack-event:{event['channel']}:{event['ts']}", 1, nx=True,
                             ex=EVENT_MEMORY_SECONDS):
            return  # Slack delivered this event before
        enqueue(bot.redis, SEND_REPLY, conversation_id, sms_text(event.get("text", "")), event["user"])

    return on_message


def sms_text(slack_text: str) -> str:
    """Slack's markup as a phone shows it: `<https://x|label>` → `https://x`, `&amp;` → `&`."""
    text = _LINK.sub(lambda m: m.group(1), slack_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _is_person_reply(event: dict, bot_user_id: str | None) -> bool:
    return (
        not event.get("subtype")
        and not event.get("bot_id")
        and event.get("user") not in (None, bot_user_id)
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
        and bool((event.get("text") or "").strip())
    )
