"""`/api/health` checks the real database, Redis and workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from rq import Worker

from multisms.queues import get_queue

FAILURE = "a job that cannot succeed"


def fails_every_time() -> None:
    """A job (run by path) that always fails, as a job with a bug would."""
    raise RuntimeError(FAILURE)


def test_unhealthy_without_a_worker_names_the_part(client):
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json["failing"] == ["workers"]
    assert response.json["checks"]["database"] == {"ok": True}
    assert response.json["checks"]["redis"] == {"ok": True}


def test_healthy_with_a_live_worker(client, redis_conn):
    worker = Worker([get_queue("sms", redis_conn)], connection=redis_conn)
    worker.register_birth()
    worker.heartbeat()
    try:
        response = client.get("/api/health")
    finally:
        worker.register_death()
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["checks"]["workers"] == {"ok": True, "count": 1}
    assert response.json["checks"]["jobs"] == {"ok": True, "failed": 0, "failed_recently": 0}


def test_redis_down_is_reported(make_client):
    client = make_client(REDIS_URL="redis://127.0.0.1:1/0")
    response = client.get("/api/health")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"redis", "workers", "jobs"}
    assert response.json["checks"]["redis"]["error"] == "ConnectionError"


def test_health_needs_no_token(client):
    assert client.get("/api/health").status_code in (200, 503)


def test_failed_jobs_are_counted_and_only_recent_ones_make_the_app_unhealthy(client, redis_conn, run_jobs):
    for _ in range(2):
        get_queue("default", redis_conn).enqueue("tests.test_health.fails_every_time")
    run_jobs()

    now = client.get("/api/health").json
    assert "jobs" in now["failing"]
    assert now["checks"]["jobs"]["failed"] == 2 and now["checks"]["jobs"]["failed_recently"] == 2
    assert "2 job(s) failed in the last 15 minutes" in now["checks"]["jobs"]["error"]

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        later = client.get("/api/health").json
    assert "jobs" not in later["failing"]
    assert later["checks"]["jobs"] == {"ok": True, "failed": 2, "failed_recently": 0}  # counted until requeued
