"""Big batches wait for a second person, whichever way they were made.

A batch with more sendable recipients than MULTI_SMS_APPROVAL_THRESHOLD is stored as
`awaiting_approval` (from Slack, the REST API, the web panel, the terminal chat or a reminder) and
posted in Slack for approval: SLACK_APPROVALS_CHANNEL, else SLACK_INBOX_CHANNEL, else the batch's
own channel. Only an allowed Slack user other than its author can approve it (`permissions`);
one nobody approves within MULTI_SMS_APPROVAL_HOURS is cancelled. Without Slack nobody could
approve, so such a batch is refused at once, naming the setting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from multisms.batches import Validation
from multisms.config import Settings
from multisms.errors import BatchRejected
from multisms.models import Batch, Recipient, utcnow
from multisms.storage import cancel_pending


def needed(settings: Settings, recipients: int) -> bool:
    threshold = settings.multi_sms_approval_threshold
    return bool(threshold) and recipients > threshold


def channel_for(settings: Settings, batch: Batch) -> str | None:
    """Where the request for approval is posted (None: nowhere anyone could approve it)."""
    return settings.slack_approvals_channel or settings.slack_inbox_channel or batch.slack_channel


def check_possible(settings: Settings, batch: Batch, recipients: int) -> None:
    """Raise `BatchRejected` (nothing should be stored) when a batch needs approval nobody could give."""
    if not needed(settings, recipients):
        return
    if settings.slack_configured and channel_for(settings, batch):
        return
    where = ("Slack is not configured" if not settings.slack_configured
             else "no Slack channel is set to ask in (SLACK_APPROVALS_CHANNEL or SLACK_INBOX_CHANNEL)")
    raise BatchRejected([{"field": "recipients", "message": (
        f"{recipients} recipients is more than MULTI_SMS_APPROVAL_THRESHOLD ({settings.multi_sms_approval_threshold}),"
        f" so a second person must approve it in Slack, but {where}. Send a smaller batch or set that up.")}])


def vet(settings: Settings, validation: Validation, *, channel: str | None = None) -> Validation:
    """The validation, plus the problem `check_possible` finds for a batch from `channel` (None: the
    REST API or the web panel), so previews and dry runs show it and `intake.submit` refuses it."""
    try:
        check_possible(settings, Batch(slack_channel=channel), len(validation.recipients))
    except BatchRejected as exc:
        return replace(validation, problems=(*validation.problems, *exc.problems))
    return validation


def hold(session: Session, settings: Settings, batch: Batch) -> bool:
    """A just-confirmed (`pending`) batch over the threshold waits as `awaiting_approval`.
    True when it now waits; `check_possible` must have passed."""
    recipients = session.scalar(select(func.count()).select_from(Recipient).where(
        Recipient.batch_id == batch.id, Recipient.status == "pending")) or 0
    if not needed(settings, recipients):
        return False
    check_possible(settings, batch, recipients)
    moved = session.execute(update(Batch).where(Batch.id == batch.id, Batch.status == "pending")
                            .values(status="awaiting_approval", confirmed_at=None)).rowcount
    session.refresh(batch)
    return moved == 1


def record_request(session: Session, batch_id: int, channel: str, ts: str) -> None:
    """Remember where the request for approval was posted, so it can be tidied once someone decides.
    Posted in the batch's own channel, or for a batch that has none (REST, panel, terminal chat), it
    becomes the batch's one channel message: once approved, its progress is followed there."""
    batch = session.get(Batch, batch_id)
    batch.report = {**(batch.report or {}), "approval_request": {"channel": channel, "ts": ts}}
    session.execute(update(Batch).where(
        Batch.id == batch_id, Batch.slack_ts.is_(None),
        or_(Batch.slack_channel == channel, Batch.slack_channel.is_(None))).values(slack_channel=channel, slack_ts=ts))


def request_message(batch: Batch) -> tuple[str, str] | None:
    """(channel, ts) of the batch's request for approval, once one was posted."""
    posted = (batch.report or {}).get("approval_request")
    return (posted["channel"], posted["ts"]) if posted else None


def expire(session: Session, settings: Settings, now: datetime | None = None) -> list[int]:
    """Cancel batches nobody approved in time; returns their ids (their Slack messages need updating)."""
    now = now or utcnow()
    deadline = now - timedelta(hours=settings.multi_sms_approval_hours)
    stale = list(session.scalars(select(Batch.id).where(Batch.status == "awaiting_approval",
                                                         Batch.created_at <= deadline)).all())
    expired = []
    for batch_id in stale:
        moved = session.execute(update(Batch).where(Batch.id == batch_id, Batch.status == "awaiting_approval").values(
            status="cancelled", completed_at=now,
            error=f"Nobody approved it within {settings.multi_sms_approval_hours:g} hours.")).rowcount
        if moved:
            cancel_pending(session, batch_id)
            expired.append(batch_id)
    return expired
