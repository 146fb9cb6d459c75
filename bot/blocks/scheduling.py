"""Block Kit for scheduling: send times, scheduled batches, reminders (and their approval), digests.

Times are Slack date tokens (`<!date^…>`), so every reader sees them in their own time zone;
the fallback text (terminal chat, notifications) names the zone. Channel posts (digest
approval) show how many numbers, never the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from bot.blocks.primitives import (
    actions,
    button,
    clip,
    code,
    context,
    escape,
    listing,
    plural,
    quote,
    section,
    slack_date,
    who,
)
from multisms.digest_sources import read_sources
from multisms.segments import analyze
from multisms.timespec import describe, local_label


def slack_time(moment: datetime, zone: str | None = None) -> str:
    """A time every Slack reader sees in their own zone; the fallback names `zone` (or UTC)."""
    return slack_date(moment, local_label(moment, zone))


def when_note(batch_id: int, send_at: datetime, zone: str | None, typed: str | None) -> str:
    """The preview's line for a send-later batch."""
    note = (f"⏰ Scheduled: goes out {slack_time(send_at, zone)}. Confirm to schedule it; until it starts, "
            f"`cancel {batch_id}` stops it and `reschedule {batch_id} <time>` moves it.")
    if typed:
        note += (f" (Read from “{escape(typed)}” at the end of your message; to send those words as text, "
                 "end the message with a full stop.)")
    return note


def quiet_note(deferred: int, total: int, window: str, latest: datetime, zone: str | None) -> str:
    """The preview's line for recipients in quiet hours at send time."""
    rest = "the others get it right away" if deferred < total else "nobody is texted before then"
    return (f"🌙 {plural(deferred, 'recipient')} of {total} will be in quiet hours ({window} their time): "
            f"they get it when it ends, by {slack_time(latest, zone)} at the latest; {rest}.")


def scheduled_list(rows: Sequence[tuple[int, datetime | None, str, str, bool]]) -> list[dict]:
    """(id, when, author, body, quiet) of batches waiting for their time."""
    if not rows:
        return [section("*Scheduled batches*\nNothing is waiting. Add a time to `send`, e.g. "
                        "`send +48600123456 | Hi in 2h`.")]
    lines = []
    for batch_id, when, author, body, quiet in rows:
        why = " (quiet hours)" if quiet else ""
        at = slack_time(when) if when else "soon"
        lines.append(f"*#{batch_id}* {at}{why} · by {who(author)} · _{escape(clip(body.replace(chr(10), ' '), 50))}_")
    return [section("*Scheduled batches*\n" + "\n".join(lines)),
            context("`cancel <id>` stops one; `reschedule <id> <time>` moves it.")]


def reminder_list(rows: Sequence[tuple], *, title: str) -> list[dict]:
    """(reminder, number count, its latest runs (newest first), run id → items cited) for each one."""
    if not rows:
        return [section(f"*{title}*\nNone yet. Example: `remind add every weekday at 9:00 | +48600123456 | "
                        "Stand-up in 15 minutes!`")]
    lines = []
    for reminder, count, runs, carried in rows:
        state = "⏸ paused" if reminder.paused else f"next {slack_time(reminder.next_run_at, reminder.timezone)}"
        if reminder.approved_by:
            state += f" · approved by {who(reminder.approved_by)} for up to {reminder.approved_size}"
        line = (f"*#{reminder.id}* {reminder.kind} · {escape(describe(reminder.cron))} ({escape(reminder.timezone)}) · "
                f"{plural(count, 'number')} · {state}")
        if reminder.kind != "digest":
            line += _last_run(runs[0]) if runs else ""
            lines.append(line + f"\n> {escape(clip(reminder.body.replace(chr(10), ' '), 80))}")
            continue
        sources = read_sources(reminder.body)
        line += f"\n> from {escape(sources.describe())}" + "".join(
            f"\n> {_run_line(run, carried.get(run.id, []))}" for run in runs)
        failing = (runs[0].source_errors or {}) if runs else {}
        lines.append(line + (f"\n> ⚠️ not readable at the last run: {_sources_named(failing)}" if failing else ""))
    return [section(f"*{title}*\n" + listing(lines)),
            context("`remind pause <id>` · `remind resume <id>` · `remind delete <id>` · "
                    "`remind approve <id>` (someone else's, over the approval threshold)")]


APPROVE_REMINDER = "approve_reminder"


def reminder_approval_request(reminder, *, count: int, threshold: int | None) -> list[dict]:
    """Posted where approvals are asked for: a reminder or digest too big for one person, once per size."""
    kind = "digest" if reminder.kind == "digest" else "reminder"
    grown = (f" It was approved for {reminder.approved_size}; it has grown, so it is skipped until someone "
             "approves again." if reminder.approved_size else " Nothing goes out until someone approves it.")
    what = "The AI writes each text from this source" if kind == "digest" else "The message"
    return [
        section(f"{who(reminder.created_by)}'s {kind} #{reminder.id} ({escape(describe(reminder.cron))}, "
                f"{escape(reminder.timezone)}) goes to *{count}* numbers, more than {threshold}. A second person "
                f"has to approve it once, for up to {count} numbers.{grown}"),
        section(f"{what}:\n{quote(reminder.body, 1000)}"),
        actions(button("Approve", APPROVE_REMINDER, reminder.id, "primary")),
    ]


