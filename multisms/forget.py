"""Forgetting a number on request (privacy): its contact and texts go; that something was sent stays.

What `forget` erases: the contact and its list memberships, the text of every message to or
from the number, each of its recipients' own text and name, and the questions its texts left
as knowledge gaps. What it keeps: message and recipient rows with their statuses (so counts
and reports still add up), the opt-out if there is one, and a tombstone.

The tombstone is HMAC-SHA256(FORGET_KEY, else SECRET_KEY; the E.164 number). A phone number
has so few possible values that a plain hash would give it back to anyone holding the table;
the key is what keeps it out. Each tombstone records which key made it, so a changed key
stops imports with a clear message instead of letting forgotten numbers back in unnoticed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from multisms import optouts
from multisms.config import Settings
from multisms.contacts import IN_CHUNK, contact_number
from multisms.errors import ForgetKeyUnusable, SendInFlight
from multisms.models import (
    Contact,
    Conversation,
    ForgottenNumber,
    KnowledgeGap,
    ListMember,
    Message,
    Recipient,
    utcnow,
)
from multisms.numbers import mask

ERASED = ""
"""What an erased text becomes (a recipient's `body`: the send job never sends such a recipient again)."""
FORGOTTEN_NOTE = "forgotten on request"
_KEY_ID_MESSAGE = b"multisms forgotten-number key id"
_NO_KEY = ("No FORGET_KEY or SECRET_KEY is set, so a forgotten number could not be recognised later: "
           "set FORGET_KEY (a long random string, kept for good) and try again.")


@dataclass(frozen=True)
class ForgetReport:
    """What `forget` erased, for the person who asked (the number masked)."""

    number: str
    contact_removed: bool
    lists_left: int
    messages_blanked: int
    recipients_blanked: int
    cancelled: int
    """Texts still waiting to go to the number, not sent now."""
    opted_out: bool

    def to_dict(self) -> dict:
        return {"number": self.number, "contact_removed": self.contact_removed, "lists_left": self.lists_left,
                "messages_blanked": self.messages_blanked, "recipients_blanked": self.recipients_blanked,
                "cancelled": self.cancelled, "opted_out": self.opted_out}


def forget(session: Session, settings: Settings, number: str) -> ForgetReport:
    """Erase a number's contact data and texts and leave its tombstone, in the caller's transaction.

    Raises `InvalidNumber`, `ForgetKeyUnusable` (no key: nothing erased), or `SendInFlight` when
    a text to the number is being handed to Twilio this very moment (repeat in a minute).
    """
    key = _current_key(settings)
    e164 = contact_number(settings, number)
    if session.scalar(select(func.count()).select_from(Recipient).where(
            Recipient.number_normalized == e164, Recipient.status == "sending")):
        raise SendInFlight(f"A text to {mask(e164)} is being sent right now: forget it again in a minute.")
    contact = session.scalar(select(Contact).where(Contact.number == e164))
    lists_left = 0
    if contact is not None:
        lists_left = session.execute(delete(ListMember).where(ListMember.contact_id == contact.id)).rowcount
        session.delete(contact)
    now = utcnow()
    mine = Recipient.number_normalized == e164
    cancelled = session.execute(update(Recipient).where(mine, Recipient.status == "pending").values(
        status="cancelled", status_at=now, error_message=FORGOTTEN_NOTE, updated_at=now)).rowcount
    recipients = session.execute(update(Recipient).where(mine).values(body=ERASED, name=None)).rowcount
    messages = session.execute(update(Message).where(or_(Message.to_number == e164, Message.from_number == e164))
                               .values(body=ERASED)).rowcount
    session.execute(update(KnowledgeGap).where(KnowledgeGap.conversation_id.in_(
        select(Conversation.id).where(Conversation.number == e164))).values(question=ERASED))
    _write_tombstone(session, key, e164)
    session.flush()
    return ForgetReport(mask(e164), contact is not None, lists_left, messages, recipients, cancelled,
                        optouts.is_opted_out(session, e164))


def unforget(session: Session, settings: Settings, number: str) -> bool:
    """Let a forgotten number be imported again (it was asked for on purpose); True when it was forgotten."""
    key = _current_key(settings)
    e164 = contact_number(settings, number)
    return session.execute(delete(ForgottenNumber).where(ForgottenNumber.digest == _digest(key, e164))).rowcount > 0


def forgotten_among(session: Session, settings: Settings, numbers: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers were forgotten. For every import (a CSV, the old app's data).

    Raises `ForgetKeyUnusable` when tombstones exist that the configured key cannot recognise
    (no key, or not the one they were made with): an import must not guess.
    """
    key = _key(settings)
    stale = select(func.count()).select_from(ForgottenNumber)
    if key is not None:
        stale = stale.where(ForgottenNumber.key_id != _key_id(key))
    count = session.scalar(stale) or 0
    numbers_were = f"{count} forgotten number was" if count == 1 else f"{count} forgotten numbers were"
    if count and key is None:
        raise ForgetKeyUnusable(f"{numbers_were} hashed with a key that is no longer set: set FORGET_KEY "
                                "(or SECRET_KEY) back to it, so no forgotten number comes back unnoticed.")
    if count:
        raise ForgetKeyUnusable(f"{numbers_were} hashed with another key (FORGET_KEY or SECRET_KEY changed): "
                                "set FORGET_KEY to the previous key and import again, so no forgotten number "
                                "comes back unnoticed.")
    if key is None:
        return set()
    by_digest = {_digest(key, number): number for number in numbers}
    digests = list(by_digest)
    found: set[str] = set()
    for start in range(0, len(digests), IN_CHUNK):
        found.update(by_digest[digest] for digest in session.scalars(select(ForgottenNumber.digest).where(
            ForgottenNumber.digest.in_(digests[start:start + IN_CHUNK]))))
    return found


def _write_tombstone(session: Session, key: bytes, e164: str) -> None:
    digest = _digest(key, e164)
    if session.get(ForgottenNumber, digest) is None:
        session.add(ForgottenNumber(digest=digest, key_id=_key_id(key), forgotten_at=utcnow()))


def _key(settings: Settings) -> bytes | None:
    secret = settings.forget_key or settings.secret_key
    return secret.encode() if secret else None


def _current_key(settings: Settings) -> bytes:
    key = _key(settings)
    if key is None:
        raise ForgetKeyUnusable(_NO_KEY)
    return key


def _digest(key: bytes, e164: str) -> str:
    return hmac.new(key, e164.encode(), hashlib.sha256).hexdigest()


def _key_id(key: bytes) -> str:
    """Names the key without revealing it: two tombstones with one id were made with one key."""
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]
