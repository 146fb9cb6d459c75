"""The Redis connection, the RQ queues and every kind of job, in one place.

With `REDIS_URL` unset (local use only) an embedded Redis (`multisms.embedded_redis`) under
./data is started by the first process that asks and shared by the others (web, worker).
Jobs are enqueued by dotted name (`JobKind.path`), so nothing here, in `bot/` or in
`webhooks/` imports the job code; the registry below is the one list of them.
"""

from __future__ import annotations

import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue, Retry, Worker
from rq.job import Job, JobStatus

from multisms import embedded_redis
from multisms.config import Settings
from multisms.errors import NoWorker

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


@dataclass(frozen=True)
class JobKind:
    """One kind of job: the function RQ runs (by dotted path), its queue, its time limit and its retries."""

    path: str
    queue: str
    timeout: int
    """Seconds before RQ stops the job (RQ's default, 180 s, suits none of them exactly)."""
    retry_after: tuple[int, ...] = ()
    """Seconds before each new try of a failed job (RQ's `Retry`, run by the workers' scheduler); after
    the last one it stays in RQ's failed registry. Empty where a second run could text someone twice
    (sends, replies, AI answers) or would find its work done and skip it (digest drafts)."""

    @property
    def retry(self) -> Retry | None:
        return Retry(max=len(self.retry_after), interval=list(self.retry_after)) if self.retry_after else None


SLACK_RETRIES = (5, 60, 300)
"""Slack answering 5xx, or 429 past the SDK's own three waits: tried again over about six minutes."""

SEND = JobKind("jobs.send.send_batch", "sms", 3600)
"""No retry: a send has its own once-only machinery (claims, recovery asks Twilio before resending)."""
START_BATCH = JobKind("jobs.scheduling.start_batch", "sms", 60, (10, 60))
PROGRESS = JobKind("jobs.progress.batch_changed", "default", 120, SLACK_RETRIES)
RECEIVE_INBOUND = JobKind("jobs.inbound.receive", "default", 120, (5, 30, 120, 600))
"""Until this job stores it, a text lives only in the job: with the database away it is tried again
for ~13 minutes. Storing is once per MessageSid, so a try after the store skips the whole follow-up."""
POST_INBOUND = JobKind("jobs.inbound.post_to_slack", "default", 60, SLACK_RETRIES)
"""A stored text's Slack post, again, when Slack refused it inside `jobs.inbound.receive`."""
SEND_REPLY = JobKind("jobs.replies.send_reply", "default", 60)
SHOW_REPLY_STATUS = JobKind("jobs.replies.show_status", "default", 60, SLACK_RETRIES)
ASK_APPROVAL = JobKind("jobs.approvals.ask", "default", 60, (10, 30, 60, 300, 900))
"""A Slack outage must not leave a big batch waiting unseen: the request is posted again for ~20 minutes."""
SHOW_APPROVAL_DECISION = JobKind("jobs.approvals.show_decision", "default", 60, SLACK_RETRIES)
ASK_REMINDER_APPROVAL = JobKind("jobs.approvals.ask_reminder", "default", 60, SLACK_RETRIES)
SAY_REMINDER_SKIPPED = JobKind("jobs.approvals.say_reminder_skipped", "default", 60, SLACK_RETRIES)
ANSWER_INBOUND = JobKind("jobs.knowledge.answer_inbound", "ai", 180)
KB_REBUILD = JobKind("jobs.knowledge.rebuild", "ai", 3600, (60, 300))
KB_ADD_FILE = JobKind("jobs.knowledge.add_slack_file", "ai", 900)
KB_ASK = JobKind("jobs.knowledge.ask", "ai", 180)
KB_SEARCH = JobKind("jobs.knowledge.search_excerpts", "ai", 180)
WRITE_DIGEST = JobKind("jobs.digest.write_digest", "ai", 300)
SHOW_DIGEST_DECISION = JobKind("jobs.digest.show_decision", "default", 60, SLACK_RETRIES)
CONTACTS_IMPORT_FILE = JobKind("jobs.contacts.import_file", "default", 300)
UPLOAD_REPORT = JobKind("jobs.contacts.upload_report", "default", 300)

OLD_JOB_PATHS = {
    "jobs.schedule.start_batch": START_BATCH,
    "jobs.ai_reply.answer_inbound": ANSWER_INBOUND,
    "jobs.inbound.send_reply": SEND_REPLY,
}
"""Paths of the previous release, still importable (RQ stores the path with each queued and
scheduled job): remove them one release after the move."""


def enqueue(connection: Redis, kind: JobKind, *args, job_id: str | None = None, **options) -> Job:
    """Queue a job of this kind with plain arguments (ids and strings, never objects)."""
    options.setdefault("job_timeout", kind.timeout)
    options.setdefault("retry", kind.retry)
    return get_queue(kind.queue, connection).enqueue(kind.path, *args, job_id=job_id, **options)


def enqueue_at(connection: Redis, when: datetime, kind: JobKind, *args, job_id: str | None = None) -> Job:
    """Queue a job of this kind for `when` (RQ's scheduler, in workers started `--with-scheduler`)."""
    return get_queue(kind.queue, connection).enqueue_at(when, kind.path, *args, job_id=job_id,
                                                        job_timeout=kind.timeout, retry=kind.retry)


def workers_running(connection: Redis) -> int:
    """How many RQ workers are registered (a job queued with none waits for nobody)."""
    return Worker.count(connection=connection)


def wait_for_result(connection: Redis, job: Job, timeout: float):
    """Wait for a job's return value (the terminal chat, which has no Slack to be answered in).

    Returns None if it is not done within `timeout`; raises `NoWorker` when no worker runs and
    RuntimeError when the job failed.
    """
    if not workers_running(connection):
        raise NoWorker("no worker is running")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == JobStatus.FINISHED:
            return job.return_value()
        if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            raise RuntimeError(f"job {job.id} {status}")
        time.sleep(0.2)
    return None


def enqueue_send(connection: Redis, batch_id: int) -> Job:
    """Queue the send of a batch. Running it twice is harmless: recipients are claimed atomically."""
    return enqueue(connection, SEND, batch_id, job_id=f"send-batch-{batch_id}-{uuid.uuid4().hex[:8]}")


PROGRESS_INTERVAL_MS = 2000
"""Slack's chat.update is Tier 3 (~50/min): at most one progress update per batch every 2 s."""


def enqueue_progress(connection: Redis, batch_id: int, *, final: bool = False) -> Job | None:
    """Ask for the batch's Slack message to be brought up to date.

    Throttled to one request per batch every 2 s; `final=True` (the batch finished or paused)
    always goes through.
    """
    if not final and not connection.set(f"multisms:progress:{batch_id}", 1, nx=True, px=PROGRESS_INTERVAL_MS):
        return None
    return enqueue(connection, PROGRESS, batch_id, final)


def approval_request_job_id(batch_id: int) -> str:
    return f"approval-request-{batch_id}"


def enqueue_approval_request(connection: Redis, batch_id: int) -> Job:
    """Ask in Slack for a second person to approve a batch now `awaiting_approval` (posted once)."""
    return enqueue(connection, ASK_APPROVAL, batch_id, job_id=approval_request_job_id(batch_id))
