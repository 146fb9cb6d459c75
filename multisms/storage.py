"""Queries and writes that more than one adapter needs: batches, recipients, counters, opt-outs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from multisms.batches import (
    FAILURE,
    FINISHED,
    MAX_ID,
    NOT_HANDED_OVER,
    RECIPIENT_RANK,
    SUCCESS,
    Validation,
    check_batch_move,
)
from multisms.errors import NotFound
from multisms.models import Batch, Message, OptOut, Recipient, utcnow


@dataclass(frozen=True)
class BatchCounts:
    """Counters derived from recipient rows, so they cannot drift under concurrent writers."""

    by_status: dict[str, int]
    rejected: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def success(self) -> int:
        return sum(self.by_status.get(s, 0) for s in SUCCESS)

    @property
    def failure(self) -> int:
        return sum(self.by_status.get(s, 0) for s in FAILURE)

    @property
    def invalid(self) -> int:
        return self.by_status.get("invalid", 0) + self.rejected

    @property
    def pending(self) -> int:
        """Not handed to Twilio yet (waiting, or claimed by a send in flight)."""
        return sum(self.by_status.get(s, 0) for s in NOT_HANDED_OVER)

    @property
    def delivered(self) -> int:
        return self.by_status.get("delivered", 0)

    @property
    def undelivered(self) -> int:
        return self.by_status.get("undelivered", 0)


def create_batch(session: Session, validation: Validation, *, created_by: str, status: str) -> Batch:
    """Store a validated batch with its recipients in the caller's transaction (all or nothing)."""
    batch = Batch(
        body=validation.body,
        sender=validation.sender,
        status=status,
        created_by=created_by,
        encoding=validation.segments.encoding,
        segments=validation.segments.segments,
        rejected_count=len(validation.invalid),
        report={
            "invalid": [{"number": e.raw, "reason": e.reason} for e in validation.invalid],
            "duplicates": [{"number": d.raw, "normalized": d.e164} for d in validation.duplicates],
            "opted_out": list(validation.opted_out),
            **({"lists": list(validation.lists)} if validation.lists else {}),
        },
        confirmed_at=utcnow() if status == "pending" else None,
    )
    session.add(batch)
    session.flush()
    raw_by_number, own_texts, names = validation.spellings, validation.own_texts, validation.names
    statuses = [(n, "pending") for n in validation.recipients] + [(n, "opted_out") for n in validation.opted_out]
    if statuses:
        now = utcnow()
        session.execute(Recipient.__table__.insert(), [
            {"batch_id": batch.id, "number_raw": raw_by_number.get(n, n), "number_normalized": n, "status": status,
             "body": own_texts.get(n), "name": names.get(n), "attempts": 0, "created_at": now, "updated_at": now}
            for n, status in statuses
        ])
    return batch


def get_batch(session: Session, batch_id: int) -> Batch:
    """The batch, or `NotFound` with a sentence a person can act on."""
    batch = session.get(Batch, batch_id) if 1 <= batch_id <= MAX_ID else None
    if batch is None:
        raise NotFound(f"No batch #{batch_id}.")
    return batch


def move_batch(session: Session, batch: Batch, status: str, *, error: str | None = None) -> None:
    """Change a batch's status if the lifecycle allows it, stamping the matching time."""
    check_batch_move(batch.status, status)
    now = utcnow()
    batch.status = status
    if error is not None:
        batch.error = error
    if status == "pending" and batch.confirmed_at is None:
        batch.confirmed_at = now
    if status == "processing" and batch.started_at is None:
        batch.started_at = now
    if status in FINISHED:
        batch.completed_at = now


def batch_counts(session: Session, batch_ids: list[int]) -> dict[int, BatchCounts]:
    """Recipient counts by status for several batches in one query."""
    if not batch_ids:
        return {}
    rows = session.execute(
        select(Recipient.batch_id, Recipient.status, func.count())
        .where(Recipient.batch_id.in_(batch_ids))
        .group_by(Recipient.batch_id, Recipient.status)
    )
    per_batch: dict[int, Counter] = {batch_id: Counter() for batch_id in batch_ids}
    for batch_id, status, count in rows:
        per_batch[batch_id][status] = count
    rejected = dict(session.execute(select(Batch.id, Batch.rejected_count).where(Batch.id.in_(batch_ids))).all())
    return {bid: BatchCounts(dict(c), rejected.get(bid, 0)) for bid, c in per_batch.items()}


