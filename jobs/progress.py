"""`batch_changed(batch_id, final)`: the batch's one Slack message, kept up to date, and its thread.

Queued by `multisms.queues.enqueue_progress` (at most one per batch every 2 s, and always
the final one). Each run reads the batch as it is now, so runs that arrive late or twice
still show the truth. Several workers may run it at once:

- the channel message is posted once: a Redis lock (`SET NX`) picks the poster, and a
  conditional UPDATE (`slack_ts IS NULL`) records it; the others wait for it and update;
- each thread post (failures, their CSV, pause note, summary) is claimed with `SET NX` on a key
  naming the batch, the event and the run (its completion time), so a repeated job posts nothing.

The failures' CSV (`multisms.reports.failures_csv`, numbers masked: the thread is the channel's)
is uploaded under the failures post; without the files:write scope it is left out and logged.

Slack 429s are waited out by the SDK's `RateLimitErrorRetryHandler` (Retry-After).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update

from bot.blocks.batch import Tally, failure_rows, failures, pause_note, progress, progress_text, summary
from bot.client import POSTED_TTL_SECONDS, post_once, slack_client
from jobs.slack_files import upload_csv
from multisms.batches import FINISHED
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.models import Batch
from multisms.queues import redis_connection
from multisms.reports import failures_csv
from multisms.storage import BatchCounts, batch_counts, get_batch, list_recipients

log = logging.getLogger(__name__)

POST_LOCK_SECONDS = 60
"""How long one worker may take to post the channel message before another may try."""
WAIT_FOR_MESSAGE_SECONDS = 15


@dataclass(frozen=True)
class Snapshot:
    """The batch as it is now, read in one transaction."""

    batch: Batch
    counts: BatchCounts
    failures: list[tuple[str, int | None, str | None]]
    failures_csv: bytes | None = None


def batch_changed(batch_id: int, final: bool = False) -> dict:
    """Bring the batch's Slack message up to date; when `final`, post what the thread needs."""
    settings = get_settings()
    snap = _snapshot(settings, batch_id, with_failures=final)
    if not snap.batch.slack_channel:
        return {"batch_id": batch_id, "skipped": "not a Slack batch"}
    if not settings.slack_bot_token:
        log.warning("batch %s came from Slack but SLACK_BOT_TOKEN is not set: its message is not updated", batch_id)
        return {"batch_id": batch_id, "skipped": "Slack is not configured"}
    client, connection = slack_client(settings), redis_connection(settings)
    ts, fresh = _message_ts(settings, client, connection, snap)
    if not fresh:
        client.chat_update(channel=snap.batch.slack_channel, ts=ts, text=progress_text(snap.batch, snap.counts),
                           blocks=progress(snap.batch, snap.counts))
    posted = _thread_posts(client, connection, snap, ts) if final and _has_report(snap.batch) else []
    return {"batch_id": batch_id, "ts": ts, "posted": fresh, "thread": posted}


def _snapshot(settings: Settings, batch_id: int, *, with_failures: bool) -> Snapshot:
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        counts = batch_counts(session, [batch_id])[batch_id]
        rows = failure_rows(list_recipients(session, batch_id)[0]) if with_failures else []
        table = failures_csv(session, batch_id) if with_failures else None
        return Snapshot(batch, counts, rows, table)


def _has_report(batch: Batch) -> bool:
    """Thread posts belong to a send that started and then stopped (finished or paused)."""
    return batch.started_at is not None and (batch.status in FINISHED or batch.status == "paused")


def _message_ts(settings: Settings, client: WebClient, connection: Redis, snap: Snapshot) -> tuple[str, bool]:
    """The channel message's ts, posting it first if nobody has; True when this run posted it."""
    batch = snap.batch
    if batch.slack_ts:
        return batch.slack_ts, False
    lock = f"multisms:slack:{batch.id}:message"
    if not connection.set(lock, 1, nx=True, ex=POST_LOCK_SECONDS):
        return _wait_for_ts(settings, batch.id), False
    try:
        current = _stored_ts(settings, batch.id)
        if current:
            return current, False
        posted = client.chat_postMessage(channel=batch.slack_channel, text=progress_text(batch, snap.counts),
                                         blocks=progress(batch, snap.counts))
    except BaseException:
        connection.delete(lock)
        raise
    with session_scope(settings.database_url) as session:
        bound = session.execute(
            update(Batch).where(Batch.id == batch.id, Batch.slack_ts.is_(None)).values(slack_ts=posted["ts"])
        ).rowcount
    if not bound:
        log.warning("batch %s got a second channel message (%s); the lock expired mid-post", batch.id, posted["ts"])
    return posted["ts"], True


def _stored_ts(settings: Settings, batch_id: int) -> str | None:
    with session_scope(settings.database_url) as session:
        return get_batch(session, batch_id).slack_ts


def _wait_for_ts(settings: Settings, batch_id: int) -> str:
    """Another worker is posting the message: wait for its ts rather than post a second one."""
    deadline = time.monotonic() + WAIT_FOR_MESSAGE_SECONDS
    while time.monotonic() < deadline:
        ts = _stored_ts(settings, batch_id)
        if ts:
            return ts
        time.sleep(0.2)
    raise RuntimeError(f"batch {batch_id}: another worker is posting its Slack message and it has not appeared")


def _thread_posts(client: WebClient, connection: Redis, snap: Snapshot, ts: str) -> list[str]:
    batch, counts = snap.batch, snap.counts
    if batch.status == "paused":
        t = Tally.of(counts)
        run = hashlib.sha1(f"{batch.error}|{t.sent}|{t.failed}|{t.waiting}".encode()).hexdigest()[:16]
        events = [("pause", run, f"Batch #{batch.id} is paused: {batch.error}", pause_note(batch, counts))]
    else:
        run = batch.completed_at.isoformat() if batch.completed_at else "open"
        events = []
        if snap.failures:
            events.append(("failures", run, f"{len(snap.failures)} recipients of batch #{batch.id} could not be texted",
                           failures(batch.id, snap.failures)))
        events.append(("summary", run, progress_text(batch, counts), summary(batch, counts)))
    posted = []
    for event, run_id, text, content in events:
        if event == "summary" and snap.failures_csv and _attach_failures(client, connection, snap, ts, run_id):
            posted.append("failures-csv")
        key = f"multisms:slack:{batch.id}:{event}:{run_id}"
        if post_once(client, connection, key, channel=batch.slack_channel, thread_ts=ts, text=text, blocks=content):
            posted.append(event)
    return posted


def _attach_failures(client: WebClient, connection: Redis, snap: Snapshot, ts: str, run: str) -> bool:
    """The failures as a CSV before the summary, once per run; a missing scope costs the file, not the summary."""
    batch = snap.batch
    key = f"multisms:slack:{batch.id}:failures-csv:{run}"
    if not connection.set(key, 1, nx=True, ex=POSTED_TTL_SECONDS):
        return False
    try:
        upload_csv(client, channel=batch.slack_channel, thread_ts=ts, data=snap.failures_csv,
                   filename=f"batch-{batch.id}-failures.csv", title=f"Batch #{batch.id}: failed recipients",
                   comment=f"The recipients of batch #{batch.id} that could not be texted (numbers masked).")
    except SlackApiError as exc:
        log.warning("batch %s: failures CSV not attached (%s; the app needs the files:write scope)", batch.id,
                    exc.response.get("error"))
        return False
    except BaseException:
        connection.delete(key)
        raise
    return True
