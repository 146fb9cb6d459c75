"""Batches that wait: send-later batches, and recipients held back by quiet hours.

A batch that must wait is `scheduled`, with `scheduled_at` = when it may go. Two independent
paths start it: RQ's scheduler (a job queued with `enqueue_at`) and every worker's due-work
pass (`jobs.scheduling.due_work`, every few seconds, no scheduler lock involved). Both end in
`promote()`: one conditional UPDATE (`scheduled → pending` where `scheduled_at <= now`), so
whichever fires first starts the batch and the other finds nothing to do.

Times are arguments (`now`), never read here, so tests can move the clock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from multisms.config import Settings
from multisms.errors import InvalidTransition
from multisms.models import Batch, Recipient
from multisms.queues import START_BATCH, enqueue, enqueue_at, enqueue_progress, enqueue_send
from multisms.quiet_hours import plan
from multisms.storage import get_batch

NOT_STARTED = ("draft", "awaiting_approval", "scheduled")
"""Statuses whose time may still change; a batch that has sent anything (`started_at`) may not."""


def hold(session: Session, settings: Settings, batch: Batch, now: datetime) -> str | None:
    """Right after a batch became `pending`: keep it back if its time has not come (`"later"`) or if
    every recipient is in quiet hours (`"quiet"`). None: it may send now (some may still be deferred)."""
    if batch.scheduled_at and batch.scheduled_at > now:
        _move(session, batch, "pending", "scheduled")
        return "later"
    wait = defer_quiet(session, settings, batch.id, now)
    if wait is None:
        return None
    _move(session, batch, "pending", "scheduled", scheduled_at=wait)
    return "quiet"


def defer_quiet(session: Session, settings: Settings, batch_id: int, now: datetime) -> datetime | None:
    """Give each pending recipient in quiet hours a `not_before`; clear it for those whose wait is over.

    Returns when the batch can next send if nobody may be texted now, else None.
    """
    rows = session.execute(select(Recipient.id, Recipient.number_normalized, Recipient.not_before).where(
        Recipient.batch_id == batch_id, Recipient.status == "pending")).all()
    free = [(rid, number, held) for rid, number, held in rows if held is None or held <= now]
    until = plan([number for _, number, _ in free], settings.quiet_window, now)
    changes: dict[datetime | None, list[int]] = defaultdict(list)
    for rid, number, held in free:
        if until.get(number) != held:
            changes[until.get(number)].append(rid)
    for target, ids in changes.items():
        session.execute(update(Recipient).where(Recipient.id.in_(ids)).values(not_before=target))
    waits = [until.get(number) for _, number, _ in free] + [held for _, _, held in rows if held and held > now]
    if not rows or any(wait is None for wait in waits):
        return None
    return min(waits)


def promote(session: Session, settings: Settings, batch_id: int, now: datetime) -> str | None:
    """Start a due batch: `pending` (queue its send), `scheduled` (everyone is in quiet hours now;
    `scheduled_at` moved to when that ends), or None (not due, or another worker already started it)."""
    moved = session.execute(update(Batch).where(
        Batch.id == batch_id, Batch.status == "scheduled", Batch.scheduled_at <= now).values(status="pending")).rowcount
    if moved != 1:
        return None
    batch = get_batch(session, batch_id)
    session.refresh(batch)
    return "scheduled" if hold(session, settings, batch, now) else "pending"


def due_batch_ids(session: Session, now: datetime) -> list[int]:
    return list(session.scalars(select(Batch.id).where(Batch.status == "scheduled", Batch.scheduled_at <= now)
                                .order_by(Batch.scheduled_at)).all())


def waiting_batch_ids(session: Session, now: datetime) -> list[int]:
    """Batches still `processing` whose remaining recipients all wait for quiet hours to end."""
    return list(session.scalars(select(Recipient.batch_id).join(Batch).where(
        Batch.status == "processing", Recipient.status == "pending", Recipient.not_before > now).distinct()).all())


def park(session: Session, batch_id: int, now: datetime) -> datetime | None:
    """`processing → scheduled` until the first deferred recipient may be texted, if nothing else is left
    to send and nothing is being sent (checked in the same UPDATE). Returns that time when parked."""
    until = session.scalar(select(func.min(Recipient.not_before)).where(
        Recipient.batch_id == batch_id, Recipient.status == "pending", Recipient.not_before > now))
    if until is None:
        return None
    busy = exists().where(Recipient.batch_id == Batch.id, or_(
        Recipient.status == "sending", and_(Recipient.status == "pending", Recipient.due_by(now))))
    moved = session.execute(update(Batch).where(Batch.id == batch_id, Batch.status == "processing", ~busy)
                            .values(status="scheduled", scheduled_at=until)).rowcount
    return until if moved == 1 else None


def reschedule(session: Session, batch_id: int, when: datetime) -> Batch:
    """Change when a batch that has not started goes; `InvalidTransition` once it has."""
    batch = get_batch(session, batch_id)
    if batch.status not in NOT_STARTED or batch.started_at is not None:
        raise InvalidTransition(f"Batch #{batch_id} has already started, so its time can't change. "
                                f"`cancel {batch_id}` stops what has not been sent.")
    moved = session.execute(update(Batch).where(
        Batch.id == batch_id, Batch.status == batch.status, Batch.started_at.is_(None)).values(scheduled_at=when))
    session.refresh(batch)
    if moved.rowcount != 1:
        raise InvalidTransition(f"Batch #{batch_id} has just started, so its time can't change.")
    return batch


def scheduled_batches(session: Session, *, limit: int = 20) -> list[Batch]:
    """Batches waiting for their time (send-later or quiet hours), soonest first."""
    return list(session.scalars(select(Batch).where(Batch.status == "scheduled")
                                .order_by(Batch.scheduled_at, Batch.id).limit(limit)).all())


def schedule_start(connection, batch_id: int, when: datetime, now: datetime) -> None:
    """Ask RQ's scheduler to start the batch at `when` (at once when that has passed).

    An early or repeated start is harmless (`promote` checks the time), so a reschedule only adds
    a new job and leaves the old one to find nothing to do.
    """
    job_id = f"start-batch-{batch_id}-{int(when.timestamp())}"
    if when <= now:
        enqueue(connection, START_BATCH, batch_id, job_id=job_id)
    else:
        enqueue_at(connection, when, START_BATCH, batch_id, job_id=job_id)


def queue_start(connection, batch_id: int, status: str, scheduled_at: datetime | None, channel: str | None, *,
                now: datetime) -> None:
    """After commit: queue a `pending` batch's send, or its start at `scheduled_at`; and its Slack message."""
    if status == "pending":
        enqueue_send(connection, batch_id)
    elif status == "scheduled" and scheduled_at:
        schedule_start(connection, batch_id, scheduled_at, now)
    if channel:
        enqueue_progress(connection, batch_id, final=status == "scheduled")


def _move(session: Session, batch: Batch, expected: str, target: str, **values) -> None:
    moved = session.execute(update(Batch).where(Batch.id == batch.id, Batch.status == expected)
                            .values(status=target, **values)).rowcount
    session.refresh(batch)
    if moved != 1:
        raise InvalidTransition(f"Batch #{batch.id} is already {batch.status.replace('_', ' ')}.")
