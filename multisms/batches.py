"""Batch rules as plain functions: what may be sent, and how statuses may move.

Pure: stdlib, `phonenumbers` and the sibling pure modules only. The one `Validation`
value this returns is what the Slack preview, the REST API, the terminal chat and the
web panel all render.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from multisms.config import MAX_BODY_CHARS
from multisms.errors import InvalidTransition
from multisms.numbers import NumberEntry, parse_number
from multisms.segments import SegmentInfo, analyze

MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")

BATCH_MOVES: dict[str, frozenset[str]] = {
    "draft": frozenset({"pending", "awaiting_approval", "scheduled", "cancelled"}),
    "awaiting_approval": frozenset({"pending", "scheduled", "cancelled"}),
    "scheduled": frozenset({"pending", "cancelled"}),
    "pending": frozenset({"processing", "paused", "scheduled", "cancelled", "completed", "completed_with_errors",
                          "failed"}),
    "processing": frozenset({"completed", "completed_with_errors", "failed", "paused", "scheduled", "cancelled"}),
    "paused": frozenset({"pending", "cancelled"}),
    "completed": frozenset({"completed_with_errors"}),
    "completed_with_errors": frozenset({"pending"}),
    "failed": frozenset({"pending"}),
    "cancelled": frozenset(),
}
"""Allowed batch status changes; `→ pending` from a finished batch is a retry of its failures; a
`completed` batch becomes `completed_with_errors` when a failure is reported after it finished.
`scheduled` waits for its time (a send-later, or recipients in quiet hours) and then becomes `pending`."""

RETRYABLE_RECIPIENT = frozenset({"failed", "undelivered"})
"""Recipients a retry may send again; `invalid` and `opted_out` never, delivered never."""

RECIPIENT_RANK = {
    "pending": 0,
    "sending": 1,
    "queued": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "invalid": 4,
    "opted_out": 4,
    "cancelled": 4,
}
"""Recipient statuses only move to a higher rank, so a late callback never undoes a newer one."""

SUCCESS = frozenset({"queued", "sent", "delivered"})
"""Twilio accepted the message (`success_count`): queued or sending there, sent, delivered."""
FAILURE = frozenset({"failed", "undelivered"})
"""Twilio or the carrier could not deliver it (`failure_count`)."""
NOT_HANDED_OVER = frozenset({"pending", "sending"})
"""Not yet accepted by Twilio (`pending_count`); a finished batch has none."""
AWAITING_RECEIPT = frozenset({"queued", "sent"})
"""Accepted, final status not known yet: the delivery poller asks Twilio about these."""


def batch_outcome(accepted: int, failed: int, invalid: int) -> str:
    """How a batch with nothing left to send ends: `failed` when nobody was reached."""
    if not accepted and (failed or invalid):
        return "failed"
    return "completed_with_errors" if failed or invalid else "completed"


@dataclass(frozen=True)
class Duplicate:
    """A number that appeared again after normalisation; `first` is how it was first written."""

    raw: str
    e164: str
    first: str


@dataclass(frozen=True)
class Validation:
    """Everything a person needs to decide whether to send, and whether it may be sent."""

    body: str
    sender: str | None
    recipients: tuple[str, ...]
    invalid: tuple[NumberEntry, ...]
    duplicates: tuple[Duplicate, ...]
    opted_out: tuple[str, ...]
    segments: SegmentInfo
    problems: tuple[dict, ...] = field(default=())
    spellings: dict[str, str] = field(default_factory=dict)
    """How each valid number was first written (`+48 600 123 456` for `+48600123456`)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_segments(self) -> int:
        return self.segments.segments * len(self.recipients)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "sender": self.sender,
            "valid_count": len(self.recipients),
            "invalid_count": len(self.invalid),
            "duplicate_count": len(self.duplicates),
            "opted_out_count": len(self.opted_out),
            "recipients": list(self.recipients),
            "invalid": [{"number": e.raw, "reason": e.reason} for e in self.invalid],
            "duplicates": [{"number": d.raw, "normalized": d.e164, "same_as": d.first} for d in self.duplicates],
            "opted_out": list(self.opted_out),
            **self.segments.to_dict(),
            "total_segments": self.total_segments,
            "problems": list(self.problems),
        }


