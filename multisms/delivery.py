"""What became of the messages we handed to Twilio.

- `find_accepted`: before anything is sent again (after a timeout, or a dead worker's claim),
  Twilio is asked whether it already took this recipient's text. A message it took is adopted,
  never sent twice. The look-up lists by `To` with no `DateSent` filter and matches on
  `date_created`: a message still in Twilio's queue has no `date_sent`, and those are exactly
  the ones a crash leaves behind.
- `record_sent`: the recipient moves to what Twilio said; the message joins the history.
- `poll_statuses`: status callbacks are a convenience, not a promise (PUBLIC_BASE_URL unset,
  callbacks lost). The poller reads each sender's recent messages a thousand at a time and
  fetches by SID only the stragglers, each recipient on its own backoff. A `sent` message with
  no receipt after MULTI_SMS_RECEIPT_WINDOW_SECONDS is final (many carriers never send one);
  a queued one is not asked about after its ValidityPeriod. Thread replies (a team member's
  reply texted from Slack: a `messages` row with no recipient, `thread_reply`) are followed the
  same way, so their status reaches Slack with or without callbacks.
- `finish_batch`: a batch with nothing left to hand over ends by `batches.batch_outcome`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from multisms.batches import AWAITING_RECEIPT, RECIPIENT_RANK, batch_outcome
from multisms.config import Settings
from multisms.db import session_scope
from multisms.errors import GatewayError
from multisms.gateway import SendResult, SmsGateway
from multisms.models import Batch, Message, Recipient, utcnow
from multisms.storage import (
    advance_recipient,
    apply_delivery_status,
    batch_counts,
    cancel_pending,
    get_batch,
    known_sids,
    move_batch,
    record_message,
)
from multisms.twilio_errors import TWILIO_TO_RECIPIENT, describe

log = logging.getLogger(__name__)

LOOKUP_MARGIN = timedelta(seconds=60)
"""Look from a little before the claim: our clock and Twilio's may differ by a few seconds."""
POLL_MAX_PAGES = 3
"""Pages (of 1000) of one sender's messages read per poll; older stragglers are fetched by SID."""
POLL_MAX_FETCHES = 100
"""Messages fetched one by one per poll at most; the rest wait for the next pass."""
FIRST_CHECK = timedelta(seconds=5)
"""With no status callbacks, the first look comes this soon after the send."""
FIRST_CHECK_WITH_CALLBACKS = timedelta(minutes=10)
"""With callbacks configured the poller is only the safety net for lost ones."""
MAX_BACKOFF = timedelta(minutes=15)
"""Later looks are spaced by a quarter of the message's age, up to this."""
_SMART_ENCODING = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                                 "\u2014": "-", "\u00a0": " ", "\u2026": "..."})


def find_accepted(settings: Settings, gateway: SmsGateway, *, to: str, sender: str, body: str,
                  since: datetime) -> SendResult | None:
    """A message with this text to `to`, created since `since`, that we have not recorded: Twilio took
    it and the answer was lost. `body` is the recipient's own text, as stored for them."""
    wanted = _comparable(body)
    found = gateway.find_sent(to=to, sender=sender, since=since - LOOKUP_MARGIN)
    candidates = [m for m in found if m.body is not None and _comparable(m.body) == wanted]
    with session_scope(settings.database_url) as session:
        known = known_sids(session, [m.sid for m in candidates])
    return next((m for m in candidates if m.sid not in known), None)


def record_sent(settings: Settings, batch_id: int, recipient_id: int, *, sender: str, to: str, body: str,
                result: SendResult) -> None:
    """The recipient moves forward to what Twilio said, and the message joins the history."""
    status = TWILIO_TO_RECIPIENT.get(result.status, "queued")
    with session_scope(settings.database_url) as session:
        advance_recipient(session, recipient_id, status, sid=result.sid, sent_at=utcnow())
        record_message(session, direction="outbound", from_number=sender, to_number=to, body=body,
                       status=status, sid=result.sid, batch_id=batch_id, recipient_id=recipient_id)


def finish_batch(settings: Settings, batch_id: int) -> dict:
    """Close the batch once nothing waits to be handed to Twilio; the outcome follows the counts."""
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        counts = batch_counts(session, [batch_id])[batch_id]
        if batch.status == "cancelled" and counts.by_status.get("pending"):
            cancel_pending(session, batch_id)  # claims given back by threads stopped mid-wait
            counts = batch_counts(session, [batch_id])[batch_id]
        if batch.status == "processing" and not counts.pending:
            move_batch(session, batch, batch_outcome(counts.success, counts.failure, counts.invalid))
        return {"batch_id": batch_id, "status": batch.status, **counts.by_status}


@dataclass
class PollReport:
    """One poller pass: how many recipients were looked at, how many moved, and Twilio calls made
    (`list_calls` counts pages)."""

    checked: int = 0
    changed: int = 0
    list_calls: int = 0
    fetches: int = 0
    batches: set[int] = field(default_factory=set)
    replies: set[int] = field(default_factory=set)
    """Thread replies (message ids) whose status moved: Slack shows it on the person's message."""


@dataclass(frozen=True)
class _Awaiting:
    """A batch recipient's message, or a thread reply's (`message_id`; no recipient, no batch)."""

    recipient_id: int | None
    batch_id: int | None
    sid: str
    sender: str
    status: str
    sent_at: datetime
    checked_at: datetime | None
    message_id: int | None = None


