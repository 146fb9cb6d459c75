"""Numbers that asked not to be texted: add, remove, list, check.

Numbers are E.164 (parse them with `multisms.numbers.parse_number` first). Batches skip
opted-out numbers at intake (`multisms.storage.opted_out_among`); this module is how a
person manages the list. Inbound STOP keywords arrive with the conversations work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from multisms.models import OptOut, utcnow

SOURCES = frozenset({"slack", "shell", "api", "stop_keyword", "twilio_21610"})


def add(session: Session, number_e164: str, source: str, since: datetime | None = None) -> bool:
    """Opt a number out (as of `since`, default now); True when it is new, False when it had already opted out."""
    if source not in SOURCES:
        raise ValueError(f"unknown opt-out source {source!r}; expected one of {', '.join(sorted(SOURCES))}")
    if session.get(OptOut, number_e164) is not None:
        return False
    try:
        with session.begin_nested():  # two STOPs (or a STOP and a 21610) may race
            session.add(OptOut(number=number_e164, source=source, since=since or utcnow()))
    except IntegrityError:
        return False
    return True


def remove(session: Session, number: str) -> bool:
    """Allow texting a number again; True when it was on the list."""
    found = session.get(OptOut, number)
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def list_all(session: Session, limit: int, offset: int = 0) -> tuple[list[OptOut], int]:
    """Newest first, with the total for paging."""
    total = session.scalar(select(func.count()).select_from(OptOut)) or 0
    rows = session.scalars(select(OptOut).order_by(OptOut.since.desc(), OptOut.number).limit(limit).offset(offset))
    return list(rows), total


def is_opted_out(session: Session, number: str) -> bool:
    return session.get(OptOut, number) is not None
