"""A digest's way from AI draft to batch: wait for a person's approval, send once, or drop it.

Every decision is one conditional UPDATE on the run's status, so two clicks on Approve (or an
Approve racing the deadline) produce one batch at most, and nothing is sent without approval.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from multisms import intake, reminders, scheduling
from multisms.batches import MAX_ID
from multisms.config import Settings
from multisms.errors import BatchRejected, InvalidTransition, NotFound
from multisms.models import Batch, Reminder, ReminderRun

DECIDED = {"approved": "was already approved", "dropped": "was dropped", "expired": "expired unapproved",
           "failed": "could not be written", "drafting": "is still being written",
           "nothing_new": "had nothing new to tell"}


def get_run(session: Session, run_id: int) -> ReminderRun:
    run = session.get(ReminderRun, run_id) if 1 <= run_id <= MAX_ID else None
    if run is None or session.get(Reminder, run.reminder_id).kind != "digest":
        raise NotFound(f"No digest draft #{run_id}.")
    return run


def record_draft(session: Session, run_id: int, body: str, *, source_errors: dict | None = None) -> bool:
    """Store the AI's text; True for the one writer whose draft counts (a retried job changes nothing)."""
    return _finish(session, run_id, body=body, status="awaiting_approval", source_errors=source_errors)


def record_failure(session: Session, run_id: int, error: str, *, source_errors: dict | None = None) -> bool:
    return _finish(session, run_id, error=error, status="failed", source_errors=source_errors)


def record_nothing_new(session: Session, run_id: int, *, source_errors: dict) -> bool:
    """Its feeds and topics brought nothing that was not already sent: nothing is written or sent."""
    return _finish(session, run_id, status="nothing_new", source_errors=source_errors)


def _finish(session: Session, run_id: int, *, source_errors: dict | None, **values) -> bool:
    """Leave `source_errors` SQL NULL when the sources were not read (the JSON type would store `null`)."""
    if source_errors is not None:
        values["source_errors"] = source_errors
    return session.execute(update(ReminderRun).where(ReminderRun.id == run_id, ReminderRun.status == "drafting")
                           .values(**values)).rowcount == 1


def approve(session: Session, settings: Settings, run_id: int, *, by: str, now: datetime) -> Batch:
    """Turn the draft into a confirmed batch, once. Raises `InvalidTransition` when it is no longer
    waiting (approved, dropped, past its deadline) and `BatchRejected` when the numbers no longer work."""
    run = get_run(session, run_id)
    moved = session.execute(update(ReminderRun).where(
        ReminderRun.id == run_id, ReminderRun.status == "awaiting_approval", ReminderRun.deadline_at > now,
    ).values(status="approved", decided_by=by)).rowcount
    session.refresh(run)
    if moved != 1:
        raise InvalidTransition(_not_waiting(run, now))
    reminder = session.get(Reminder, run.reminder_id)
    validation = intake.check(session, settings, body=run.body or "", numbers=reminder.numbers,
                              sender=reminder.sender, template=False)  # the AI's braces are not fields
    if reminders.needs_approval(settings, reminder, len(validation.recipients)):
        raise BatchRejected([{"field": "recipients", "message": (
            f"it would go to {len(validation.recipients)} numbers, more than a second person approved for "
            f"digest #{reminder.id} ({reminder.approved_size or 0}). `remind approve {reminder.id}` by a teammate "
            "lets the next one go.")}])
    batch = intake.submit(session, validation, created_by=reminder.created_by, confirmed=True)
    batch.approved_by = by
    batch.slack_channel = reminder.slack_channel
    batch.report = {**batch.report, "reminder_id": reminder.id, "digest_run_id": run.id}
    session.flush()
    run.batch_id = batch.id
    scheduling.hold(session, settings, batch, now)
    return batch


def drop(session: Session, run_id: int, *, by: str, now: datetime) -> ReminderRun:
    run = get_run(session, run_id)
    moved = session.execute(update(ReminderRun).where(
        ReminderRun.id == run_id, ReminderRun.status == "awaiting_approval").values(status="dropped", decided_by=by)
    ).rowcount
    session.refresh(run)
    if moved != 1:
        raise InvalidTransition(_not_waiting(run, now))
    return run


def expire(session: Session, now: datetime) -> list[int]:
    """Drafts nobody approved (or the AI never finished) before their deadline become `expired`."""
    return list(session.scalars(update(ReminderRun).where(
        ReminderRun.status.in_(("awaiting_approval", "drafting")), ReminderRun.deadline_at <= now,
    ).values(status="expired").returning(ReminderRun.id)).all())


def waiting(session: Session, *, limit: int = 50) -> list[ReminderRun]:
    return list(session.scalars(select(ReminderRun).where(ReminderRun.status == "awaiting_approval")
                                .order_by(ReminderRun.id).limit(limit)).all())


def _not_waiting(run: ReminderRun, now: datetime) -> str:
    if run.status == "awaiting_approval":
        return f"Digest #{run.id} waited too long for approval and is dropped."
    what = DECIDED.get(run.status, f"is {run.status}")
    sent = f": it went out as batch #{run.batch_id}" if run.batch_id else ""
    return f"Digest #{run.id} {what}{sent}."
