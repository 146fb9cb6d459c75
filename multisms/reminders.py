"""Recurring reminders and digests: create, list, pause, resume, delete, and run each occurrence once.

An occurrence is claimed with one conditional UPDATE that moves `next_run_at` on from the value
the claimer read; a second worker racing for the same occurrence updates nothing. The run row
(unique per reminder and occurrence time) is written in the same transaction, as a second
guard and as the history `remind list` shows. Times are arguments: nothing here reads the clock.

A reminder or digest over MULTI_SMS_APPROVAL_THRESHOLD is approved once by a second person (usually
right after it is added) for the size it had then; an occurrence that has grown past that size is
skipped until someone approves again. Its author's permission (`permissions`) is checked at every
occurrence too: a reminder whose author may no longer send sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from multisms import approvals, digest_sources, intake, permissions, scheduling
from multisms.batches import MAX_ID, Validation
from multisms.config import Settings
from multisms.errors import BatchRejected, InvalidTransition, NotAllowed, NotFound
from multisms.models import Reminder, ReminderRun
from multisms.permissions import Actor
from multisms.timespec import Schedule, latest_run, next_run

KINDS = ("reminder", "digest")
MISSED_AFTER = timedelta(hours=1)
"""An occurrence found later than this (no worker was running) is skipped, not sent late."""
MAX_SOURCE_CHARS = 20_000
DIGEST_PLACEHOLDER = "Digest"
"""Stands in for the digest's text when its numbers and sender are checked at creation."""


@dataclass(frozen=True)
class Due:
    """What a worker read about a due reminder; the claim succeeds only if it is still true."""

    id: int
    next_run_at: datetime
    cron: str
    timezone: str


