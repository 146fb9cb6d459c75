"""`request(batch_id)`: post a big batch's approval request in Slack, once.

Queued by `multisms.queues.enqueue_approval_request` when a batch from the REST API or the web
panel waits as `awaiting_approval`. The request goes to `approvals.channel_for` (the approvals
channel, else the inbox channel) with Approve / Cancel, numbers masked. Its message becomes the
batch's one Slack message (`slack_channel`, `slack_ts`), so the Approve button (bot.commands.batches)
works on it and progress updates replace it in place once a second person approves.

A Redis lock picks one poster and a conditional UPDATE (`slack_ts IS NULL`) records the message,
so a retried or repeated job never posts twice. `queue_missing` (the workers' due-work pass) queues
the request again for a batch whose request never got queued (Redis was down at that moment).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis import Redis
from rq.job import Job
from sqlalchemy import select, update

from bot.blocks.batch import approval_request
from bot.client import slack_client
from multisms import approvals
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.models import Batch
from multisms.queues import approval_request_job_id, enqueue_approval_request, redis_connection
from multisms.storage import get_batch, list_recipients

log = logging.getLogger(__name__)

POST_LOCK_SECONDS = 60
"""How long one worker may take to post the request before a retry may try again."""
LOST_AFTER_SECONDS = 60
"""A waiting batch with no request posted and no request job this long after it was made lost its job."""


def request(batch_id: int) -> dict:
    """Post the request unless the batch no longer waits or already has its Slack message."""
    settings = get_settings()
    found = _request_for(settings, batch_id)
    if isinstance(found, str):
        return {"batch_id": batch_id, "skipped": found}
    channel, text, blocks = found
    connection = redis_connection(settings)
    lock = f"multisms:slack:{batch_id}:approval-request"
    if not connection.set(lock, 1, nx=True, ex=POST_LOCK_SECONDS):
        return {"batch_id": batch_id, "skipped": "another worker is posting it"}
    try:
        posted = slack_client(settings).chat_postMessage(channel=channel, text=text, blocks=blocks)
    except BaseException:
        connection.delete(lock)
        raise
    with session_scope(settings.database_url) as session:
        bound = session.execute(update(Batch).where(Batch.id == batch_id, Batch.slack_ts.is_(None))
                                .values(slack_channel=channel, slack_ts=posted["ts"])).rowcount
    if not bound:
        log.warning("batch %s got a second approval request (%s)", batch_id, posted["ts"])
    return {"batch_id": batch_id, "channel": channel, "ts": posted["ts"]}


def _request_for(settings: Settings, batch_id: int) -> tuple[str, str, list[dict]] | str:
    """(channel, text, blocks) to post, or why nothing is posted."""
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        if batch.status != "awaiting_approval":
            return f"it is {batch.status}"
        if batch.slack_ts:
            return "its request is already posted"
        channel = approvals.channel_for(settings, batch)
        if not (settings.slack_configured and channel):
            log.warning("batch %s waits for approval but there is no Slack channel to ask in", batch_id)
            return "no Slack channel to ask in"
        pending, _ = list_recipients(session, batch_id, status="pending")
        blocks = approval_request(batch, [r.number_normalized for r in pending],
                                  threshold=settings.multi_sms_approval_threshold)
        return channel, f"Batch #{batch_id} needs approval", blocks


def queue_missing(settings: Settings, connection: Redis, now: datetime) -> list[int]:
    """Queue the request for each waiting batch that has no Slack message and no request job."""
    if not settings.slack_configured:
        return []
    with session_scope(settings.database_url) as session:
        waiting = session.scalars(select(Batch.id).where(
            Batch.status == "awaiting_approval", Batch.slack_ts.is_(None),
            Batch.created_at <= now - timedelta(seconds=LOST_AFTER_SECONDS))).all()
    lost = [batch_id for batch_id in waiting
            if not Job.exists(approval_request_job_id(batch_id), connection=connection)]
    for batch_id in lost:
        enqueue_approval_request(connection, batch_id)
    return lost
