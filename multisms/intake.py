"""From what a person typed to a stored batch: resolve lists, check opt-outs, validate, store.

Every adapter (Slack, REST, terminal chat, web panel) goes through these two calls, so
they all show the same validation and store batches the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.orm import Session

from multisms.batches import Validation, validate_batch
from multisms.config import Settings
from multisms.contacts import resolve
from multisms.errors import BatchRejected
from multisms.models import Batch
from multisms.storage import create_batch


def check(session: Session, settings: Settings, *, body: str, numbers: str | list[str],
          sender: str | None = None, lists: Iterable[str] = (), template: bool = True) -> Validation:
    """Validate without storing anything (the preview and `dry_run`).

    `numbers` may hold `list:drivers` / `list:"Night shift"` tokens besides numbers, and `lists`
    names more lists. With `template` (the default) the body is a personal text (`Hi {name|there}`);
    pass False for a text written by someone else (an AI digest), whose braces are just braces.
    """
    found = resolve(session, settings, numbers_text=numbers, list_names=lists)
    validation = validate_batch(
        body,
        found.entries,
        sender=sender or settings.default_sender,
        max_recipients=settings.multi_sms_max_recipients,
        opted_out=found.opted_out,
        people=found.people if template else None,
        known_fields=found.known_fields,
        lists=found.lists,
        list_problems=found.problems,
    )
    return replace(validation, names=found.names, price_per_segment=settings.multi_sms_price_per_segment,
                   currency=settings.multi_sms_currency)


def submit(session: Session, validation: Validation, *, created_by: str, confirmed: bool) -> Batch:
    """Store a batch: `pending` (queued to send) when confirmed, else a `draft` awaiting Confirm.

    Each recipient's own text (a personal text) is stored with it, and is what the send job sends,
    the pacer counts and recovery looks for. Raises `BatchRejected` (nothing stored) when the
    validation found blocking problems.
    """
    if not validation.ok:
        raise BatchRejected(list(validation.problems))
    return create_batch(session, validation, created_by=created_by, status="pending" if confirmed else "draft")