def reminder_skipped(reminder, run) -> list[dict]:
    """A reminder's occurrence that its author may no longer send: said once, until something changes."""
    kind = "Digest" if reminder.kind == "digest" else "Reminder"
    when = slack_time(run.occurrence_at, reminder.timezone)
    return [section(f"⛔ *{kind} #{reminder.id}* did not go out {when}: {who(reminder.created_by)}, who added it, "
                    f"may no longer send texts.\n> {escape(run.error or '')}"),
            context(f"Its next times are skipped too until that changes. `remind delete {reminder.id}` removes it.")]


def _last_run(run) -> str:
    if run.batch_id:
        detail = f" (batch #{run.batch_id})"
    elif run.status in ("refused", "unapproved"):
        detail = f" ({escape(clip(run.error or '', 120))})"
    else:
        detail = ""
    return f" · last: {escape(run.status.replace('_', ' '))}{detail}"


def _run_line(run, items: Sequence) -> str:
    """One digest run: when, what became of it, and the titles it carried."""
    batch = f" (batch #{run.batch_id})" if run.batch_id else ""
    line = f"{slack_time(run.occurrence_at)} · {escape(run.status.replace('_', ' '))}{batch}"
    if items:
        titles = "; ".join(f"“{escape(clip(item.title, 60))}”" for item in items[:3])
        line += f" · {plural(len(items), 'item')}: {titles}" + (f" +{len(items) - 3} more" if len(items) > 3 else "")
    return line


def digest_request(run, *, count: int, schedule: str, items: Sequence = (), pasted: bool = False,
                   failures: dict | None = None) -> list[dict]:
    """Posted in the channel: the AI's text, its length, what it was written from, Approve / Drop."""
    body = run.body or ""
    length = analyze(body)
    blocks = [
        section(f"📰 *Digest #{run.id}* ({escape(schedule)}) is ready. It goes to {plural(count, 'number')} "
                f"once someone approves it; if nobody does by {slack_time(run.deadline_at)}, it is dropped."),
        section(quote(body)),
        context(f"{len(body)} characters · {plural(length.segments, 'SMS segment')} ({length.encoding}) per number"),
    ]
    if items or pasted:
        cited = [_item_line(item) for item in items] + (["your pasted text"] if pasted else [])
        blocks.append(section("*Written from* (new since the last digest)\n" + listing([f"• {c}" for c in cited])))
    if failures:
        blocks.append(context(_failure_note(failures)))
    return [*blocks, actions(button("Approve and send", "approve_digest", run.id, "primary"),
                             button("Drop", "drop_digest", run.id, "danger"))]


def digest_outcome(run, *, schedule: str, failures: dict | None = None) -> list[dict]:
    """A run that sent nothing: nothing new in its sources, or why it could not be written."""
    if run.status == "nothing_new":
        text = (f"📰 *Digest #{run.id}* ({escape(schedule)}): nothing new in its sources since the last digest, "
                "so nothing was written or sent.")
    else:
        text = f"📰 *Digest #{run.id}* ({escape(schedule)}) could not be written: {escape(run.error or run.status)}"
        text += "" if text.endswith("sent.") else " Nothing was sent."
    return [section(text)] + ([context(_failure_note(failures))] if failures else [])


def _item_line(item) -> str:
    """`<link|Title> · riverside.example · 2024-05-01` (a knowledge document names its topic instead)."""
    title = escape(clip(item.title, 150))
    shown = f"<{escape(item.link).replace('|', '%7C')}|{title}>" if item.link else title
    where = f"knowledge base: {escape(item.origin)}" if item.source == "kb" else escape(urlsplit(item.origin).hostname
                                                                                         or item.origin)
    when = f" · {item.published:%Y-%m-%d}" if item.published else ""
    return f"{shown} · {where}{when}"


def _failure_note(failures: dict) -> str:
    lines = [f"⚠️ {code(source)} could not be read: {escape(why)}" for source, why in failures.items()]
    return "\n".join(lines) + "\nSaid once: it is not repeated while it keeps failing (`digest list` shows it)."


def _sources_named(failing: dict) -> str:
    return ", ".join(code(clip(source, 80)) for source in failing)


def digest_decided(run) -> list[dict]:
    """The approval message once decided: no buttons, and what happened."""
    outcome = {
        "approved": f"✅ Approved by {who(run.decided_by)}" + (f": sent as batch #{run.batch_id}." if run.batch_id
                                                                else "."),
        "dropped": f"🗑 Dropped by {who(run.decided_by)}: nothing was sent.",
        "expired": "⌛ Nobody approved it in time: dropped, nothing was sent.",
    }.get(run.status, f"Digest #{run.id}: {escape(run.status)}.")
    return [section(f"📰 *Digest #{run.id}*\n{outcome}"), section(quote(run.body or ""))]
