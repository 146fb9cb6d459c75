"""`/api/reminders…` and `/api/digest-drafts…`: recurring reminders and digests, and the approval
of the digests the AI writes. (A batch's own time is in `webhooks.api.batches`: reschedule.)

Times in and out are ISO 8601 with an offset; schedules are the words or cron expressions
the Slack command takes (`every weekday at 9:00`, `0 9 * * 1-5`).
"""

from __future__ import annotations

from flask import Blueprint

from multisms import digest_items, digests, reminders, scheduling
from multisms.errors import TimeProblem
from multisms.models import utcnow
from multisms.storage import batch_counts
from multisms.timespec import parse_schedule, zone_of
from webhooks import resources
from webhooks.api.digest_models import ApprovedDraft, DigestDraft, DraftList, OneDraft
from webhooks.api.errors import ApiError, invalid, rejected_as
from webhooks.api.models import Batch, CreateReminder, Deleted, OneReminder, Reminder, ReminderList
from webhooks.api.openapi import operation

bp = Blueprint("scheduling", __name__)
RUNS_LISTED = 20
"""Runs `GET /api/reminders/<id>/runs` returns: a few months of a weekly digest."""


@bp.get("/reminders")
@operation("Recurring reminders and digests", responses={200: (ReminderList, "All reminders and digests")})
def list_reminders():
    found = reminders.list_reminders(resources.db(), limit=200)
    return ReminderList(items=[Reminder.of(r) for r in found], count=len(found))


@bp.post("/reminders")
@operation("Add a recurring reminder (each run is a batch) or digest (each run waits for approval)",
           body=CreateReminder, errors=(422,), responses={201: (OneReminder, "Added")},
           description="422 also when a digest is asked for and OPENAI_API_KEY is not set.")
def create_reminder(body: CreateReminder):
    settings, session = resources.settings(), resources.db()
    if body.kind == "digest" and not settings.openai_api_key:
        raise ApiError(422, "Reminder rejected.", problems=[
            {"field": "kind", "message": "Digests need an OpenAI key: set OPENAI_API_KEY, then add it again."}])
    try:
        schedule = parse_schedule(body.schedule)
        zone = schedule.zone or body.timezone or settings.default_timezone
        zone_of(zone)
    except TimeProblem as exc:
        raise invalid({"field": "timezone" if "time zone" in str(exc) else "schedule", "message": str(exc)}) from exc
    with rejected_as("Reminder rejected."):
        reminder = reminders.create(session, settings, kind=body.kind, schedule=schedule, zone=zone, body=body.body,
                                    numbers=body.numbers, sender=body.sender, created_by="api", slack_channel=None,
                                    now=utcnow())
    session.commit()
    return OneReminder(reminder=Reminder.of(reminder)), 201


@bp.get("/reminders/<int:reminder_id>")
@operation("One reminder", responses={200: (OneReminder, "The reminder")})
def get_reminder(reminder_id: int):
    return OneReminder(reminder=Reminder.of(reminders.get_reminder(resources.db(), reminder_id)))


@bp.post("/reminders/<int:reminder_id>/pause")
@operation("Stop a reminder until it is resumed", responses={200: (OneReminder, "Paused")})
def pause_reminder(reminder_id: int):
    return _change(reminder_id, lambda session: reminders.pause(session, reminder_id))


@bp.post("/reminders/<int:reminder_id>/resume")
@operation("Run a paused reminder again, from its next time", responses={200: (OneReminder, "Running")})
def resume_reminder(reminder_id: int):
    return _change(reminder_id, lambda session: reminders.resume(session, reminder_id, utcnow()))


@bp.delete("/reminders/<int:reminder_id>")
@operation("Delete a reminder (batches it sent stay)", responses={200: (Deleted, "Deleted")})
def delete_reminder(reminder_id: int):
    session = resources.db()
    reminders.get_reminder(session, reminder_id)
    reminders.remove(session, reminder_id)
    session.commit()
    return Deleted(deleted=reminder_id)


@bp.get("/reminders/<int:reminder_id>/runs")
@operation(f"A reminder's latest {RUNS_LISTED} runs, newest first: for a digest, its text and what each carried",
           responses={200: (DraftList, "Runs")})
def reminder_runs(reminder_id: int):
    session = resources.db()
    reminders.get_reminder(session, reminder_id)
    return _drafts(reminders.recent_runs(session, [reminder_id], per_reminder=RUNS_LISTED)[reminder_id])


@bp.get("/digest-drafts")
@operation("Digests written by the AI that wait for approval", responses={200: (DraftList, "Waiting drafts")})
def digest_drafts():
    return _drafts(digests.waiting(resources.db()))


@bp.post("/digest-drafts/<int:run_id>/approve")
@operation("Send the digest as a batch (once)", errors=(409, 422),
           responses={200: (ApprovedDraft, "Approved and queued")})
def approve_draft(run_id: int):
    """Send the digest as a batch, once; 409 when it was already decided or its deadline passed."""
    settings, session, now = resources.settings(), resources.db(), utcnow()
    with rejected_as("The digest can't be sent."):
        batch = digests.approve(session, settings, run_id, by="api", now=now)
    session.commit()
    scheduling.queue_start(resources.redis(), batch.id, batch.status, batch.scheduled_at, batch.slack_channel, now=now)
    counts = batch_counts(session, [batch.id])[batch.id]
    return ApprovedDraft(draft=_draft(digests.get_run(session, run_id)), batch=Batch.of(batch, counts))


@bp.post("/digest-drafts/<int:run_id>/drop")
@operation("Drop the digest: nothing is sent", errors=(409,), responses={200: (OneDraft, "Dropped")})
def drop_draft(run_id: int):
    session = resources.db()
    run = digests.drop(session, run_id, by="api", now=utcnow())
    session.commit()
    return OneDraft(draft=_draft(run))


def _drafts(runs: list) -> DraftList:
    carried = digest_items.carried(resources.db(), [run.id for run in runs])
    return DraftList(items=[DigestDraft.of(run, carried[run.id]) for run in runs], count=len(runs))


def _draft(run) -> DigestDraft:
    return DigestDraft.of(run, digest_items.carried(resources.db(), [run.id])[run.id])


def _change(reminder_id: int, action) -> OneReminder:
    session = resources.db()
    reminders.get_reminder(session, reminder_id)
    reminder = action(session)
    session.commit()
    return OneReminder(reminder=Reminder.of(reminder))
