"""Due work: start scheduled batches, park batches waiting out quiet hours, run reminders and digests,
cancel big batches nobody approved in time.

`due_work()` runs in every worker's maintenance loop, next to the recovery pass, so due work is
picked up within seconds even when RQ's scheduler is down or a killed worker still holds its
lock. `start_batch()` is the job RQ's scheduler runs at a batch's time (`enqueue_at`). Both
start a batch through `scheduling.promote`, a conditional UPDATE: whichever comes first wins,
the other does nothing. Reminder occurrences are claimed the same way (`reminders`), so any
number of workers may run this at once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from jobs.approvals import queue_missing
from multisms import approvals, digests, reminders, scheduling
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.liveness import batch_has_owner
from multisms.models import Batch, utcnow
from multisms.queues import (
    ASK_REMINDER_APPROVAL,
    SAY_REMINDER_SKIPPED,
    SHOW_APPROVAL_DECISION,
    SHOW_DIGEST_DECISION,
    WRITE_DIGEST,
    enqueue,
    enqueue_progress,
    enqueue_send,
    redis_connection,
)

log = logging.getLogger(__name__)



def start_batch(batch_id: int) -> dict:
    """RQ's scheduler runs this at the batch's time; the due-work pass may have been first."""
    settings = get_settings()
    started = start_due(settings, redis_connection(settings), [batch_id], utcnow())
    return {"batch_id": batch_id, "started": bool(started)}


def due_work(settings: Settings, connection, now: datetime | None = None) -> dict:
    """One pass over everything whose time has come. Safe to run in many workers at once."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        due = scheduling.due_batch_ids(session, now)
    started = start_due(settings, connection, due, now)
    parked = park_waiting(settings, connection, now)
    ran = run_reminders(settings, connection, now)
    with session_scope(settings.database_url) as session:
        expired = digests.expire(session, now)
    for run_id in expired:
        enqueue(connection, SHOW_DIGEST_DECISION, run_id)
    unapproved = expire_approvals(settings, connection, now)
    asked = queue_missing(settings, connection, now)
    return {"started": started, "parked": parked, "runs": ran, "expired": expired, "unapproved": unapproved,
            "asked": asked}


def expire_approvals(settings: Settings, connection, now: datetime) -> list[int]:
    """Cancel big batches nobody approved within MULTI_SMS_APPROVAL_HOURS; their Slack messages say so."""
    with session_scope(settings.database_url) as session:
        expired = approvals.expire(session, settings, now)
        in_slack = [batch_id for batch_id in expired if session.get(Batch, batch_id).slack_channel]
    for batch_id in expired:
        enqueue(connection, SHOW_APPROVAL_DECISION, batch_id)
    for batch_id in in_slack:
        enqueue_progress(connection, batch_id, final=True)
    return expired


def start_due(settings: Settings, connection, batch_ids: list[int], now: datetime) -> list[int]:
    """Promote each due batch (one conditional UPDATE each) and queue the sends this worker won."""
    started = []
    for batch_id in batch_ids:
        with session_scope(settings.database_url) as session:
            outcome = scheduling.promote(session, settings, batch_id, now)
            batch = session.get(Batch, batch_id)
            channel, until = batch.slack_channel, batch.scheduled_at
        if outcome == "pending":
            enqueue_send(connection, batch_id)
            started.append(batch_id)
        elif outcome == "scheduled":
            scheduling.schedule_start(connection, batch_id, until, now)
        if outcome and channel:
            enqueue_progress(connection, batch_id, final=True)
    return started


def park_waiting(settings: Settings, connection, now: datetime) -> list[int]:
    """A batch whose only unsent recipients wait for quiet hours goes back to `scheduled`, so
    nothing polls it until their night is over."""
    with session_scope(settings.database_url) as session:
        candidates = scheduling.waiting_batch_ids(session, now)
    parked = []
    for batch_id in candidates:
        if batch_has_owner(connection, batch_id):
            continue
        with session_scope(settings.database_url) as session:
            until = scheduling.park(session, batch_id, now)
            channel = session.get(Batch, batch_id).slack_channel
        if until:
            scheduling.schedule_start(connection, batch_id, until, now)
            parked.append(batch_id)
            if channel:
                enqueue_progress(connection, batch_id, final=True)
    return parked


def run_reminders(settings: Settings, connection, now: datetime) -> list[int]:
    """Run each due reminder occurrence once; returns the ids of the runs this worker made."""
    with session_scope(settings.database_url) as session:
        due = reminders.due(session, now)
    made = []
    for item in due:
        try:
            with session_scope(settings.database_url) as session:
                run = reminders.run_occurrence(session, settings, item, now)
                if run is None:
                    continue
                run_id, status, batch = run.id, run.status, session.get(Batch, run.batch_id) if run.batch_id else None
                batch_state = (batch.id, batch.status, batch.scheduled_at, batch.slack_channel) if batch else None
                news = reminders.is_news(session, run)
        except IntegrityError:  # the unique run row: another worker ran this occurrence
            log.info("reminder %s: occurrence already run by another worker", item.id)
            continue
        except Exception:  # one broken reminder must not hold back the others; the next pass tries again
            log.exception("reminder %s: its occurrence could not be run", item.id)
            continue
        made.append(run_id)
        if status == "drafting":
            enqueue(connection, WRITE_DIGEST, run_id)
        if status == "unapproved":
            enqueue(connection, ASK_REMINDER_APPROVAL, item.id)  # asked once per size (the job remembers)
        if status == "refused" and news:
            enqueue(connection, SAY_REMINDER_SKIPPED, run_id)
        if batch_state:
            scheduling.queue_start(connection, *batch_state, now=now)
    return made
