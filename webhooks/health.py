"""`GET /api/health`: is the database reachable, Redis answering, a worker alive?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify
from rq import Worker
from sqlalchemy import text

from webhooks import resources, twilio

bp = Blueprint("health", __name__)

WORKER_SILENCE = timedelta(seconds=120)
"""RQ workers beat every ~minute while idle; silence longer than this means dead."""


@bp.get("/api/health")
def health():
    """200 when every check passes, else 503 naming the part that failed."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["workers"] = _check_workers() if checks["redis"]["ok"] else {"ok": False, "error": "Redis is down"}
    if resources.settings().webhooks_unverifiable:
        checks["twilio_webhooks"] = {"ok": False, "error": twilio.UNVERIFIABLE}
    healthy = all(check["ok"] for check in checks.values())
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if healthy else "unhealthy", "checks": checks}
    if failing:
        body["failing"] = failing
    return jsonify(body), 200 if healthy else 503


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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
