"""`/api/health` checks the real database, Redis and workers."""

from __future__ import annotations

from rq import Worker

from multisms.queues import get_queue


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


def test_redis_down_is_reported(make_client):
    client = make_client(REDIS_URL="redis://127.0.0.1:1/0")
    response = client.get("/api/health")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"redis", "workers"}
    assert response.json["checks"]["redis"]["error"] == "ConnectionError"


def test_health_needs_no_token(client):
    assert client.get("/api/health").status_code in (200, 503)
