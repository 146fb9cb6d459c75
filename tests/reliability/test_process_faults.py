"""Processes dying under the batch: workers SIGKILLed at random moments, Redis restarted
(losing every key), PostgreSQL dropping every connection. Real worker processes throughout."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from multisms.db import session_scope
from multisms.models import Batch
from tests.conftest import TEST_DATABASE_URL
from tests.processes import kill_tree, start_worker, wait_until
from tests.reliability.conftest import FINISHED, assert_clean, audit, injected
from tests.send_helpers import create_batch, numbers

FINISH_WITHIN = 60


def status(settings, batch_id: int) -> str:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id).status


def finish_with_fresh_workers(settings, batch_id: int, tmp_path, name: str) -> None:
    """Keep one worker running (restarting it if it dies) until the batch is finished."""
    worker = start_worker(name, tmp_path)
    deadline = time.monotonic() + FINISH_WITHIN
    try:
        while status(settings, batch_id) not in FINISHED and time.monotonic() < deadline:
            if worker.poll() is not None:
                worker = start_worker(name, tmp_path)
            time.sleep(0.2)
    finally:
        kill_tree(worker)
    assert status(settings, batch_id) in FINISHED, (tmp_path / f"{name}.log").read_text()[-3000:]


def test_workers_killed_at_random_moments_lose_and_double_nothing(configure, twilio_api, tmp_path, rounds):
    settings = configure(MULTI_SMS_CONCURRENCY="4", MULTI_SMS_MPS="60")
    twilio_api.latency = 0.03
    chance = random.Random(20261125)
    batch_id = create_batch(settings, numbers(200), body="Kill test")
    for kill in range(2 * rounds):
        worker = start_worker(f"victim-{kill}", tmp_path)
        before = len(twilio_api.messages)
        wait_until(lambda b=before: len(twilio_api.messages) > b, timeout=30)  # it is sending
        time.sleep(chance.uniform(0.1, 1.2))
        kill_tree(worker)
        injected("worker SIGKILL (whole tree)")
        if status(settings, batch_id) in FINISHED:
            break
    finish_with_fresh_workers(settings, batch_id, tmp_path, "survivor")
    assert_clean(audit(settings, twilio_api, batch_id))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server(port: int, workdir) -> subprocess.Popen:
    process = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ping = ["redis-cli", "-p", str(port), "ping"]
    assert wait_until(lambda: subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG", timeout=10)
    return process


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_redis_restarted_mid_batch_loses_every_key_but_no_recipient(configure, twilio_api, tmp_path):
    port = _free_port()
    redis = _redis_server(port, tmp_path)
    try:
        settings = configure(REDIS_URL=f"redis://127.0.0.1:{port}/0", MULTI_SMS_CONCURRENCY="4", MULTI_SMS_MPS="60")
        twilio_api.latency = 0.03
        batch_id = create_batch(settings, numbers(150, start=300), body="Redis restart")
        worker = start_worker("through-redis-restart", tmp_path)
        try:
            assert wait_until(lambda: len(twilio_api.messages) >= 40, timeout=30)
            redis.kill()
            redis.wait(timeout=10)
            injected("redis restart (all keys lost)")
            time.sleep(0.5)
            redis = _redis_server(port, tmp_path)
        finally:
            kill_tree(worker)
        finish_with_fresh_workers(settings, batch_id, tmp_path, "after-redis-restart")
        assert_clean(audit(settings, twilio_api, batch_id))
    finally:
        redis.kill()
        redis.wait(timeout=10)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite has no server connection to lose; runs on PostgreSQL")
def test_database_connections_dropped_mid_batch(configure, twilio_api, tmp_path, database_url):
    settings = configure(MULTI_SMS_CONCURRENCY="4", MULTI_SMS_MPS="60")
    twilio_api.latency = 0.03
    batch_id = create_batch(settings, numbers(150, start=600), body="Database loss")
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    worker = start_worker("through-db-loss", tmp_path)
    try:
        for threshold in (30, 80):
            assert wait_until(lambda t=threshold: len(twilio_api.messages) >= t, timeout=30)
            with admin.connect() as conn:
                dropped = conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            injected("database connections dropped", dropped)
    finally:
        kill_tree(worker)
        admin.dispose()
    finish_with_fresh_workers(settings, batch_id, tmp_path, "after-db-loss")
    assert_clean(audit(settings, twilio_api, batch_id))
