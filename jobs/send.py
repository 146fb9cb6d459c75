"""Send a confirmed batch: claim each recipient, send it, record what the provider said."""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import select

from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.gateway import GatewayError, SmsGateway, make_gateway
from multisms.models import Recipient, utcnow
from multisms.numbers import mask
from multisms.storage import (
    advance_recipient,
    batch_counts,
    claim_recipient,
    get_batch,
    move_batch,
    record_message,
)

log = logging.getLogger(__name__)

TWILIO_TO_RECIPIENT = {
    "accepted": "queued", "queued": "queued", "scheduled": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "cancelled",
}


def worker_identity() -> str:
    """Recorded on each claim: which host and process took the recipient."""
    return f"{socket.gethostname()}:{os.getpid()}"


def send_batch(batch_id: int) -> dict:
    """Send every pending recipient of the batch once; safe to run again (claims are atomic)."""
    settings = get_settings()
    gateway = make_gateway(settings)
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        if batch.status == "pending":
            move_batch(session, batch, "processing")
        elif batch.status != "processing":
            return {"batch_id": batch_id, "skipped": batch.status}
        sender, body = batch.sender, batch.body
        pending = session.scalars(
            select(Recipient.id).where(Recipient.batch_id == batch_id, Recipient.status == "pending")
            .order_by(Recipient.id)
        ).all()
    for recipient_id in pending:
        send_recipient(settings, gateway, recipient_id, sender=sender, body=body)
    return finish_batch(settings, batch_id)


def send_recipient(settings: Settings, gateway: SmsGateway, recipient_id: int, *, sender: str, body: str) -> None:
    """Claim, send and record one recipient; a recipient someone else claimed is left alone."""
    url = settings.database_url
    with session_scope(url) as session:
        if not claim_recipient(session, recipient_id, worker_identity()):
            return
        recipient = session.get(Recipient, recipient_id)
        to, batch_id = recipient.number_normalized, recipient.batch_id
    try:
        result = gateway.send(to=to, body=body, sender=sender, status_callback=status_callback_url(settings))
    except GatewayError as exc:
        log.warning("send failed batch=%s to=%s code=%s: %s", batch_id, mask(to), exc.code, exc.message)
        with session_scope(url) as session:
            advance_recipient(session, recipient_id, "failed", error_code=exc.code, error_message=exc.message)
            record_message(session, direction="outbound", from_number=sender, to_number=to, body=body,
                           status="failed", error_code=exc.code, batch_id=batch_id, recipient_id=recipient_id)
        return
    status = TWILIO_TO_RECIPIENT.get(result.status, "queued")
    with session_scope(url) as session:
        advance_recipient(session, recipient_id, status, sid=result.sid, sent_at=utcnow())
        record_message(session, direction="outbound", from_number=sender, to_number=to, body=body,
                       status=status, sid=result.sid, batch_id=batch_id, recipient_id=recipient_id)


def finish_batch(settings: Settings, batch_id: int) -> dict:
    """Close the batch once nothing is waiting to be sent; the outcome follows the counts."""
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        counts = batch_counts(session, [batch_id])[batch_id]
        waiting = counts.by_status.get("pending", 0) + counts.by_status.get("sending", 0)
        if batch.status == "processing" and not waiting:
            if counts.success + counts.by_status.get("queued", 0) == 0 and counts.failure:
                outcome = "failed"
            elif counts.failure or counts.invalid:
                outcome = "completed_with_errors"
            else:
                outcome = "completed"
            move_batch(session, batch, outcome)
        return {"batch_id": batch_id, "status": batch.status, **counts.by_status}


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio reports delivery; only when Twilio can reach us."""
    if settings.public_base_url and settings.twilio_configured:
        return settings.public_base_url.rstrip("/") + "/twilio/status"
    return None