def thread_reply(session: Session, sid: str) -> int | None:
    """The message id when `sid` texted a person's reply in a conversation thread (its status is shown there)."""
    return session.scalar(select(Message.id).where(Message.sid == sid, Message.recipient_id.is_(None),
                                                   Message.slack_ts.is_not(None)))


def poll_statuses(settings: Settings, gateway: SmsGateway, now: datetime | None = None) -> PollReport:
    """Ask Twilio about accepted messages whose final status we do not know, as their backoff allows."""
    report = PollReport()
    if not settings.twilio_configured:
        return report  # the console gateway has nothing to ask
    now = now or utcnow()
    first = FIRST_CHECK_WITH_CALLBACKS if settings.status_callback_url else FIRST_CHECK
    due = [row for row in _awaiting(settings, now) if _due(row, now, first)]
    by_sender: dict[str, list[_Awaiting]] = defaultdict(list)
    for row in due:
        by_sender[row.sender].append(row)
    seen: dict[str, SendResult] = {}
    for sender, rows in by_sender.items():
        try:
            _look_up(gateway, sender, rows, seen, report)
        except GatewayError as exc:
            log.warning("delivery poll: Twilio could not be asked about %s messages yet: %s", len(rows), exc.message)
    _apply(settings, due, seen, now, report)
    return report


def _awaiting(settings: Settings, now: datetime) -> list[_Awaiting]:
    """Accepted messages still inside their window: queued ones until their ValidityPeriod has passed,
    sent ones until the receipt window has."""
    queued_since = now - timedelta(seconds=settings.multi_sms_validity_seconds) - LOOKUP_MARGIN
    sent_since = now - timedelta(seconds=settings.multi_sms_receipt_window_seconds)
    # a thread reply keeps no `status_at`: followed while it may still be queued, then wait for its receipt
    replies_since = queued_since - timedelta(seconds=settings.multi_sms_receipt_window_seconds)
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Recipient.id, Recipient.batch_id, Recipient.sid, Batch.sender, Recipient.status,
                   Recipient.sent_at, Recipient.checked_at)
            .join(Batch, Batch.id == Recipient.batch_id)
            .where(Recipient.sid.is_not(None), Recipient.sent_at.is_not(None),
                   Recipient.status.in_(AWAITING_RECEIPT), or_(
                and_(Recipient.status == "queued", Recipient.status_at >= queued_since),
                and_(Recipient.status == "sent", Recipient.status_at >= sent_since)))
        ).all()
        replies = session.execute(
            select(Message.sid, Message.from_number, Message.status, Message.created_at, Message.checked_at,
                   Message.id)
            .where(Message.direction == "outbound", Message.recipient_id.is_(None), Message.slack_ts.is_not(None),
                   Message.sid.is_not(None), Message.status.in_(AWAITING_RECEIPT),
                   Message.created_at >= replies_since)
        ).all()
    return [_Awaiting(*row) for row in rows] + [_Awaiting(None, None, *row) for row in replies]


def _due(row: _Awaiting, now: datetime, first: timedelta) -> bool:
    if row.checked_at is None:
        return now - row.sent_at >= first
    backoff = min(max((now - row.sent_at) / 4, first), MAX_BACKOFF)
    return now - row.checked_at >= backoff


def _look_up(gateway: SmsGateway, sender: str, rows: list[_Awaiting], seen: dict[str, SendResult],
             report: PollReport) -> None:
    """One listing of the sender's recent messages, then single fetches for what it did not reach."""
    since = min(row.sent_at for row in rows) - LOOKUP_MARGIN
    listing = gateway.recent(sender=sender, since=since, max_pages=POLL_MAX_PAGES)
    report.list_calls += listing.pages
    seen.update((message.sid, message) for message in listing.messages)
    for row in [row for row in rows if row.sid not in seen][:POLL_MAX_FETCHES - report.fetches]:
        report.fetches += 1
        message = gateway.fetch(row.sid)
        if message is not None:
            seen[row.sid] = message


def _apply(settings: Settings, due: list[_Awaiting], seen: dict[str, SendResult], now: datetime,
           report: PollReport) -> None:
    checked = [row for row in due if row.sid in seen]
    with session_scope(settings.database_url) as session:
        for row in checked:
            message = seen[row.sid]
            status = TWILIO_TO_RECIPIENT.get(message.status)
            if status and RECIPIENT_RANK.get(status, -1) > RECIPIENT_RANK[row.status]:
                reason = describe(message.error_code) if message.error_code else None
                apply_delivery_status(session, row.sid, status, message.error_code, reason)
                report.changed += 1
                if row.batch_id is None:
                    report.replies.add(row.message_id)
                else:
                    report.batches.add(row.batch_id)
        recipients = [row.recipient_id for row in checked if row.recipient_id is not None]
        replies = [row.message_id for row in checked if row.message_id is not None]
        if recipients:
            session.execute(update(Recipient).where(Recipient.id.in_(recipients)).values(checked_at=now))
        if replies:
            session.execute(update(Message).where(Message.id.in_(replies)).values(checked_at=now))
    report.checked = len(checked)


def _comparable(text: str) -> str:
    """A Messaging Service's Smart Encoding may swap curly quotes and dashes for plain ones."""
    return text.translate(_SMART_ENCODING)
