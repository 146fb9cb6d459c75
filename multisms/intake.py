"""From what a person typed to a stored batch: parse, check opt-outs, validate, store.

Every adapter (Slack, REST, terminal chat, web panel) goes through these two calls, so
they all show the same validation and store batches the same way.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from multisms.batches import Validation, validate_batch
from multisms.config import Settings
from multisms.errors import BatchRejected
from multisms.models import Batch
from multisms.numbers import parse_list, split_entries
from multisms.storage import create_batch, opted_out_among


def check(session: Session, settings: Settings, *, body: str, numbers: str | list[str],
          sender: str | None = None) -> Validation:
    """Validate without storing anything (the preview and `dry_run`)."""
    entries = parse_list(numbers, settings.default_region) if isinstance(numbers, list) else split_entries(
        numbers, settings.default_region)
    valid = [entry.e164 for entry in entries if entry.valid]
    return validate_batch(
        body,
        entries,
        sender=sender or settings.default_sender,
        max_recipients=settings.multi_sms_max_recipients,
        opted_out=opted_out_among(session, valid),
    )


def submit(session: Session, validation: Validation, *, created_by: str, confirmed: bool) -> Batch:
    """Store a batch: `pending` (queued to send) when confirmed, else a `draft` awaiting Confirm.

    Raises `BatchRejected` (nothing stored) when the validation found blocking problems.
    """
    if not validation.ok:
        raise BatchRejected(list(validation.problems))
    return create_batch(session, validation, created_by=created_by, status="pending" if confirmed else "draft")
