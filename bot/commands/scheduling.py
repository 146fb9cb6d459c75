"""Scheduling: `schedule list`, `reschedule`, `remind`, `digest`, the digest's Approve / Drop buttons, and the
Approve button of a reminder or digest too big for one person (`remind approve <id>` does the same).

Sending later itself is a time at the end of `send` (`bot.commands.send`). Times people type
are read in their time zone (`caller.zone`: Slack's profile, or DEFAULT_TIMEZONE in the terminal
chat); the grammars here only check their shape (`multisms.timespec`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.blocks.primitives import escape, notice, plural
from bot.blocks.scheduling import APPROVE_REMINDER, reminder_list, scheduled_list, slack_time
from bot.commands.registry import Access, Usage, button, command, first_word, help_line
from bot.context import Bot, Caller, Reply, say
from multisms import approvals, digest_items, digests, reminders, scheduling
from multisms.batches import parse_id
from multisms.digest_sources import read_sources
from multisms.errors import BatchRejected, TimeProblem
from multisms.models import utcnow
from multisms.numbers import split_entries
from multisms.queues import ASK_REMINDER_APPROVAL, SHOW_DIGEST_DECISION, enqueue
from multisms.timespec import describe, is_send_time, parse_schedule, resolve

RECURRING_ACTIONS = ("add", "list", "pause", "resume", "delete", "approve")
LISTED_RUNS = 3
"""Runs shown per digest in `remind list` / `digest list` (the panel shows more)."""
REMIND_EXAMPLE = "remind add every weekday at 9:00 | +48600123456 | Stand-up in 15 minutes!"
DIGEST_EXAMPLE = "digest add every friday at 16:00 | list:team | feed:https://news.example.com/rss kb:parking"
RESCHEDULE_EXAMPLE = "reschedule 12 at 2026-12-01 09:00"

_ID_AND_REST = re.compile(r"^(#?\d+)(?:\s+(.*))?$", re.DOTALL)

help_line("send <numbers> | <message> at 2026-12-01 09:00",
          "send later (your Slack time zone); or end the message with `in 2h` or `in 30m`")


@dataclass(frozen=True)
class Move:
    """`reschedule`: which batch, and the new time as typed."""

    batch_id: int
    when: str


@dataclass(frozen=True)
class Recurring:
    """`remind …` / `digest …` (`verb`): what to do, and to which one or with what."""

    verb: str
    action: str
    reminder_id: int | None = None
    schedule: str = ""
    numbers: str = ""
    message: str = ""


def read_schedule(verb: str, rest: str) -> None:
    if rest.lower() not in ("", "list"):
        raise Usage("`schedule list` shows what is waiting; to send later, add a time to `send`.",
                    "send +48600123456 | Hello in 2h")


def read_move(verb: str, rest: str) -> Move:
    match = _ID_AND_REST.match(rest)
    if not match or parse_id(match.group(1)) is None:
        raise Usage("Which batch, and when? Give its number and the new time.", RESCHEDULE_EXAMPLE)
    when = " ".join((match.group(2) or "").split())
    if not is_send_time(when):
        shown = f"“{when[:40]}” is not a time I can read" if when else "Add the new time"
        raise Usage(f"{shown}: `at 2026-12-01 09:00`, `at 9:00`, `in 2h` or `now`.", RESCHEDULE_EXAMPLE)
    return Move(parse_id(match.group(1)), when)


def read_recurring(verb: str, rest: str) -> Recurring:
    example = DIGEST_EXAMPLE if verb == "digest" else REMIND_EXAMPLE
    action, tail = first_word(rest)
    if action not in RECURRING_ACTIONS:
        raise Usage(f"Say what to do: `{verb} add`, `{verb} list`, or `{verb} pause|resume|delete|approve <id>`.",
                    example)
    if action == "list":
        return Recurring(verb, "list")
    if action != "add":
        match = _ID_AND_REST.match(tail)
        if not match or match.group(2) or parse_id(match.group(1)) is None:
            raise Usage(f"Which one? Add its number (from `{verb} list`).", f"{verb} {action} 3")
        return Recurring(verb, action, reminder_id=parse_id(match.group(1)))
    parts = [part.strip() for part in tail.split("|", 2)]
    what = "sources (`feed:<address>`, `kb:<topic>` or pasted text)" if verb == "digest" else "message"
    if len(parts) < 3 or not all(parts):
        raise Usage(f"Write the schedule, the numbers and the {what}, separated by `|`.", example)
    try:
        parse_schedule(parts[0])
    except TimeProblem as exc:
        raise Usage(str(exc), example) from exc
    return Recurring(verb, "add", schedule=parts[0], numbers=parts[1], message=parts[2])


@command("schedule", grammar=read_schedule, access="read",
         help={"schedule list": "batches waiting for their time; `cancel <id>` still stops them"})
def schedule_list(bot: Bot, caller: Caller, _: None) -> Reply:
    with bot.session() as session:
        rows = [(b.id, b.scheduled_at, b.created_by, b.body, b.started_at is not None)
                for b in scheduling.scheduled_batches(session)]
    return Reply(f"{len(rows)} scheduled batches", scheduled_list(rows))


@command("reschedule", grammar=read_move, access="send", help={
    "reschedule <id> <time>": "move a batch that has not started: `at 2026-12-01 09:00`, `at 9:00`, `in 2h` or `now`"})
def reschedule(bot: Bot, caller: Caller, move: Move) -> Reply:
    now = utcnow()
    try:
        when = resolve(move.when, now=now, zone=caller.zone)
    except TimeProblem as exc:
        raise Usage(str(exc), f"reschedule {move.batch_id} in 2h") from exc
    with bot.session() as session:
        batch = scheduling.reschedule(session, move.batch_id, when)
        status, channel = batch.status, batch.slack_channel
    if status == "scheduled":
        scheduling.queue_start(bot.redis, move.batch_id, status, when, channel, now=now)
    later = " Confirm it to schedule it." if status == "draft" else ""
    return say(f"Batch #{move.batch_id} now goes out {slack_time(when, caller.zone)}.{later}")


def recurring_access(request: Recurring) -> Access:
    """`list` reads, `approve` approves someone else's, the rest send or change."""
    return {"list": "read", "approve": "approve"}.get(request.action, "send")


