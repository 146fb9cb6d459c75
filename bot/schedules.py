"""Scheduling from Slack and the terminal chat: send later, reschedule, reminders, digests.

Handlers have the `bot.commands` shape `(bot, caller, command) -> Reply`; the digest buttons
the `bot.actions` shape `(bot, caller, run_id) -> Reply`. Times people type are read in their
Slack time zone (`users.info` → `tz`), looked up by the listener only for commands with a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot import blocks, schedule_blocks
from bot.context import Bot, Caller, Reply, refusal, say
from bot.grammar import Command, Usage
from multisms import digests, reminders, scheduling
from multisms.batches import Validation
from multisms.config import Settings
from multisms.errors import BatchRejected, InvalidTransition, NotFound
from multisms.models import utcnow
from multisms.numbers import split_entries
from multisms.queues import SHOW_DIGEST_DECISION, enqueue
from multisms.quiet_hours import plan
from multisms.timespec import TimeProblem, describe, parse_schedule, resolve

log = logging.getLogger(__name__)



def needs_zone(parsed: Command | Usage) -> bool:
    """Commands whose times are read in the author's zone."""
    return isinstance(parsed, Command) and (
        (parsed.name == "send" and bool(parsed.when)) or parsed.name == "reschedule"
        or (parsed.name in ("remind", "digest") and parsed.action == "add"))


def author_zone(client, user: str | None, default: str) -> str:
    """The Slack user's time zone; `default` when Slack does not say (missing scope, no profile)."""
    if not user:
        return default
    try:
        return (client.users_info(user=user).get("user") or {}).get("tz") or default
    except SlackApiError as exc:
        log.warning("users.info failed (%s): reading times in %s", exc.response.get("error"), default)
        return default


def send_later(bot: Bot, caller: Caller, command: Command, prepare: Callable[..., Reply]) -> Reply:
    """`send … at 2026-12-01 09:00` / `in 2h`: the usual preview, plus when it will go."""
    zone = command.zone or bot.settings.default_timezone
    try:
        when = resolve(command.when, now=utcnow(), zone=zone)
    except TimeProblem as exc:
        return Reply(str(exc), blocks.usage(str(exc), "send +48600123456 | Hello at 2026-12-01 09:00", bot.prefix))
    return prepare(bot, caller, numbers=command.numbers, body=command.message, send_at=when, zone=zone,
                   typed=command.when)


def preview_note(settings: Settings, validation: Validation, batch_id: int, *, send_at: datetime | None,
                 zone: str | None, typed: str | None = None, extra: str | None = None) -> str | None:
    """What the preview adds: when a send-later batch goes, and who will be in quiet hours then."""
    notes = [extra] if extra else []
    if send_at:
        notes.append(schedule_blocks.when_note(batch_id, send_at, zone, typed))
    window = settings.quiet_window
    held = plan(validation.recipients, window, send_at or utcnow())
    if held:
        notes.append(schedule_blocks.quiet_note(len(held), len(validation.recipients), window.label,
                                                max(held.values()), zone))
    return "\n".join(notes) or None


def waiting_reply(bot: Bot, batch_id: int, reason: str, when: datetime, channel: str | None) -> Reply:
    """After a confirm or approve that left the batch `scheduled`: arm its start, say when."""
    scheduling.queue_start(bot.redis, batch_id, "scheduled", when, channel, now=utcnow())
    at = schedule_blocks.slack_time(when)
    if reason == "quiet":
        return say(f"Everyone in batch #{batch_id} is in quiet hours now, so it goes out {at}, when their night "
                   f"is over. `cancel {batch_id}` stops it.")
    return say(f"Scheduled: batch #{batch_id} goes out {at}. Until then `cancel {batch_id}` stops it and "
               f"`reschedule {batch_id} <time>` moves it.")


