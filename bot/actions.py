"""Buttons: confirm, approve, cancel, retry, resume, view recipients.

Each button is a function `(bot, caller, batch_id) -> Reply`, shared by Slack (through
`button_listener`) and the terminal chat. The status changes themselves are
`multisms.controls`: single conditional UPDATEs, so two clicks can never send twice.
Sends are queued only after the change is committed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from bot import blocks, schedules
from bot.context import Announcement, Bot, Caller, Reply, refusal, say
from multisms import autoreply, controls, conversations, scheduling
from multisms.errors import InvalidTransition, NotFound
from multisms.models import utcnow
from multisms.numbers import mask
from multisms.queues import enqueue_progress, enqueue_send
from multisms.storage import get_batch, list_recipients

log = logging.getLogger(__name__)

Action = Callable[[Bot, Caller, int], Reply]


def _answers(check_allowed: bool):
    """Domain refusals (no such batch, not in that state) become replies; optionally check who may act."""

    def wrap(action: Action) -> Action:
        @functools.wraps(action)
        def run(bot: Bot, caller: Caller, batch_id: int) -> Reply:
            reason = refusal(bot.settings, caller) if check_allowed else None
            if reason:
                return say(reason)
            try:
                return action(bot, caller, batch_id)
            except (NotFound, InvalidTransition) as exc:
                return say(str(exc))

        return run

    return wrap


@_answers(check_allowed=True)
def confirm(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """The author's go-ahead: send now, or ask the channel for a second person above the threshold."""
    threshold = bot.settings.multi_sms_approval_threshold
    with bot.session() as session:
        batch = get_batch(session, batch_id)
        if batch.created_by != caller.created_by:
            return say(f"Only {blocks.who(batch.created_by)} can confirm batch #{batch_id}: it is their draft.")
        try:
            controls.confirm(session, batch_id, by=caller.created_by, approval_threshold=threshold)
        except InvalidTransition:
            return say(_already(batch))
        channel = batch.slack_channel
        held = scheduling.hold(session, bot.settings, batch, utcnow()) if batch.status == "pending" else None
        if batch.status == "awaiting_approval":
            pending, _ = list_recipients(session, batch_id, status="pending")
            request = blocks.approval_request(batch, [r.number_normalized for r in pending], threshold=threshold)
            where = (f"I've asked in <#{channel}>." if channel
                     else f"Ask a teammate to type `/multisms approve {batch_id}` in Slack.")
            text = f"Batch #{batch_id} is big enough to need a second person's approval. {where}"
            announcement = Announcement(batch_id, channel, f"Batch #{batch_id} needs approval", request)
            return Reply(text, blocks.notice(text), announce=announcement)
    if held:
        return schedules.waiting_reply(bot, batch_id, held, batch.scheduled_at, channel)
    _start(bot, batch_id, channel)
    where = f" Follow it in <#{channel}>." if channel else ""
    return say(f"Confirmed: batch #{batch_id} is on its way.{where}", follow=batch_id)