@command("remind", grammar=read_recurring, access=recurring_access, help={
    "remind add <schedule> | <numbers> | <message>": "repeat a text, e.g. `every weekday at 9:00` or cron "
                                                     "`0 9 * * 1-5` (your time zone, or name one at the end)",
    "remind list": "recurring reminders and digests, with their next time",
    "remind pause|resume|delete <id>": "stop, restart or remove a reminder or digest",
    "remind approve <id>": "let someone else's reminder or digest go to more people than the approval threshold"})
def remind(bot: Bot, caller: Caller, request: Recurring) -> Reply:
    return recurring(bot, caller, request)


@command("digest", grammar=read_recurring, access=recurring_access, help={
    "digest add <schedule> | <numbers or lists> | feed:<address> kb:<topic> <text>": "each time, the AI writes a "
        "short text from what is new in the feeds and knowledge base (and your text); it is sent once someone "
        "approves it here, and a run with nothing new sends nothing",
    "digest list": "digests, their sources and what their last runs carried"})
def digest(bot: Bot, caller: Caller, request: Recurring) -> Reply:
    return recurring(bot, caller, request)


def recurring(bot: Bot, caller: Caller, request: Recurring) -> Reply:
    """`remind …` and `digest …`: add, list, pause, resume, delete (a digest is a reminder the AI writes)."""
    if request.action == "add":
        return _add(bot, caller, request)
    if request.action == "list":
        return _list(bot, kind="digest" if request.verb == "digest" else None)
    noun, rid = ("Digest" if request.verb == "digest" else "Reminder"), request.reminder_id
    if request.action == "approve":
        return approve_reminder(bot, caller, rid)
    with bot.session() as session:
        if request.action == "pause":
            reminders.pause(session, rid)
            return say(f"{noun} #{rid} is paused: nothing goes out until `{request.verb} resume {rid}`.")
        if request.action == "resume":
            reminder = reminders.resume(session, rid, utcnow())
            return say(f"{noun} #{rid} runs again: next {slack_time(reminder.next_run_at, reminder.timezone)}.")
        reminders.remove(session, rid)
        return say(f"{noun} #{rid} is deleted. Batches it already sent stay in `list`.")


@button(APPROVE_REMINDER, access="approve")
def approve_reminder(bot: Bot, caller: Caller, reminder_id: int) -> Reply:
    """A second person lets a big reminder or digest go, up to its size now (`reminders.approve`)."""
    with bot.session() as session:
        reminder = reminders.approve(session, bot.settings, reminder_id, caller.actor)
        kind, size = reminder.kind, reminder.approved_size
    return say(f"Thanks! {kind.title()} #{reminder_id} is approved for up to {size} numbers; it asks again only "
               "if it grows past that.")