def schedule_list(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        rows = [(b.id, b.scheduled_at, b.created_by, b.body, b.started_at is not None)
                for b in scheduling.scheduled_batches(session)]
    return Reply(f"{len(rows)} scheduled batches", schedule_blocks.scheduled_list(rows))


def reschedule(bot: Bot, caller: Caller, command: Command) -> Reply:
    now, zone = utcnow(), command.zone or bot.settings.default_timezone
    try:
        when = resolve(command.when, now=now, zone=zone)
    except TimeProblem as exc:
        return Reply(str(exc), blocks.usage(str(exc), f"reschedule {command.batch_id} in 2h", bot.prefix))
    with bot.session() as session:
        batch = scheduling.reschedule(session, command.batch_id, when)
        status, channel = batch.status, batch.slack_channel
    if status == "scheduled":
        scheduling.queue_start(bot.redis, command.batch_id, status, when, channel, now=now)
    later = " Confirm it to schedule it." if status == "draft" else ""
    return say(f"Batch #{command.batch_id} now goes out {schedule_blocks.slack_time(when, zone)}.{later}")


def recurring(bot: Bot, caller: Caller, command: Command) -> Reply:
    """`remind …` and `digest …`: add, list, pause, resume, delete."""
    noun = "Digest" if command.name == "digest" else "Reminder"
    if command.action == "add":
        return _add(bot, caller, command)
    if command.action == "list":
        return _list(bot, kind="digest" if command.name == "digest" else None)
    rid = command.reminder_id
    with bot.session() as session:
        if command.action == "pause":
            reminders.pause(session, rid)
            return say(f"{noun} #{rid} is paused: nothing goes out until `{command.name} resume {rid}`.")
        if command.action == "resume":
            reminder = reminders.resume(session, rid, utcnow())
            return say(f"{noun} #{rid} runs again: next "
                       f"{schedule_blocks.slack_time(reminder.next_run_at, reminder.timezone)}.")
        reminders.remove(session, rid)
        return say(f"{noun} #{rid} is deleted. Batches it already sent stay in `list`.")


def _add(bot: Bot, caller: Caller, command: Command) -> Reply:
    kind = "digest" if command.name == "digest" else "reminder"
    if kind == "digest" and not bot.settings.openai_api_key:
        return say("Digests need an OpenAI key: ask an admin to set OPENAI_API_KEY. Nothing was saved.")
    schedule = parse_schedule(command.schedule)
    zone = schedule.zone or command.zone or bot.settings.default_timezone
    with bot.session() as session:
        try:
            reminder = reminders.create(session, bot.settings, kind=kind, schedule=schedule, zone=zone,
                                        body=command.message, numbers=command.numbers, sender=None,
                                        created_by=caller.created_by, slack_channel=caller.channel, now=utcnow())
        except BatchRejected as exc:
            problems = "\n".join(f"• {blocks.escape(p['message'])}" for p in exc.problems)
            return Reply("I can't add this: " + exc.problems[0]["message"], blocks.notice(
                f"I can't add this {kind}:\n{problems}"))
        rid, first = reminder.id, schedule_blocks.slack_time(reminder.next_run_at, zone)
    count = sum(entry.valid for entry in split_entries(command.numbers, bot.settings.default_region))
    where = f" in <#{caller.channel}>" if caller.channel else ""
    what = (f"each time the AI writes a short text from your source and posts it{where} for approval; "
            f"nobody approves within {bot.settings.digest_approval_minutes} min → it is dropped"
            if kind == "digest" else f"each time it goes out as a normal batch with its own thread{where}")
    return say(f"{kind.title()} #{rid} added: {describe(schedule.cron)} ({zone}), to "
               f"{blocks.plural(count, 'number')}, first {first}. {what[0].upper()}{what[1:]}. "
               f"`{command.name} pause {rid}` stops it.")


def _list(bot: Bot, *, kind: str | None) -> Reply:
    with bot.session() as session:
        found = reminders.list_reminders(session, kind=kind)
        last = reminders.last_runs(session, [r.id for r in found])
        rows = [(r, sum(e.valid for e in split_entries(r.numbers, bot.settings.default_region)), last.get(r.id))
                for r in found]
        title = "Digests" if kind else "Reminders and digests"
        return Reply(title, schedule_blocks.reminder_list(rows, title=title))


def approve_digest(bot: Bot, caller: Caller, run_id: int) -> Reply:
    """Approve and send a digest, once: a second click finds it already approved."""
    reason = refusal(bot.settings, caller)
    if reason:
        return say(reason)
    now = utcnow()
    try:
        with bot.session() as session:
            batch = digests.approve(session, bot.settings, run_id, by=caller.created_by, now=now)
            state = (batch.id, batch.status, batch.scheduled_at, batch.slack_channel)
    except BatchRejected as exc:
        return say(f"Digest #{run_id} can't be sent: {exc.problems[0]['message']}")
    except (NotFound, InvalidTransition) as exc:
        return say(str(exc))
    scheduling.queue_start(bot.redis, *state, now=now)
    enqueue(bot.redis, SHOW_DIGEST_DECISION, run_id)
    return say(f"Thanks! Digest #{run_id} is approved and goes out as batch #{state[0]}.",
               follow=state[0] if state[1] == "pending" else None)


def drop_digest(bot: Bot, caller: Caller, run_id: int) -> Reply:
    reason = refusal(bot.settings, caller)
    if reason:
        return say(reason)
    try:
        with bot.session() as session:
            digests.drop(session, run_id, by=caller.created_by, now=utcnow())
    except (NotFound, InvalidTransition) as exc:
        return say(str(exc))
    enqueue(bot.redis, SHOW_DIGEST_DECISION, run_id)
    return say(f"Digest #{run_id} is dropped: nothing was sent.")


HANDLERS = {"schedule": schedule_list, "reschedule": reschedule, "remind": recurring, "digest": recurring}
GATED = frozenset({"reschedule", "remind", "digest"})
BUTTONS = {"approve_digest": approve_digest, "drop_digest": drop_digest}