@_answers(check_allowed=True)
def approve(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """A second person lets a big batch go; `controls.approve` refuses its author."""
    with bot.session() as session:
        batch = controls.approve(session, batch_id, by=caller.created_by)
        channel = batch.slack_channel
        held = scheduling.hold(session, bot.settings, batch, utcnow())
    if held:
        return schedules.waiting_reply(bot, batch_id, held, batch.scheduled_at, channel)
    _start(bot, batch_id, channel)
    return say(f"Thanks! Batch #{batch_id} is approved and on its way.", follow=batch_id)


@_answers(check_allowed=True)
def cancel(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        stopped = controls.cancel(session, batch_id)
        has_message = get_batch(session, batch_id).slack_ts is not None
    if has_message:
        enqueue_progress(bot.redis, batch_id, final=True)
    return say(f"Batch #{batch_id} is cancelled: {blocks.plural(stopped, 'recipient')} will not get it.")


@_answers(check_allowed=True)
def retry(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        again = controls.retry(session, batch_id)
        channel = get_batch(session, batch_id).slack_channel
    _start(bot, batch_id, channel)
    return say(f"Sending batch #{batch_id} again to {blocks.plural(again, 'recipient')} that failed.",
               follow=batch_id)


@_answers(check_allowed=True)
def resume(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        channel = controls.resume(session, batch_id).slack_channel
    _start(bot, batch_id, channel)
    return say(f"Batch #{batch_id} is sending again.", follow=batch_id)


@_answers(check_allowed=False)
def recipients(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """Everyone may look; only the batch's author sees full numbers."""
    with bot.session() as session:
        batch = get_batch(session, batch_id)
        rows, _ = list_recipients(session, batch_id)
        view = [(r.number_normalized, r.status, r.error_message) for r in rows]
        masked = batch.created_by != caller.created_by
    return Reply(f"Recipients of batch #{batch_id}", blocks.recipients_view(batch_id, view, masked=masked))


@_answers(check_allowed=True)
def resume_ai(bot: Bot, caller: Caller, conversation_id: int) -> Reply:
    """Let the AI answer this conversation again after a person took it over."""
    with bot.session() as session:
        was_paused, number = conversations.resume_ai(session, conversation_id)
    text = f"AI replies are {'back' if was_paused else 'already'} on for {mask(number)}."
    if autoreply.current_mode(bot.redis, bot.settings) != "ai":
        text += " Auto-reply is not in AI mode, though: `/multisms autoreply ai` turns it on."
    return say(text)


BUTTONS: dict[str, Action] = {
    "confirm_batch": confirm, "approve_batch": approve, "cancel_batch": cancel,
    "retry_batch": retry, "resume_batch": resume, "view_recipients": recipients, "resume_ai": resume_ai,
    **schedules.BUTTONS,
}


def _start(bot: Bot, batch_id: int, channel: str | None) -> None:
    """Queue the send (after commit) and, for Slack batches, the channel message."""
    enqueue_send(bot.redis, batch_id)
    if channel:
        enqueue_progress(bot.redis, batch_id)


def _already(batch) -> str:
    if batch.status in ("pending", "processing"):
        return f"Batch #{batch.id} is already on its way."
    if batch.status == "awaiting_approval":
        return f"Batch #{batch.id} is already waiting for a second person's approval."
    if batch.status == "scheduled":
        return f"Batch #{batch.id} is already scheduled; `schedule list` shows when it goes."
    if batch.status == "cancelled":
        return f"Batch #{batch.id} was cancelled, so it can't be confirmed."
    return f"Batch #{batch.id} can't be confirmed: it is {blocks.status_label(batch.status)}."


def announce(bot: Bot, client, announcement: Announcement) -> None:
    """Post in the channel and remember the message as the batch's one channel message."""
    if not announcement.channel:
        return
    posted = client.chat_postMessage(channel=announcement.channel, text=announcement.text,
                                     blocks=announcement.blocks)
    with bot.session() as session:
        batch = get_batch(session, announcement.batch_id)
        if batch.slack_ts is None:
            batch.slack_ts = posted["ts"]


def button_listener(bot: Bot, handler: Action):
    """The Bolt listener for one button: ack at once, act, answer only the person who clicked.

    On the ephemeral preview the answer replaces it (so its buttons go away); on a channel
    message it is a new ephemeral message.
    """

    def on_click(ack, body, action, respond, client):
        ack()
        caller = Caller.slack(body["user"]["id"], (body.get("channel") or {}).get("id"))
        value = str(action.get("value", ""))
        if not value.isdigit():
            respond(text="This button has no batch number; use the command instead.", response_type="ephemeral",
                    replace_original=False)
            return
        reply = handler(bot, caller, int(value))
        on_preview = bool((body.get("container") or {}).get("is_ephemeral"))
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=on_preview)
        if reply.announce:
            announce(bot, client, reply.announce)

    return on_click
