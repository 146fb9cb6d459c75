"""Batch controls shared by Slack, the REST API and the panel: confirm, approve, cancel, resume, retry.

Each works inside the caller's transaction; the caller commits, then queues the send with
`multisms.queues.enqueue_send` so a worker never looks for a row that is not committed yet.
Status changes that two people could race for (two clicks on Confirm) are single
conditional UPDATEs: only one of them wins.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from multisms import permissions
from multisms.batches import RETRYABLE_RECIPIENT, check_batch_move
from multisms.config import Settings
from multisms.errors import InvalidTransition, NotAllowed
from multisms.models import Batch, Recipient, utcnow
from multisms.permissions import Actor
from multisms.storage import cancel_pending, get_batch, move_batch
from multisms.twilio_errors import PERMANENT


def confirm(session: Session, batch_id: int, *, by: str, approval_threshold: int | None = None) -> Batch:
    """A draft becomes `pending` (ready to send), or `awaiting_approval` when it is larger than
    the threshold. A second click finds no draft and raises `InvalidTransition`."""
    batch = get_batch(session, batch_id)
    recipients = session.query(Recipient).filter_by(batch_id=batch_id, status="pending").count()
    target = "awaiting_approval" if approval_threshold and recipients > approval_threshold else "pending"
    _conditional_move(session, batch, "draft", target, confirmed_at=utcnow() if target == "pending" else None)
    return batch


def approve(session: Session, settings: Settings, batch_id: int, actor: Actor) -> Batch:
    """A second person lets a large batch go: an allowed Slack user who is not its author
    (`permissions`); raises `NotAllowed` otherwise, `InvalidTransition` if it is not waiting."""
    batch = get_batch(session, batch_id)
    reason = permissions.refusal(settings, actor, "approve", author=batch.created_by)
    if reason:
        raise NotAllowed(reason)
    _conditional_move(session, batch, "awaiting_approval", "pending", approved_by=actor.who, confirmed_at=utcnow())
    return batch


def cancel(session: Session, batch_id: int) -> int:
    """Stop a batch: recipients not yet sent become `cancelled`; sent ones stay. Returns how many stopped."""
    batch = get_batch(session, batch_id)
    move_batch(session, batch, "cancelled")
    return cancel_pending(session, batch_id)


def resume(session: Session, batch_id: int) -> Batch:
    """A paused batch goes back in the queue; its error note is cleared."""
    batch = get_batch(session, batch_id)
    if batch.status != "paused":
        raise InvalidTransition(f"Only a paused batch can be resumed; #{batch_id} is {batch.status.replace('_', ' ')}.")
    move_batch(session, batch, "pending")
    batch.error = None
    return batch


def retry(session: Session, batch_id: int) -> int:
    """Send again to recipients that failed for a reason a retry can fix; never to delivered ones.

    Returns how many recipients were queued again; raises `InvalidTransition` when none can be.
    """
    batch = get_batch(session, batch_id)
    check_batch_move(batch.status, "pending")
    again = session.execute(
        update(Recipient)
        .where(
            Recipient.batch_id == batch_id,
            Recipient.status.in_(RETRYABLE_RECIPIENT),
            (Recipient.error_code.is_(None)) | (Recipient.error_code.not_in(PERMANENT)),
        )
        .values(status="pending", error_code=None, error_message=None, claimed_by=None, claimed_at=None,
                updated_at=utcnow())
    ).rowcount
    if not again:
        raise InvalidTransition(f"Batch #{batch_id} has no failed recipients that a retry could reach.")
    move_batch(session, batch, "pending")
    batch.completed_at = None
    return again


def _conditional_move(session: Session, batch: Batch, expected: str, target: str, **fields) -> None:
    check_batch_move(expected, target)
    values = {key: value for key, value in fields.items() if value is not None}
    moved = session.execute(
        update(Batch).where(Batch.id == batch.id, Batch.status == expected).values(status=target, **values)
    ).rowcount
    if moved != 1:
        session.refresh(batch)
        raise InvalidTransition(f"Batch #{batch.id} is already {batch.status.replace('_', ' ')}.")
    session.refresh(batch)
