"""Requests for a second person's approval, posted in Slack by a worker and tidied once decided.

Whatever made a big batch (a Slack click, the terminal chat, the REST API, the web panel) queues
`ask(batch_id)`: the request goes where `multisms.approvals.channel_for` says (SLACK_APPROVALS_CHANNEL,
else SLACK_INBOX_CHANNEL, else the batch's own channel), once. `show_decision(batch_id)` replaces its
buttons with what happened: approved, cancelled, or nobody approved in time. A reminder or digest over
the threshold is asked about once per size (`ask_reminder`); a reminder whose author may no longer send
says so in its channel (`say_reminder_skipped`), once. `queue_missing` (the workers' due-work pass) asks
again for a waiting batch whose request was never queued (Redis was down when it was made).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis import Redis
from rq.job import Job
from sqlalchemy import select

from bot.blocks.batch import approval_decided, approval_request
from bot.blocks.scheduling import reminder_approval_request, reminder_skipped
from bot.client import post_once, slack_client
from multisms import approvals, reminders
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.models import Batch, ReminderRun
from multisms.queues import approval_request_job_id, enqueue_approval_request, redis_connection
from multisms.storage import get_batch, list_recipients

log = logging.getLogger(__name__)

LOST_AFTER_SECONDS = 60
"""A waiting batch with no request posted and no request job this long after it was made lost its job."""


def ask(batch_id: int) -> dict:
    """Post the request for approval of a batch that waits for one (at most once)."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        if batch.status != "awaiting_approval" or approvals.request_message(batch):
            return {"batch_id": batch_id, "skipped": batch.status}
        channel = approvals.channel_for(settings, batch)
        pending, _ = list_recipients(session, batch_id, status="pending")
        expires = batch.created_at + timedelta(hours=settings.multi_sms_approval_hours)
        content = approval_request(batch, [r.number_normalized for r in pending],
                                   threshold=settings.multi_sms_approval_threshold, expires_at=expires)
    if not (settings.slack_configured and channel):
        log.error("batch %s waits for approval but there is no Slack channel to ask in", batch_id)
        return {"batch_id": batch_id, "skipped": "nowhere to ask"}
    ts = _post(settings, f"multisms:slack:{batch_id}:approval-request", channel=channel,
                    text=f"Batch #{batch_id} needs a second person's approval", blocks=content)
    if ts:
        with session_scope(settings.database_url) as session:
            approvals.record_request(session, batch_id, channel, ts)
    return {"batch_id": batch_id, "channel": channel, "ts": ts}


def show_decision(batch_id: int) -> dict:
    """The request, once decided: no buttons, what happened. A request posted in the batch's own channel is
    its channel message, which the progress job keeps up to date instead."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        where = approvals.request_message(batch)
        own_message = where == (batch.slack_channel, batch.slack_ts)
        content, status = approval_decided(batch), batch.status
    if where is None or own_message or status == "awaiting_approval" or not settings.slack_configured:
        return {"batch_id": batch_id, "skipped": "nothing to tidy"}
    channel, ts = where
    slack_client(settings).chat_update(channel=channel, ts=ts, text=f"Batch #{batch_id}: {status}", blocks=content)
    return {"batch_id": batch_id, "status": status}


def ask_reminder(reminder_id: int) -> dict:
    """Ask for approval of a reminder or digest over the threshold, once for each size it reaches."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        reminder = reminders.get_reminder(session, reminder_id)
        count = reminders.size(session, settings, reminder)
        if not reminders.needs_approval(settings, reminder, count):
            return {"reminder_id": reminder_id, "skipped": "approved"}
        channel = approvals.channel_for(settings, reminder)
        content = reminder_approval_request(reminder, count=count, threshold=settings.multi_sms_approval_threshold)
    if not (settings.slack_configured and channel):
        log.error("reminder %s needs approval but there is no Slack channel to ask in", reminder_id)
        return {"reminder_id": reminder_id, "skipped": "nowhere to ask"}
    ts = _post(settings, f"multisms:slack:reminder:{reminder_id}:approval-request:{count}", channel=channel,
                    text=f"Reminder #{reminder_id} needs a second person's approval", blocks=content)
    return {"reminder_id": reminder_id, "channel": channel, "ts": ts}


def say_reminder_skipped(run_id: int) -> dict:
    """Tell the reminder's channel (else where approvals are asked) that its author may no longer send."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        run = session.get(ReminderRun, run_id)
        reminder = reminders.get_reminder(session, run.reminder_id)
        channel = reminder.slack_channel or approvals.channel_for(settings, reminder)
        content = reminder_skipped(reminder, run)
    if not (settings.slack_configured and channel):
        return {"run_id": run_id, "skipped": "no Slack"}
    ts = _post(settings, f"multisms:slack:reminder-run:{run_id}:skipped", channel=channel,
                    text=f"Reminder #{reminder.id} did not go out", blocks=content)
    return {"run_id": run_id, "ts": ts}


def queue_missing(settings: Settings, connection: Redis, now: datetime) -> list[int]:
    """Queue the request for each waiting batch that has none posted and no request job."""
    if not settings.slack_configured:
        return []
    with session_scope(settings.database_url) as session:
        waiting = [batch for batch in session.scalars(select(Batch).where(
            Batch.status == "awaiting_approval", Batch.created_at <= now - timedelta(seconds=LOST_AFTER_SECONDS)))
            if approvals.request_message(batch) is None]
        ids = [batch.id for batch in waiting]
    lost = [batch_id for batch_id in ids
            if not Job.exists(approval_request_job_id(batch_id), connection=connection)]
    for batch_id in lost:
        enqueue_approval_request(connection, batch_id)
    return lost


def _post(settings: Settings, key: str, **message) -> str | None:
    """Post once per key: a repeated job (or a reminder asking again at the same size) posts nothing."""
    return post_once(slack_client(settings), redis_connection(settings), key, **message)
