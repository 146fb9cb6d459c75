"""Recurring reminders and digests: create, list, pause, resume, delete, and run each occurrence once.

An occurrence is claimed with one conditional UPDATE that moves `next_run_at` on from the value
the claimer read; a second worker racing for the same occurrence updates nothing. The run row
(unique per reminder and occurrence time) is written in the same transaction, as a second
guard and as the history `remind list` shows. Times are arguments: nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from multisms import intake, scheduling
from multisms.batches import MAX_ID
from multisms.config import Settings
from multisms.errors import BatchRejected, NotFound
from multisms.models import Reminder, ReminderRun
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

    Raises `BatchRejected` (nothing stored) with every problem found.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    problems = []
    if kind == "digest" and not body.strip():
        problems.append({"field": "body", "message": "Give the source text the digest is written from."})
    if kind == "digest" and len(body) > MAX_SOURCE_CHARS:
        problems.append({"field": "body", "message": f"The source text is {len(body)} characters; "
                                                     f"the limit is {MAX_SOURCE_CHARS}."})
    message = DIGEST_PLACEHOLDER if kind == "digest" else body
    validation = intake.check(session, settings, body=message, numbers=numbers, sender=sender)
    problems += list(validation.problems)
    threshold = settings.multi_sms_approval_threshold
    if threshold and len(validation.recipients) > threshold:
        problems.append({"field": "recipients", "message": f"{len(validation.recipients)} numbers: a {kind} may go to "
                         f"at most {threshold} (MULTI_SMS_APPROVAL_THRESHOLD), as no second person approves each run."})
    if problems:
        raise BatchRejected(problems)
    reminder = Reminder(kind=kind, body=body, numbers=numbers, sender=sender, cron=schedule.cron,
                        timezone=schedule.zone or zone, next_run_at=next_run(schedule.cron, schedule.zone or zone, now),
                        created_by=created_by, slack_channel=slack_channel, paused=False)
    session.add(reminder)
    session.flush()
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


def last_runs(session: Session, reminder_ids: list[int]) -> dict[int, ReminderRun]:
    """The latest run of each reminder (for lists)."""
    if not reminder_ids:
        return {}
    runs = session.scalars(select(ReminderRun).where(ReminderRun.reminder_id.in_(reminder_ids))
                           .order_by(ReminderRun.occurrence_at)).all()
    return {run.reminder_id: run for run in runs}


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
    elif reminder.kind == "digest":
        run.status = "drafting"
        run.deadline_at = now + timedelta(minutes=settings.digest_approval_minutes)
    else:
        _make_batch(session, settings, reminder, run, reminder.body, now)
    return run


def _make_batch(session: Session, settings: Settings, reminder: Reminder, run: ReminderRun, body: str,
                now: datetime) -> None:
    """A normal, confirmed batch from the template; numbers are checked again (opt-outs change)."""
    validation = intake.check(session, settings, body=body, numbers=reminder.numbers, sender=reminder.sender)
    try:
        batch = intake.submit(session, validation, created_by=reminder.created_by, confirmed=True)
    except BatchRejected as exc:
        run.status, run.error = "failed", "; ".join(problem["message"] for problem in exc.problems)
        return
    batch.slack_channel = reminder.slack_channel
    batch.report = {**batch.report, "reminder_id": reminder.id}
    session.flush()
    run.batch_id = batch.id
    scheduling.hold(session, settings, batch, now)
