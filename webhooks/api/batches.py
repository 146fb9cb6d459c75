"""`/api/multi-sms/batches…`: create (or only check) a batch, list and read batches and their
recipients, download a batch's delivery report, cancel, resume, retry and reschedule; the old
app's routes and field names.

A batch over MULTI_SMS_APPROVAL_THRESHOLD is stored as `awaiting_approval` (202) and posted in
Slack for a second person. The API token names nobody, so there is no approve route here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, Response
from redis.exceptions import RedisError

from multisms import approvals, controls, intake, scheduling
from multisms.batches import Validation as ValidationResult
from multisms.config import Settings
from multisms.models import utcnow
from multisms.queues import enqueue_approval_request, enqueue_progress, enqueue_send
from multisms.quiet_hours import plan
from multisms.reports import batch_report_csv
from multisms.storage import batch_counts, get_batch, list_batches, list_recipients
from webhooks import resources
from webhooks.api.errors import rejected_as
from webhooks.api.models import (
    Batch,
    BatchListQuery,
    BatchPage,
    CreateBatch,
    CreatedBatch,
    DryRun,
    OneBatch,
    QuietHours,
    Recipient,
    RecipientPage,
    RecipientQuery,
    Reschedule,
    Validation,
)
from webhooks.api.openapi import operation

log = logging.getLogger(__name__)

bp = Blueprint("batches", __name__, url_prefix="/multi-sms/batches")


@bp.post("")
@operation("Validate and queue a batch (or only validate with dry_run)", body=CreateBatch, errors=(422,), responses={
    201: (CreatedBatch, "Created and queued (or `scheduled` until `scheduled_at`)"),
    202: (CreatedBatch, "Created; more recipients than MULTI_SMS_APPROVAL_THRESHOLD, so it waits as "
                        "`awaiting_approval` until a second person approves it in Slack (the API cannot)"),
    200: (DryRun, "dry_run result")},
    description="422 also when the batch would need an approval nobody could give (Slack not configured, "
                "or no SLACK_APPROVALS_CHANNEL / SLACK_INBOX_CHANNEL to ask in).")
def create_batch(body: CreateBatch):
    settings, session = resources.settings(), resources.db()
    numbers = body.recipients if body.recipients is not None else body.numbers or ""
    checked = approvals.vet(settings, intake.check(session, settings, body=body.body, numbers=numbers,
                                                   sender=body.sender, lists=body.lists))
    validation, quiet = Validation.of(checked), _quiet_hours(settings, checked, body.scheduled_at)
    if body.dry_run:
        return DryRun(validation=validation, quiet_hours=quiet)
    with rejected_as("Batch rejected.", validation=validation):
        batch = intake.submit(session, checked, created_by="api", confirmed=True)
        batch.scheduled_at = body.scheduled_at
        waits = approvals.hold(session, settings, batch)
    now = utcnow()
    if not waits:
        scheduling.hold(session, settings, batch, now)
    session.commit()
    if waits:
        _ask_for_approval(batch.id)
        return CreatedBatch(batch=_batch(batch.id), validation=validation, quiet_hours=quiet), 202
    scheduling.queue_start(resources.redis(), batch.id, batch.status, batch.scheduled_at, None, now=now)
    return CreatedBatch(batch=_batch(batch.id), validation=validation, quiet_hours=quiet), 201


@bp.get("")
@operation("Batches, newest first", query=BatchListQuery, responses={200: (BatchPage, "A page of batches")})
def batches(query: BatchListQuery):
    session = resources.db()
    items, total = list_batches(session, limit=query.limit, offset=query.offset)
    counts = batch_counts(session, [b.id for b in items])
    rendered = [Batch.of(batch, counts[batch.id],
                         list_recipients(session, batch.id)[0] if query.include_recipients else None)
                for batch in items]
    return BatchPage(items=rendered, count=len(rendered), total=total, limit=query.limit, offset=query.offset)


@bp.get("/<int:batch_id>")
@operation("One batch", responses={200: (OneBatch, "The batch")})
def batch(batch_id: int):
    return OneBatch(batch=_batch(batch_id))


@bp.get("/<int:batch_id>/recipients")
@operation("A batch's recipients", query=RecipientQuery, responses={200: (RecipientPage, "Recipients")})
def recipients(batch_id: int, query: RecipientQuery):
    get_batch(resources.db(), batch_id)
    items, total = list_recipients(resources.db(), batch_id, limit=query.limit, offset=query.offset,
                                   status=query.status)
    return RecipientPage(items=[Recipient.of(r) for r in items], count=len(items), total=total)


@bp.get("/<int:batch_id>/report.csv")
@operation("The batch's delivery report: every recipient with its final status (CSV, full numbers)", file="text/csv",
           responses={200: "UTF-8 CSV with a BOM: number, name, status, error code and message, sent and delivered "
                           "times (UTC), segments; cells a spreadsheet would run as formulas start with '"})
def report(batch_id: int):
    """Full numbers: whoever holds the API token owns the data."""
    data = batch_report_csv(resources.db(), batch_id, masked=False)
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=batch-{batch_id}-report.csv"})


@bp.post("/<int:batch_id>/cancel")
@operation("Stop sending; sent messages stay sent", errors=(409,),
           responses={200: (OneBatch, "The batch after the change")})
def cancel(batch_id: int):
    return _control(batch_id, controls.cancel, send=False)


@bp.post("/<int:batch_id>/resume")
@operation("Continue a paused batch", errors=(409,), responses={200: (OneBatch, "The batch after the change")})
def resume(batch_id: int):
    return _control(batch_id, controls.resume, send=True)


@bp.post("/<int:batch_id>/retry")
@operation("Send again to recipients that failed (never to delivered ones)", errors=(409,),
           responses={200: (OneBatch, "The batch after the change")})
def retry(batch_id: int):
    """Send again to the recipients that failed for a reason a retry can fix."""
    return _control(batch_id, controls.retry, send=True)


@bp.post("/<int:batch_id>/reschedule")
@operation("Move a batch that has not started to another time", body=Reschedule, errors=(409,),
           responses={200: (OneBatch, "The batch with its new time")})
def reschedule(batch_id: int, body: Reschedule):
    session = resources.db()
    batch = scheduling.reschedule(session, batch_id, body.scheduled_at)
    session.commit()
    if batch.status == "scheduled":
        scheduling.queue_start(resources.redis(), batch_id, batch.status, body.scheduled_at, batch.slack_channel,
                               now=utcnow())
    return OneBatch(batch=_batch(batch_id))


def _ask_for_approval(batch_id: int) -> None:
    """The batch is stored either way: without Redis now, a worker's due-work pass queues the request."""
    try:
        enqueue_approval_request(resources.redis(), batch_id)
    except RedisError:
        log.warning("batch %s waits for approval; its Slack request is queued once Redis is back", batch_id)


def _control(batch_id: int, action, *, send: bool) -> OneBatch:
    """After the change: queue the send, or for a cancel bring the batch's Slack message (its
    approval request, its progress) up to date, so nobody clicks Approve on a cancelled batch."""
    session = resources.db()
    action(session, batch_id)
    session.commit()
    if send:
        enqueue_send(resources.redis(), batch_id)
    elif get_batch(session, batch_id).slack_ts:
        enqueue_progress(resources.redis(), batch_id, final=True)
    return OneBatch(batch=_batch(batch_id))


def _batch(batch_id: int) -> Batch:
    """The batch as clients see it, counters fresh from its recipients (404 when there is none)."""
    session = resources.db()
    return Batch.of(get_batch(session, batch_id), batch_counts(session, [batch_id])[batch_id])


def _quiet_hours(settings: Settings, validation: ValidationResult, at: datetime | None) -> QuietHours:
    """How many recipients will be in quiet hours when the batch goes, and until when at the latest."""
    held = plan(validation.recipients, settings.quiet_window, at or utcnow())
    return QuietHours(deferred_count=len(held), deferred_until=max(held.values()) if held else None)