def list_batches(session: Session, *, limit: int, offset: int = 0, created_by: str | None = None,
                 channel: str | None = None) -> tuple[list[Batch], int]:
    """Newest first, with the total for pagination."""
    query = select(Batch)
    if created_by:
        query = query.where(Batch.created_by == created_by)
    if channel:
        query = query.where(Batch.slack_channel == channel)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    batches = session.scalars(query.order_by(Batch.id.desc()).limit(limit).offset(offset)).all()
    return list(batches), total or 0


def list_recipients(session: Session, batch_id: int, *, limit: int | None = None, offset: int = 0,
                    status: str | None = None) -> tuple[list[Recipient], int]:
    query = select(Recipient).where(Recipient.batch_id == batch_id)
    if status:
        query = query.where(Recipient.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = query.order_by(Recipient.id).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return list(session.scalars(page).all()), total or 0


def advance_recipient(session: Session, recipient_id: int, status: str, **fields) -> bool:
    """Move a recipient forward (never back); `fields` (sid, error…) are written with the move."""
    lower = [s for s, rank in RECIPIENT_RANK.items() if rank < RECIPIENT_RANK[status]]
    now = utcnow()
    moved = session.execute(
        update(Recipient)
        .where(Recipient.id == recipient_id, Recipient.status.in_(lower))
        .values(status=status, status_at=now, updated_at=now, **fields)
    )
    return moved.rowcount == 1


def record_message(session: Session, *, direction: str, from_number: str, to_number: str, body: str,
                   status: str, sid: str | None = None, error_code: int | None = None,
                   batch_id: int | None = None, recipient_id: int | None = None,
                   slack: tuple[str, str] | None = None) -> Message:
    """`slack`: (channel, ts) of the person's thread reply this SMS texts, where its status is shown."""
    channel, ts = slack or (None, None)
    message = Message(direction=direction, from_number=from_number, to_number=to_number, body=body, status=status,
                      sid=sid, error_code=error_code, batch_id=batch_id, recipient_id=recipient_id,
                      slack_channel=channel, slack_ts=ts)
    session.add(message)
    return message


def opted_out_among(session: Session, numbers: list[str]) -> set[str]:
    """Which of these E.164 numbers have opted out."""
    if not numbers:
        return set()
    return set(session.scalars(select(OptOut.number).where(OptOut.number.in_(numbers))).all())


def cancel_pending(session: Session, batch_id: int) -> int:
    """Recipients of a batch not sent yet become `cancelled`; returns how many."""
    return session.execute(
        update(Recipient).where(Recipient.batch_id == batch_id, Recipient.status == "pending")
        .values(status="cancelled", status_at=utcnow(), updated_at=utcnow())
    ).rowcount


def known_sids(session: Session, sids: list[str]) -> set[str]:
    """Which of these message SIDs are already recorded (so a lookup never adopts one twice)."""
    if not sids:
        return set()
    return set(session.scalars(select(Message.sid).where(Message.sid.in_(sids))).all())


def apply_delivery_status(session: Session, sid: str, status: str, error_code: int | None,
                          error_message: str | None) -> Recipient | None:
    """Twilio's news of a message (a status callback or the poller): move the recipient and the message
    forward, never back. A failure reported after its batch completed makes the batch
    `completed_with_errors`, so the batch's status keeps saying what happened.

    Returns the recipient (None when the SID is not one of ours). Repeated or late news changes nothing.
    """
    fields = {"error_code": error_code, "error_message": error_message} if error_code else {}
    recipient = session.scalars(select(Recipient).where(Recipient.sid == sid)).first()
    if recipient is not None and advance_recipient(session, recipient.id, status, **fields) and status in FAILURE:
        session.execute(update(Batch).where(Batch.id == recipient.batch_id, Batch.status == "completed")
                        .values(status="completed_with_errors"))
    lower = [s for s, rank in RECIPIENT_RANK.items() if rank < RECIPIENT_RANK[status]]
    session.execute(
        update(Message).where(Message.sid == sid, Message.status.in_(lower))
        .values(status=status, updated_at=utcnow(), **({"error_code": error_code} if error_code else {}))
    )
    return recipient


def unfinished_batches(session: Session) -> list[Batch]:
    """Batches that should be sending: confirmed, being sent, or waiting for a worker."""
    return list(session.scalars(select(Batch).where(Batch.status.in_(("pending", "processing")))).all())


def record_inbound(session: Session, *, sid: str, from_number: str, to_number: str, body: str) -> Message | None:
    """Store an incoming SMS once per MessageSid; None when Twilio sent it before (a retry)."""
    if session.scalar(select(Message.id).where(Message.sid == sid)) is not None:
        return None
    try:
        with session.begin_nested():
            message = record_message(session, direction="inbound", from_number=from_number, to_number=to_number,
                                     body=body, status="received", sid=sid)
    except IntegrityError:
        return None
    return message
