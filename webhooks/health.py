"""`GET /api/health`: is the database reachable, Redis answering, a worker alive, no job failing?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint
from rq import Worker
from rq.job import Job
from sqlalchemy import text

from multisms.queues import QUEUE_NAMES, get_queue
from webhooks import resources, twilio
from webhooks.api.models import Health
from webhooks.api.openapi import operation

bp = Blueprint("health", __name__)

WORKER_SILENCE = timedelta(seconds=120)
"""RQ workers beat every ~minute while idle; silence longer than this means dead."""
RECENT_FAILURES = timedelta(minutes=15)
"""A job that failed (all its retries spent) this recently makes the app unhealthy; older ones are only counted."""
NEWEST_FAILURES_READ = 50
"""Failed jobs read per queue to find the recent ones (newest first); the total is counted without reading."""


@bp.get("/api/health")
@operation("Database, Redis, worker and failed-job checks", public=True,
           responses={200: (Health, "All checks pass"), 503: (Health, "A named check failed")})
def health():
    """200 when every check passes, else 503 naming the part that failed."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    redis_down = {"ok": False, "error": "Redis is down"}
    checks["workers"] = _check_workers() if checks["redis"]["ok"] else redis_down
    checks["jobs"] = _check_failed_jobs() if checks["redis"]["ok"] else redis_down
    if resources.settings().webhooks_unverifiable:
        checks["twilio_webhooks"] = {"ok": False, "error": twilio.UNVERIFIABLE}
    healthy = all(check["ok"] for check in checks.values())
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if healthy else "unhealthy", "checks": checks}
    if failing:
        body["failing"] = failing
    return Health.model_validate(body), 200 if healthy else 503


def _check_database() -> dict:
    try:
        resources.db().execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the type is reported
        return {"ok": False, "error": type(exc).__name__}


def _check_redis() -> dict:
    try:
        resources.redis().ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}


def _check_workers() -> dict:
    """Count workers whose heartbeat is recent: a killed worker stays registered for minutes."""
    try:
        workers = Worker.all(connection=resources.redis())
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}
    now = datetime.now(UTC)
    count = sum(1 for w in workers if w.last_heartbeat and now - _aware(w.last_heartbeat) < WORKER_SILENCE)
    if count == 0:
        return {"ok": False, "count": 0, "error": "no worker is running (start one: python -m jobs.worker)"}
    return {"ok": True, "count": count}


def _check_failed_jobs() -> dict:
    """Jobs in RQ's failed registries, retries spent. Unhealthy only while one failed in the last
    RECENT_FAILURES: an old failure is counted until someone requeues or deletes it (docs/operations.md)."""
    try:
        registries = [get_queue(name, resources.redis()).failed_job_registry for name in QUEUE_NAMES]
        failed = sum(registry.count for registry in registries)
        recent = sum(_failed_since(registry, datetime.now(UTC) - RECENT_FAILURES) for registry in registries)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}
    if recent:
        minutes = int(RECENT_FAILURES.total_seconds() // 60)
        return {"ok": False, "failed": failed, "failed_recently": recent,
                "error": f"{recent} job(s) failed in the last {minutes} minutes (see `rq info`)"}
    return {"ok": True, "failed": failed, "failed_recently": 0}


def _failed_since(registry, since: datetime) -> int:
    """Failed jobs among the newest whose last step (end, start or queueing) is after `since`."""
    ids = registry.get_job_ids(0, NEWEST_FAILURES_READ - 1, desc=True)
    jobs = [job for job in Job.fetch_many(ids, connection=registry.connection) if job is not None]
    return sum(1 for job in jobs if _aware(job.ended_at or job.started_at or job.enqueued_at) >= since)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
