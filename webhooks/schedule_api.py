"""`/api/…` scheduling routes: reschedule a batch, recurring reminders and digests, digest approval.

Mounted inside the `api` blueprint (`webhooks.api`), so the same bearer-token check guards it.
Times in and out are ISO 8601 with an offset; schedules are the words or cron expressions
the Slack command takes (`every weekday at 9:00`, `0 9 * * 1-5`).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from multisms import digests, reminders, scheduling
from multisms.batches import Validation
from multisms.config import Settings
from multisms.errors import BatchRejected
from multisms.models import Reminder, ReminderRun, utcnow
from multisms.quiet_hours import plan
from multisms.storage import batch_counts
from multisms.timespec import TimeProblem, describe, parse_instant, parse_schedule, zone_of
from webhooks import resources
from webhooks.serializers import batch_json

bp = Blueprint("schedule", __name__)


class CreateReminder(BaseModel):
    """The body of `POST /api/reminders`."""

    model_config = ConfigDict(extra="forbid")

    schedule: str = Field(min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    body: str = Field(min_length=1, max_length=reminders.MAX_SOURCE_CHARS)
    numbers: str = Field(min_length=1, max_length=200_000)
    sender: str | None = None
    kind: str = Field(default="reminder", pattern="^(reminder|digest)$")


class Reschedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: str


def send_time(value: str | None) -> datetime | None:
    """`scheduled_at` from a request: ISO 8601 with an offset, in the future; 400 naming the problem."""
    if value is None:
        return None
    try:
        return parse_instant(value, now=utcnow())
    except TimeProblem as exc:
        abort(_bad({"field": "scheduled_at", "message": str(exc)}))


def quiet_summary(settings: Settings, validation: Validation, at: datetime | None) -> dict:
    """How many recipients will be in quiet hours when the batch goes, and until when at the latest."""
    held = plan(validation.recipients, settings.quiet_window, at or utcnow())
    latest = max(held.values()) if held else None
    return {"deferred_count": len(held), "deferred_until": latest.isoformat() if latest else None}


@bp.post("/multi-sms/batches/<int:batch_id>/reschedule")
def reschedule(batch_id: int):
    """Move a batch that has not started to another time."""
    data = _body(Reschedule)
    when = send_time(data.scheduled_at)
    session = resources.db()
    batch = scheduling.reschedule(session, batch_id, when)
    session.commit()
    if batch.status == "scheduled":
        scheduling.queue_start(resources.redis(), batch_id, batch.status, when, batch.slack_channel, now=utcnow())
    return jsonify(batch=batch_json(batch, batch_counts(session, [batch_id])[batch_id]))


@bp.get("/reminders")
def list_reminders():
    found = reminders.list_reminders(resources.db(), limit=200)
    return jsonify(items=[reminder_json(r) for r in found], count=len(found))


@bp.post("/reminders")
def create_reminder():
    """A recurring reminder (each run is a batch) or digest (each run waits for approval)."""
    data = _body(CreateReminder)
    settings, session = resources.settings(), resources.db()
    if data.kind == "digest" and not settings.openai_api_key:
        return jsonify(error="Reminder rejected.", problems=[
            {"field": "kind", "message": "Digests need an OpenAI key: set OPENAI_API_KEY, then add it again."}]), 422
    try:
        schedule = parse_schedule(data.schedule)
        zone = schedule.zone or data.timezone or settings.default_timezone
        zone_of(zone)
    except TimeProblem as exc:
        abort(_bad({"field": "timezone" if "time zone" in str(exc) else "schedule", "message": str(exc)}))
    try:
        reminder = reminders.create(session, settings, kind=data.kind, schedule=schedule, zone=zone, body=data.body,
                                    numbers=data.numbers, sender=data.sender, created_by="api", slack_channel=None,
                                    now=utcnow())
    except BatchRejected as exc:
        return jsonify(error="Reminder rejected.", problems=exc.problems), 422
    session.commit()
    return jsonify(reminder=reminder_json(reminder)), 201


@bp.get("/reminders/<int:reminder_id>")
def get_reminder(reminder_id: int):
    return jsonify(reminder=reminder_json(reminders.get_reminder(resources.db(), reminder_id)))


@bp.post("/reminders/<int:reminder_id>/pause")
def pause_reminder(reminder_id: int):
    return _change(reminder_id, lambda session: reminders.pause(session, reminder_id))


@bp.post("/reminders/<int:reminder_id>/resume")
def resume_reminder(reminder_id: int):
    return _change(reminder_id, lambda session: reminders.resume(session, reminder_id, utcnow()))


@bp.delete("/reminders/<int:reminder_id>")
def delete_reminder(reminder_id: int):
    reminders.get_reminder(resources.db(), reminder_id)
    session = resources.db()
    reminders.remove(session, reminder_id)
    session.commit()
    return jsonify(deleted=reminder_id)


@bp.get("/digest-drafts")
def digest_drafts():
    """Digests the AI has written that wait for someone's approval."""
    found = digests.waiting(resources.db())
    return jsonify(items=[run_json(run) for run in found], count=len(found))


@bp.post("/digest-drafts/<int:run_id>/approve")
def approve_draft(run_id: int):
    """Send the digest as a batch, once; 409 when it was already decided or its deadline passed."""
    settings, session, now = resources.settings(), resources.db(), utcnow()
    try:
        batch = digests.approve(session, settings, run_id, by="api", now=now)
    except BatchRejected as exc:
        session.rollback()
        return jsonify(error="The digest can't be sent.", problems=exc.problems), 422
    session.commit()
    scheduling.queue_start(resources.redis(), batch.id, batch.status, batch.scheduled_at, batch.slack_channel, now=now)
    counts = batch_counts(session, [batch.id])[batch.id]
    return jsonify(draft=run_json(digests.get_run(session, run_id)), batch=batch_json(batch, counts))


@bp.post("/digest-drafts/<int:run_id>/drop")
def drop_draft(run_id: int):
    session = resources.db()
    run = digests.drop(session, run_id, by="api", now=utcnow())
    session.commit()
    return jsonify(draft=run_json(run))


def reminder_json(reminder: Reminder) -> dict:
    return {
        "id": reminder.id, "kind": reminder.kind, "schedule": describe(reminder.cron), "cron": reminder.cron,
        "timezone": reminder.timezone, "body": reminder.body, "numbers": reminder.numbers,
        "sender": reminder.sender, "paused": reminder.paused, "next_run_at": reminder.next_run_at.isoformat(),
        "last_run_at": reminder.last_run_at.isoformat() if reminder.last_run_at else None,
        "created_by": reminder.created_by, "created_at": reminder.created_at.isoformat(),
    }


def run_json(run: ReminderRun) -> dict:
    return {
        "id": run.id, "reminder_id": run.reminder_id, "occurrence_at": run.occurrence_at.isoformat(),
        "status": run.status, "body": run.body, "batch_id": run.batch_id, "error": run.error,
        "deadline_at": run.deadline_at.isoformat() if run.deadline_at else None, "decided_by": run.decided_by,
    }


def _change(reminder_id: int, action):
    reminders.get_reminder(resources.db(), reminder_id)
    session = resources.db()
    reminder = action(session)
    session.commit()
    return jsonify(reminder=reminder_json(reminder))


def _body(model: type[BaseModel]):
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(_bad({"field": "body", "message": "Send a JSON object."}))
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        abort(_bad(*[{"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
                     for err in exc.errors(include_url=False)]))


def _bad(*problems: dict):
    response = jsonify(error="Invalid request.", problems=list(problems))
    response.status_code = 400
    return response