def create(session: Session, settings: Settings, *, kind: str, schedule: Schedule, zone: str, body: str,
           numbers: str, sender: str | None, created_by: str, slack_channel: str | None,
           now: datetime) -> Reminder:
    """Store a reminder after checking its numbers and message as a batch would be checked.

    One over the approval threshold is stored unapproved (`needs_approval`): nothing goes out until a
    second person approves it. Raises `BatchRejected` (nothing stored) with every problem found, or
    when such a reminder could never be approved (Slack not configured).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    problems = digest_sources.problems(digest_sources.read_sources(body)) if kind == "digest" else []
    if kind == "digest" and len(body) > MAX_SOURCE_CHARS:
        problems.append({"field": "body", "message": f"The source text is {len(body)} characters; "
                                                     f"the limit is {MAX_SOURCE_CHARS}."})
    message = DIGEST_PLACEHOLDER if kind == "digest" else body
    validation = intake.check(session, settings, body=message, numbers=numbers, sender=sender)
    problems += list(validation.problems)
    if problems:
        raise BatchRejected(problems)
    reminder = Reminder(kind=kind, body=body, numbers=numbers, sender=sender, cron=schedule.cron,
                        timezone=schedule.zone or zone, next_run_at=next_run(schedule.cron, schedule.zone or zone, now),
                        created_by=created_by, slack_channel=slack_channel, paused=False)
    approvals.check_possible(settings, reminder, len(validation.recipients))
    session.add(reminder)
    session.flush()
    return reminder


def size(session: Session, settings: Settings, reminder: Reminder) -> int:
    """How many people an occurrence would text now (lists and opt-outs change between runs)."""
    return len(_check(session, settings, reminder).recipients)


def needs_approval(settings: Settings, reminder: Reminder, recipients: int) -> bool:
    """Over the threshold, and larger than what a second person approved (nothing approved yet: any size)."""
    return approvals.needed(settings, recipients) and (reminder.approved_size or 0) < recipients


def approve(session: Session, settings: Settings, reminder_id: int, actor: Actor) -> Reminder:
    """A second person lets a big reminder go, up to the size it has now. Raises `NotAllowed` for its author,
    shared identities and people not allowed; `InvalidTransition` when there is nothing to approve."""
    reminder = get_reminder(session, reminder_id)
    reason = permissions.refusal(settings, actor, "approve", author=reminder.created_by)
    if reason:
        raise NotAllowed(reason)
    recipients = size(session, settings, reminder)
    if not needs_approval(settings, reminder, recipients):
        already = (f"is already approved for up to {reminder.approved_size} numbers" if reminder.approved_size
                   else "needs no approval")
        raise InvalidTransition(f"Reminder #{reminder_id} {already}; it goes to {recipients} now.")
    moved = session.execute(update(Reminder).where(
        Reminder.id == reminder_id,
        (Reminder.approved_size.is_(None)) | (Reminder.approved_size < recipients),
    ).values(approved_size=recipients, approved_by=actor.who)).rowcount
    session.refresh(reminder)
    if moved != 1:
        raise InvalidTransition(f"Reminder #{reminder_id} was just approved by someone else.")
    return reminder


def get_reminder(session: Session, reminder_id: int) -> Reminder:
    reminder = session.get(Reminder, reminder_id) if 1 <= reminder_id <= MAX_ID else None
    if reminder is None:
        raise NotFound(f"No reminder #{reminder_id}.")
    return reminder


def list_reminders(session: Session, *, kind: str | None = None, limit: int = 50) -> list[Reminder]:
    query = select(Reminder)
    if kind:
        query = query.where(Reminder.kind == kind)
    return list(session.scalars(query.order_by(Reminder.id).limit(limit)).all())


def recent_runs(session: Session, reminder_ids: list[int], per_reminder: int) -> dict[int, list[ReminderRun]]:
    """Reminder id → its latest runs, newest first (at most `per_reminder` each), for lists."""
    found: dict[int, list[ReminderRun]] = defaultdict(list)
    if not reminder_ids:
        return found
    rows = session.scalars(select(ReminderRun).where(ReminderRun.reminder_id.in_(reminder_ids))
                           .order_by(ReminderRun.reminder_id, ReminderRun.occurrence_at.desc()))
    for row in rows:
        if len(found[row.reminder_id]) < per_reminder:
            found[row.reminder_id].append(row)
    return found


def pause(session: Session, reminder_id: int) -> Reminder:
    reminder = get_reminder(session, reminder_id)
    reminder.paused = True
    return reminder


def resume(session: Session, reminder_id: int, now: datetime) -> Reminder:
    """Runs again from the next occurrence after now; occurrences missed while paused are not sent."""
    reminder = get_reminder(session, reminder_id)
    reminder.paused = False
    reminder.next_run_at = next_run(reminder.cron, reminder.timezone, now)
    return reminder


def remove(session: Session, reminder_id: int) -> Reminder:
    """Delete the reminder and its run history; batches it sent stay."""
    reminder = get_reminder(session, reminder_id)
    session.execute(delete(ReminderRun).where(ReminderRun.reminder_id == reminder_id))
    session.delete(reminder)
    return reminder


def due(session: Session, now: datetime) -> list[Due]:
    rows = session.execute(select(Reminder.id, Reminder.next_run_at, Reminder.cron, Reminder.timezone).where(
        Reminder.paused.is_(False), Reminder.next_run_at <= now).order_by(Reminder.next_run_at)).all()
    return [Due(*row) for row in rows]


def run_occurrence(session: Session, settings: Settings, item: Due, now: datetime) -> ReminderRun | None:
    """Claim the latest due occurrence and act on it: a batch (reminder) or a draft to write (digest).

    Must be the first statement of a fresh transaction (SQLite upgrades a read transaction to a
    write only if nothing changed since it read). None when another worker claimed it first.
    """
    occurrence = latest_run(item.cron, item.timezone, now)
    claimed = session.execute(update(Reminder).where(
        Reminder.id == item.id, Reminder.paused.is_(False), Reminder.next_run_at == item.next_run_at,
    ).values(next_run_at=next_run(item.cron, item.timezone, now), last_run_at=occurrence)).rowcount
    if claimed != 1:
        return None
    reminder = get_reminder(session, item.id)
    run = ReminderRun(reminder_id=item.id, occurrence_at=occurrence, status="sent")
    session.add(run)
    session.flush()  # the unique (reminder, occurrence) row: a second guard against a double run
    if now - occurrence > MISSED_AFTER:
        run.status, run.error = "missed", "No worker was running at that time; skipped rather than sent late."
        return run
    refused = permissions.refusal(settings, Actor(reminder.created_by, reminder.slack_channel), "send")
    validation = None if refused else _check(session, settings, reminder)
    if refused:
        run.status, run.error = "refused", refused
    elif needs_approval(settings, reminder, len(validation.recipients)):
        run.status, run.error = "unapproved", _unapproved(reminder, len(validation.recipients))
    elif reminder.kind == "digest":
        run.status = "drafting"
        run.deadline_at = now + timedelta(minutes=settings.digest_approval_minutes)
    else:
        _make_batch(session, settings, reminder, run, validation, now)
    return run


def is_news(session: Session, run: ReminderRun) -> bool:
    """Whether this run's outcome differs from the previous run's: a refusal is said in Slack once, not
    at every occurrence."""
    previous = session.execute(select(ReminderRun.status, ReminderRun.error).where(
        ReminderRun.reminder_id == run.reminder_id, ReminderRun.occurrence_at < run.occurrence_at)
        .order_by(ReminderRun.occurrence_at.desc()).limit(1)).first()
    return previous is None or (previous.status, previous.error) != (run.status, run.error)


def _check(session: Session, settings: Settings, reminder: Reminder) -> Validation:
    """The reminder's numbers checked now, as a batch would be (a digest's text is not written yet)."""
    body = DIGEST_PLACEHOLDER if reminder.kind == "digest" else reminder.body
    return intake.check(session, settings, body=body, numbers=reminder.numbers, sender=reminder.sender)


def _unapproved(reminder: Reminder, recipients: int) -> str:
    if reminder.approved_size:
        return (f"It goes to {recipients} numbers now, more than the {reminder.approved_size} approved: "
                "a second person has to approve it again.")
    return f"It goes to {recipients} numbers and nobody has approved it yet."


def _make_batch(session: Session, settings: Settings, reminder: Reminder, run: ReminderRun,
                validation: Validation, now: datetime) -> None:
    """A normal, confirmed batch from the template; numbers were checked again (opt-outs change)."""
    try:
        batch = intake.submit(session, validation, created_by=reminder.created_by, confirmed=True)
    except BatchRejected as exc:
        run.status, run.error = "failed", "; ".join(problem["message"] for problem in exc.problems)
        return
    batch.slack_channel = reminder.slack_channel
    batch.report = {**batch.report, "reminder_id": reminder.id}
    if approvals.needed(settings, len(validation.recipients)):
        batch.approved_by = reminder.approved_by  # approved once for the reminder, up to this size
    session.flush()
    run.batch_id = batch.id
    scheduling.hold(session, settings, batch, now)