def validate_batch(
    body: str,
    entries: Iterable[NumberEntry],
    *,
    sender: str | None,
    max_recipients: int,
    opted_out: Collection[str] = (),
) -> Validation:
    """Apply every batch rule at once, so a person sees all problems in one go.

    Duplicates are found after normalisation; the limit counts unique numbers that will
    actually be sent (opted-out numbers are reported, not sent, not counted).
    """
    body = body or ""
    unique: dict[str, str] = {}
    invalid: list[NumberEntry] = []
    duplicates: list[Duplicate] = []
    for entry in entries:
        if not entry.valid:
            invalid.append(entry)
        elif entry.e164 in unique:
            duplicates.append(Duplicate(entry.raw, entry.e164, unique[entry.e164]))
        else:
            unique[entry.e164] = entry.raw
    opted_out = set(opted_out)
    blocked = tuple(number for number in unique if number in opted_out)
    sendable = tuple(number for number in unique if number not in opted_out)
    problems = [*_body_problems(body), *_sender_problems(sender)]
    problems += _recipient_problems(sendable, max_recipients, had_input=bool(unique or invalid))
    return Validation(
        body=body,
        sender=sender,
        recipients=sendable,
        invalid=tuple(invalid),
        duplicates=tuple(duplicates),
        opted_out=blocked,
        segments=analyze(body),
        problems=tuple(problems),
        spellings=unique,
    )


def check_batch_move(current: str, new: str) -> None:
    """Raise `InvalidTransition` unless a batch may go from `current` to `new`."""
    if new not in BATCH_MOVES.get(current, frozenset()):
        raise InvalidTransition(f"A {current.replace('_', ' ')} batch cannot become {new.replace('_', ' ')}.")


def advances(current: str, new: str) -> bool:
    """True when a recipient status change moves forward (late or repeated news is ignored)."""
    return RECIPIENT_RANK.get(new, -1) > RECIPIENT_RANK.get(current, -1)


def _body_problems(body: str) -> list[dict]:
    if not body.strip():
        return [{"field": "body", "message": "The message is empty: write what to send."}]
    if len(body) > MAX_BODY_CHARS:
        return [{"field": "body", "message": f"The message is {len(body)} characters; the limit is {MAX_BODY_CHARS}."}]
    return []


def _sender_problems(sender: str | None) -> list[dict]:
    if not sender:
        return [{
            "field": "sender",
            "message": "No sender configured: set TWILIO_DEFAULT_FROM (a phone number in +E.164) "
            "or TWILIO_MESSAGING_SERVICE_SID (MG…), or give a sender.",
        }]
    if MESSAGING_SERVICE_SID.match(sender) or ALPHANUMERIC_SENDER.match(sender) or parse_number(sender).valid:
        return []
    return [{
        "field": "sender",
        "message": f"Sender {sender!r} is not a +E.164 number, a Messaging Service SID (MG…) "
        "or an alphanumeric sender ID (up to 11 letters/digits).",
    }]


def _recipient_problems(sendable: tuple[str, ...], limit: int, *, had_input: bool) -> list[dict]:
    if not sendable:
        message = "None of the numbers can be sent to." if had_input else "No numbers given: add at least one."
        return [{"field": "recipients", "message": message}]
    if len(sendable) > limit:
        return [{
            "field": "recipients",
            "message": f"{len(sendable)} unique numbers; the limit is {limit} per batch "
            "(MULTI_SMS_MAX_RECIPIENTS). Split the list into smaller batches.",
        }]
    return []
