"""Batch rules as plain functions: what may be sent, and how statuses may move.

Pure: stdlib, `phonenumbers` and the sibling pure modules only. The one `Validation`
value this returns is what the Slack preview, the REST API, the terminal chat and the
web panel all render.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from multisms.config import MAX_BODY_CHARS
from multisms.errors import InvalidTransition
from multisms.numbers import NumberEntry, parse_number
from multisms.personalize import PersonalPreview, RenderedText, preview
from multisms.personalize import Recipient as Addressee
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

FINISHED = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
"""Batch statuses after which nothing more is sent (a retry starts the batch again)."""

MAX_ID = 2**31 - 1
"""Ids are 32-bit integers (PostgreSQL `integer`): a larger one cannot exist, so it is never looked up."""


def parse_id(text: str) -> int | None:
    """`12` or `#12` as people type an id; None when it is not one that could exist."""
    digits = text.strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        return None
    value = int(digits)
    return value if 1 <= value <= MAX_ID else None


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
    texts: tuple[RenderedText, ...] = ()
    """Each sendable recipient's text as it will go out (all the same unless `personalized`)."""
    personalized: bool = False
    """The body is a template (`{name}`, `{{`): each recipient's text is rendered from its contact fields."""
    names: dict[str, str] = field(default_factory=dict)
    """Contact names by number, kept with the recipients (reports say who was texted)."""
    lists: tuple[str, ...] = ()
    """The contact lists the recipients came from, as named in the database."""
    price_per_segment: float | None = None
    currency: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_segments(self) -> int:
        """Segments of every text together: what the batch costs and what the sender's rate limit paces."""
        if not self.texts:
            return self.segments.segments * len(self.recipients)
        return sum(text.segments.segments for text in self.texts)

    @property
    def own_texts(self) -> dict[str, str]:
        """Recipients whose text differs from the body (personal texts): stored with each of them."""
        return {text.e164: text.body for text in self.texts if text.body != self.body}

    @property
    def cost(self) -> float | None:
        if self.price_per_segment is None:
            return None
        return round(self.total_segments * self.price_per_segment, 4)

    def to_dict(self) -> dict:
        """The preview as JSON; keys are only ever added, so older clients keep working."""
        example = self.texts[0] if self.texts else None
        longest = max(self.texts, key=lambda text: len(text.body), default=None)
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
            "personalized": self.personalized,
            "lists": list(self.lists),
            "example": example.to_dict() if example else None,
            "longest": longest.to_dict() if longest else None,
            "encodings": dict(Counter(text.segments.encoding for text in self.texts)),
            "cost": self.cost,
            "currency": self.currency,
        }


def validate_batch(
    body: str,
    entries: Iterable[NumberEntry],
    *,
    sender: str | None,
    max_recipients: int,
    opted_out: Collection[str] = (),
    people: Mapping[str, Mapping[str, str]] | None = None,
    known_fields: Iterable[str] = (),
    lists: Sequence[str] = (),
    list_problems: Sequence[dict] = (),
) -> Validation:
    """Apply every batch rule at once, so a person sees all problems in one go.

    Duplicates are found after normalisation; the limit counts unique numbers that will
    actually be sent (opted-out numbers are reported, not sent, not counted).
    With `people` (contact fields by number; a number without any is numbers-only) the body
    is a personal text: rendered for each recipient, each text checked on its own, and a
    template problem (unknown field, missing value) blocks the batch. Without it, braces are text.
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
    personal = _personal(body, sendable, people, known_fields)
    texts = personal.texts if personal else _same_text(body, sendable)
    problems = [*_text_problems(body, personal), *_sender_problems(sender), *list_problems]
    problems += _recipient_problems(sendable, max_recipients, had_input=bool(unique or invalid), lists=lists)
    return Validation(
        body=body,
        sender=sender,
        recipients=sendable,
        invalid=tuple(invalid),
        duplicates=tuple(duplicates),
        opted_out=blocked,
        segments=max((text.segments for text in texts), key=_cost_order, default=None) or analyze(body),
        problems=tuple(problems),
        spellings=unique,
        texts=texts,
        personalized=personal is not None,
        lists=tuple(lists),
    )


def check_batch_move(current: str, new: str) -> None:
    """Raise `InvalidTransition` unless a batch may go from `current` to `new`."""
    if new not in BATCH_MOVES.get(current, frozenset()):
        raise InvalidTransition(f"A {current.replace('_', ' ')} batch cannot become {new.replace('_', ' ')}.")


def _personal(body: str, sendable: tuple[str, ...], people: Mapping[str, Mapping[str, str]] | None,
              known_fields: Iterable[str]) -> PersonalPreview | None:
    """Render a template for everyone; None for a body with no braces (or when personal texts are off)."""
    if people is None or ("{" not in body and "}" not in body):
        return None
    return preview(body, [Addressee(number, people.get(number)) for number in sendable], known_fields)


def _same_text(body: str, sendable: tuple[str, ...]) -> tuple[RenderedText, ...]:
    segments = analyze(body)
    return tuple(RenderedText(number, body, segments) for number in sendable)


def _cost_order(segments: SegmentInfo) -> tuple[int, int]:
    return segments.segments, segments.units


def _text_problems(body: str, personal: PersonalPreview | None) -> list[dict]:
    """The body's own checks; for a template, each rendered text's (template problems name the field `body`)."""
    if personal is None or not body.strip():
        return _body_problems(body)
    return [problem.to_dict() for problem in personal.problems]


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


def _recipient_problems(sendable: tuple[str, ...], limit: int, *, had_input: bool, lists: Sequence[str]) -> list[dict]:
    if not sendable:
        message = "None of the numbers can be sent to." if had_input else "No numbers given: add at least one."
        if lists and not had_input:
            named = ", ".join(f"“{name}”" for name in lists)
            message = f"No one to send to: {'list' if len(lists) == 1 else 'lists'} {named} "\
                      f"{'has' if len(lists) == 1 else 'have'} no members yet. Import contacts, or add numbers."
        return [{"field": "recipients", "message": message}]
    if len(sendable) > limit:
        return [{
            "field": "recipients",
            "message": f"{len(sendable)} unique numbers; the limit is {limit} per batch "
            "(MULTI_SMS_MAX_RECIPIENTS). Split the list into smaller batches.",
        }]
    return []
