"""Helpers for scheduling tests: local times, scheduled batches, reading what was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from multisms import intake, scheduling
from multisms.db import session_scope
from multisms.models import Batch, Recipient
from multisms.queues import redis_connection

WARSAW = ZoneInfo("Europe/Warsaw")
"""The Slack stand-in's `users.info` answers with this zone."""


def warsaw_morning(days: int = 2, hour: int = 9) -> tuple[datetime, datetime]:
    """(local time in Warsaw, the same moment in UTC) `days` from now at `hour`:00."""
    local = (datetime.now(WARSAW) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return local, local.astimezone(UTC)


def scheduled_batch(settings, recipients: list[str], when: datetime, *, body: str = "Hello later",
                    now: datetime | None = None, channel: str | None = None) -> int:
    """A confirmed batch held until `when`, its start armed in RQ's scheduler (as a confirm does)."""
    now = now or datetime.now(UTC)
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body=body, numbers=recipients)
        batch = intake.submit(session, validation, created_by="test", confirmed=True)
        batch.scheduled_at, batch.slack_channel = when, channel
        session.flush()
        scheduling.hold(session, settings, batch, now)
        batch_id, status, at = batch.id, batch.status, batch.scheduled_at
    scheduling.queue_start(redis_connection(settings), batch_id, status, at, channel, now=now)
    return batch_id


def batch_of(settings, batch_id: int) -> Batch:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id)


def waiting_until(settings, batch_id: int) -> dict[str, datetime | None]:
    """number → its quiet-hours `not_before`, for recipients not yet sent."""
    with session_scope(settings.database_url) as session:
        rows = session.query(Recipient).filter_by(batch_id=batch_id, status="pending").all()
        return {r.number_normalized: r.not_before for r in rows}
