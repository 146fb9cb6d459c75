"""Batches and recipients as JSON, with the field names the old app's API clients know."""

from __future__ import annotations

from datetime import datetime

from multisms.models import Batch, Recipient
from multisms.storage import BatchCounts


def batch_json(batch: Batch, counts: BatchCounts) -> dict:
    return {
        "id": batch.id,
        "body": batch.body,
        "sender_identity": batch.sender,
        "status": batch.status,
        "error": batch.error,
        "total_recipients": counts.total,
        "success_count": counts.success,
        "failure_count": counts.failure,
        "invalid_count": counts.invalid,
        "pending_count": counts.pending,
        "delivered_count": counts.delivered,
        "undelivered_count": counts.undelivered,
        "opted_out_count": counts.by_status.get("opted_out", 0),
        "status_counts": counts.by_status,
        "encoding": batch.encoding,
        "segments": batch.segments,
        "created_by": batch.created_by,
        "created_at": _iso(batch.created_at),
        "confirmed_at": _iso(batch.confirmed_at),
        "scheduled_at": _iso(batch.scheduled_at),
        "started_at": _iso(batch.started_at),
        "completed_at": _iso(batch.completed_at),
    }


def recipient_json(recipient: Recipient) -> dict:
    error = recipient.error_message
    if recipient.error_code:
        error = f"{recipient.error_code}: {recipient.error_message}"
    return {
        "id": recipient.id,
        "batch_id": recipient.batch_id,
        "number_raw": recipient.number_raw,
        "number_normalized": recipient.number_normalized,
        "status": recipient.status,
        "sid": recipient.sid,
        "error": error,
        "error_code": recipient.error_code,
        "attempts": recipient.attempts,
        "created_at": _iso(recipient.created_at),
        "sent_at": _iso(recipient.sent_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
