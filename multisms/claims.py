"""How a send run takes recipients and records what happened, a group at a time.

A recipient is texted only by the run that claimed it: `claim_group` moves up to `size` of a
batch's pending recipients to `sending`, naming the run, in one UPDATE (PostgreSQL skips rows
another run is claiming at that instant; SQLite serialises writers), and returns exactly the
rows it moved. Results are written back in groups (`record`), each row moving forward only. A
run that dies leaves its claims in `sending`; `jobs.recovery` asks Twilio about each before any
is sent again. One statement per group instead of per recipient is what lets one worker keep
dozens of requests in flight without waiting on the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.orm import Session

from multisms.batches import RECIPIENT_RANK
from multisms.models import Message, OptOut, Recipient, utcnow


@dataclass(frozen=True)
class Claimed:
    """A recipient this run claimed: its number, its own text (None: the batch's), and whether the
    number opted out since the batch was made (a STOP can arrive any time: it is honoured here)."""

    recipient_id: int
    number: str
    body: str | None
    opted_out: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed recipient: a status to move to, and what to keep about it."""

    recipient_id: int
    number: str
    body: str
    status: str
    sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None

    @property
    def sent(self) -> bool:
        return self.sid is not None


def claim_group(session: Session, batch_id: int, worker: str, size: int, now: datetime) -> list[Claimed]:
    """`pending → sending` for up to `size` recipients due by `now`, in one UPDATE; the rows this run got."""
    due = (select(Recipient.id).where(Recipient.batch_id == batch_id, Recipient.status == "pending",
                                      Recipient.due_by(now))
           .order_by(Recipient.id).limit(size))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(
        update(Recipient)
        .where(Recipient.id.in_(due.scalar_subquery()), Recipient.status == "pending")
        .values(status="sending", claimed_by=worker, claimed_at=now, status_at=now, updated_at=now,
                attempts=Recipient.attempts + 1)
        .returning(Recipient.id, Recipient.number_normalized, Recipient.body,
                   exists().where(OptOut.number == Recipient.number_normalized))
    ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda claimed: claimed.recipient_id)


def record(session: Session, batch_id: int, sender: str, outcomes: Sequence[Outcome]) -> None:
    """Write a group of outcomes: each recipient moves forward only, and every message that went to
    Twilio (sent or refused) joins the history."""
    now = utcnow()
    by_status: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(outcome)
    for status, group in by_status.items():
        lower = [name for name, rank in RECIPIENT_RANK.items() if rank < RECIPIENT_RANK[status]]
        table = Recipient.__table__
        session.execute(  # Core executemany: one statement, one row of parameters per recipient
            table.update().where(table.c.id == bindparam("rid"), or_(*(table.c.status == name for name in lower)))
            .values(status=status, status_at=now, updated_at=now, sid=bindparam("sid"),
                    sent_at=bindparam("sent_at"), error_code=bindparam("code"), error_message=bindparam("reason")),
            [{"rid": o.recipient_id, "sid": o.sid, "sent_at": now if o.sent else None, "code": o.error_code,
              "reason": o.error_message} for o in group])
    history = [{"direction": "outbound", "from_number": sender, "to_number": o.number, "body": o.body,
                "status": o.status, "sid": o.sid, "error_code": o.error_code, "batch_id": batch_id,
                "recipient_id": o.recipient_id, "created_at": now, "updated_at": now}
               for o in outcomes if o.sent or o.error_code is not None]
    if history:
        session.execute(Message.__table__.insert(), history)


def release(session: Session, worker: str, recipient_ids: Iterable[int], *, until: datetime | None = None) -> int:
    """Give claims back (`sending → pending`): not sent after all (stopped), or held until `until`
    (the recipient's quiet hours began first). Only this run's claims are touched."""
    ids = list(recipient_ids)
    if not ids:
        return 0
    values = {"status": "pending", "claimed_by": None, "claimed_at": None, "updated_at": utcnow()}
    if until is not None:
        values["not_before"] = until
    return session.execute(
        update(Recipient).where(Recipient.id.in_(ids), Recipient.status == "sending", Recipient.claimed_by == worker)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount


def stuck(session: Session, claimed_before: datetime) -> list[Recipient]:
    """Recipients left in `sending` by a claim older than `claimed_before`."""
    return list(session.scalars(
        select(Recipient).where(Recipient.status == "sending", Recipient.claimed_at < claimed_before)
        .order_by(Recipient.id)
    ).all())