@button("approve_digest", access="send")
def approve_digest(bot: Bot, caller: Caller, run_id: int) -> Reply:
    """Approve and send a digest, once: a second click finds it already approved."""
    now = utcnow()
    try:
        with bot.session() as session:
            batch = digests.approve(session, bot.settings, run_id, by=caller.created_by, now=now)
            state = (batch.id, batch.status, batch.scheduled_at, batch.slack_channel)
    except BatchRejected as exc:
        return say(f"Digest #{run_id} can't be sent: {exc.problems[0]['message']}")
    scheduling.queue_start(bot.redis, *state, now=now)
    enqueue(bot.redis, SHOW_DIGEST_DECISION, run_id)
    return say(f"Thanks! Digest #{run_id} is approved and goes out as batch #{state[0]}.",
               follow=state[0] if state[1] == "pending" else None)


@button("drop_digest", access="send")
def drop_digest(bot: Bot, caller: Caller, run_id: int) -> Reply:
    with bot.session() as session:
        digests.drop(session, run_id, by=caller.created_by, now=utcnow())
    enqueue(bot.redis, SHOW_DIGEST_DECISION, run_id)
    return say(f"Digest #{run_id} is dropped: nothing was sent.")


def _add(bot: Bot, caller: Caller, request: Recurring) -> Reply:
    kind = "digest" if request.verb == "digest" else "reminder"
    if kind == "digest" and not bot.settings.openai_api_key:
        return say("Digests need an OpenAI key: ask an admin to set OPENAI_API_KEY. Nothing was saved.")
    schedule = parse_schedule(request.schedule)
    zone = schedule.zone or caller.zone
    with bot.session() as session:
        try:
            reminder = reminders.create(session, bot.settings, kind=kind, schedule=schedule, zone=zone,
                                        body=request.message, numbers=request.numbers, sender=None,
                                        created_by=caller.created_by, slack_channel=caller.channel, now=utcnow())
        except BatchRejected as exc:
            problems = "\n".join(f"• {escape(p['message'])}" for p in exc.problems)
            return Reply("I can't add this: " + exc.problems[0]["message"], notice(
                f"I can't add this {kind}:\n{problems}"))
        rid, first = reminder.id, slack_time(reminder.next_run_at, zone)
        count = reminders.size(session, bot.settings, reminder)
        asking = approvals.channel_for(bot.settings, reminder) if reminders.needs_approval(
            bot.settings, reminder, count) else None
    where = f" in <#{caller.channel}>" if caller.channel else ""
    what = (f"each time the AI writes a short text from {_digest_source_words(request.message)} and posts it"
            f"{where} for approval; nobody approves within {bot.settings.digest_approval_minutes} min → it is "
            "dropped" if kind == "digest" else f"each time it goes out as a normal batch with its own thread{where}")
    text = (f"{kind.title()} #{rid} added: {describe(schedule.cron)} ({zone}), to "
            f"{plural(count, 'number')}, first {first}. {what[0].upper()}{what[1:]}. "
            f"`{request.verb} pause {rid}` stops it.")
    if asking:
        enqueue(bot.redis, ASK_REMINDER_APPROVAL, rid)
        text += (f"\nIt goes to more than {bot.settings.multi_sms_approval_threshold} numbers, so a second person "
                 f"has to approve it once: I've asked in <#{asking}>. Until then its times are skipped.")
    return say(text)


def _digest_source_words(text: str) -> str:
    sources = read_sources(text)
    if not sources.news:
        return "your text"
    return f"what is new in {escape(sources.describe())} (a run with nothing new sends nothing)"


def _list(bot: Bot, *, kind: str | None) -> Reply:
    with bot.session() as session:
        found = reminders.list_reminders(session, kind=kind)
        runs = reminders.recent_runs(session, [r.id for r in found], per_reminder=LISTED_RUNS)
        carried = digest_items.carried(session, [run.id for listed in runs.values() for run in listed])
        rows = [(r, sum(e.valid for e in split_entries(r.numbers, bot.settings.default_region)), runs[r.id], carried)
                for r in found]
        title = "Digests" if kind else "Reminders and digests"
        return Reply(title, reminder_list(rows, title=title))
