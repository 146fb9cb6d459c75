"""The Redis connection and RQ queues, in one place.

With `REDIS_URL` unset (local use only) an embedded Redis (`multisms.embedded_redis`) under
./data is started by the first process that asks and shared by the others (web, worker).
Jobs are enqueued by dotted name, so nothing here imports the job code.
"""

from __future__ import annotations

import ssl
import uuid

from redis import Redis
from rq import Queue
from rq.job import Job

from multisms import embedded_redis
from multisms.config import Settings

QUEUE_NAMES = ("sms", "ai", "default")
"""Listened to in this order: sends first, AI replies next, housekeeping last."""

CONNECT_TIMEOUT_SECONDS = 3
"""A Redis that is down is reported (health: 503) within seconds, not after the OS gives up."""


def redis_connection(settings: Settings) -> Redis:
    """Redis from `REDIS_URL` (`rediss://` with Heroku's self-signed certificate accepted)."""
    if not settings.redis_url:
        return embedded_redis.connect()
    options = {"health_check_interval": 30, "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if settings.redis_url.startswith("rediss://"):
        return Redis.from_url(settings.redis_url, ssl_cert_reqs=ssl.CERT_NONE, **options)
    return Redis.from_url(settings.redis_url, **options)


def get_queue(name: str, connection: Redis) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; expected one of {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection)


def enqueue(connection: Redis, func_path: str, *args, queue: str = "default", job_id: str | None = None,
            **options) -> Job:
    """Enqueue `func_path` (e.g. `"jobs.send.send_batch"`) with plain arguments."""
    return get_queue(queue, connection).enqueue(func_path, *args, job_id=job_id, **options)


SEND_JOB = "jobs.send.send_batch"


def enqueue_send(connection: Redis, batch_id: int) -> Job:
    """Queue the send of a batch. Running it twice is harmless: recipients are claimed atomically."""
    return enqueue(connection, SEND_JOB, batch_id, queue="sms",
                   job_id=f"send-batch-{batch_id}-{uuid.uuid4().hex[:8]}", job_timeout=3600)


PROGRESS_JOB = "jobs.progress.batch_changed"
PROGRESS_INTERVAL_MS = 2000
"""Slack's chat.update is Tier 3 (~50/min): at most one progress update per batch every 2 s."""


def enqueue_progress(connection: Redis, batch_id: int, *, final: bool = False) -> Job | None:
    """Ask for the batch's Slack message to be brought up to date.

    Throttled to one request per batch every 2 s; `final=True` (the batch finished or paused)
    always goes through.
    """
    if not final and not connection.set(f"multisms:progress:{batch_id}", 1, nx=True, px=PROGRESS_INTERVAL_MS):
        return None
    return enqueue(connection, PROGRESS_JOB, batch_id, final, queue="default")
