"""What each digest run saw and cited, and what that means for the next run.

An item in a digest that went out (approved), or that waits for approval, is never offered
again by the same reminder; one from a dropped or expired draft is, since it reached nobody.
Knowledge documents count as new when changed since the last digest that went out. A source
that fails is reported once, when it starts failing (the previous reading run had it working).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from multisms.digest_sources import Item
from multisms.models import DigestItem, ReminderRun

CONSUMING = ("approved", "awaiting_approval")
"""Run statuses whose items are not offered again."""


def used_keys(session: Session, reminder_id: int) -> set[str]:
    """Keys of the items this reminder's digests sent or are about to send (cited or passed over)."""
    return set(session.scalars(select(DigestItem.key).join(ReminderRun, DigestItem.run_id == ReminderRun.id).where(
        DigestItem.reminder_id == reminder_id, ReminderRun.status.in_(CONSUMING))))


def last_sent_at(session: Session, reminder_id: int) -> datetime | None:
    """When the reminder's last approved digest was started: documents changed since are new to its readers."""
    return session.scalar(select(ReminderRun.created_at).where(
        ReminderRun.reminder_id == reminder_id, ReminderRun.status == "approved",
    ).order_by(ReminderRun.created_at.desc()).limit(1))


def known_failures(session: Session, reminder_id: int, before_run_id: int) -> dict[str, str]:
    """The failing sources of the last earlier run that read its sources (already reported)."""
    errors = session.scalar(select(ReminderRun.source_errors).where(
        ReminderRun.reminder_id == reminder_id, ReminderRun.id < before_run_id, ReminderRun.source_errors.is_not(None),
    ).order_by(ReminderRun.id.desc()).limit(1))
    return dict(errors or {})


def new_failures(session: Session, run: ReminderRun) -> dict[str, str]:
    """The run's failing sources that were not failing at the previous reading run: to report now, once."""
    known = known_failures(session, run.reminder_id, run.id)
    return {source: why for source, why in (run.source_errors or {}).items() if source not in known}


def record(session: Session, run: ReminderRun, cited: list[Item], passed: list[Item]) -> None:
    """Store what the run cited and what it passed over (older items beyond what one digest can tell)."""
    for item, was_cited in [*((item, True) for item in cited), *((item, False) for item in passed)]:
        session.add(DigestItem(run_id=run.id, reminder_id=run.reminder_id, key=item.key, source=item.source,
                               origin=item.origin[:2000], title=item.title, link=item.link,
                               published=item.published, cited=was_cited))
    session.flush()


def carried(session: Session, run_ids: list[int]) -> dict[int, list[DigestItem]]:
    """Run id → the items its draft cited, newest first."""
    found: dict[int, list[DigestItem]] = defaultdict(list)
    if not run_ids:
        return found
    rows = session.scalars(select(DigestItem).where(DigestItem.run_id.in_(run_ids), DigestItem.cited.is_(True))
                           .order_by(DigestItem.run_id, DigestItem.id))
    for row in rows:
        found[row.run_id].append(row)
    return found

