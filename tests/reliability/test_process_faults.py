"""Processes dying under the batch: workers SIGKILLed at random moments; Redis killed and back
empty (every queue, lock, heartbeat and pacer slot gone) and PostgreSQL dropping every connection,
both ridden out by the same worker processes. Real worker processes throughout."""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
from rq import Worker
from rq.job import Job
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from multisms.db import session_scope
from multisms.models import Batch, Message
from tests.conftest import TEST_DATABASE_URL
from tests.processes import kill_tree, start_worker, wait_until
from tests.reliability.conftest import FINISHED, assert_clean, audit, injected
from tests.send_helpers import create_batch, numbers, post_signed, statuses

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
    """A Redis of the test's own that keeps nothing on disk: restarted, it comes back empty."""
    process = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ping = ["redis-cli", "-p", str(port), "ping"]
    assert wait_until(lambda: subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG", timeout=10)
    return process


def blip_batch(settings, twilio_api, start: int, body: str) -> tuple[int, list[str]]:
    """250 recipients; Twilio keeps each message queued a moment and then delivers it (no callbacks: polled)."""
    twilio_api.latency = 0.03
    twilio_api.receipt_seconds = 1
    recipients = numbers(250, start=start)
    return create_batch(settings, recipients, body=body), recipients


def ride_out(settings, twilio_api, batch_id: int, workers: list, tmp_path) -> None:
    """The batch finishes and every status becomes final with the workers that were there all along."""
    back = time.monotonic()
    finished = wait_until(lambda: status(settings, batch_id) in FINISHED, timeout=RIDE_OUT_WITHIN, step=0.2)
    took = time.monotonic() - back
    settled = finished and wait_until(lambda: set(statuses(settings, batch_id).values()) <= FINAL,
                                      timeout=RIDE_OUT_WITHIN, step=0.5)
    print(f"batch finished {took:.1f}s, every status final {time.monotonic() - back:.1f}s after the service was back")
    logs = "\n".join((tmp_path / f"{name}.log").read_text()[-2000:] for name in WORKER_NAMES)
    assert [worker.poll() for worker in workers] == [None] * len(workers), "a worker exited:\n" + logs
    assert finished and settled, logs


WORKER_NAMES = ("blip-a", "blip-b")
RIDE_OUT_WITHIN = 90
FINAL = {"delivered", "undelivered", "failed"}


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_redis_killed_mid_batch_and_back_empty_the_same_workers_finish_it(configure, twilio_api, tmp_path):
    port = _free_port()
    redis = _redis_server(port, tmp_path)
    settings = configure(REDIS_URL=f"redis://127.0.0.1:{port}/0", MULTI_SMS_CONCURRENCY="4", MULTI_SMS_MPS="60",
                         PUBLIC_BASE_URL=None)
    batch_id, recipients = blip_batch(settings, twilio_api, 300, "Redis blip")
    workers = [start_worker(name, tmp_path) for name in WORKER_NAMES]
    try:
        assert wait_until(lambda: len(twilio_api.messages) >= 60, timeout=30)
        redis.kill()
        redis.wait(timeout=10)
        injected("redis killed, back empty 3 s later")
        time.sleep(3)
        assert len(twilio_api.messages) < 250, "the batch finished before Redis died; the test proves nothing"
        redis = _redis_server(port, tmp_path)
        ride_out(settings, twilio_api, batch_id, workers, tmp_path)
    finally:
        for worker in workers:
            kill_tree(worker)
        redis.kill()
        redis.wait(timeout=10)
    assert [n for n in recipients if twilio_api.sent_to(n) != 1] == []
    assert_clean(audit(settings, twilio_api, batch_id))


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite has no server connection to lose; runs on PostgreSQL")
def test_database_connections_dropped_mid_batch_the_same_workers_finish_it(configure, twilio_api, tmp_path,
                                                                           database_url):
    settings = configure(MULTI_SMS_CONCURRENCY="4", MULTI_SMS_MPS="60", PUBLIC_BASE_URL=None)
    batch_id, recipients = blip_batch(settings, twilio_api, 600, "Database blip")
    workers = [start_worker(name, tmp_path) for name in WORKER_NAMES]
    try:
        assert wait_until(lambda: len(twilio_api.messages) >= 60, timeout=30)
        with database_away(database_url) as dropped:
            time.sleep(3)
        injected("database connections dropped, none accepted for 3 s", dropped())
        assert len(twilio_api.messages) < 250, "the batch finished before the drop; the test proves nothing"
        ride_out(settings, twilio_api, batch_id, workers, tmp_path)
    finally:
        for worker in workers:
            kill_tree(worker)
    assert [n for n in recipients if twilio_api.sent_to(n) != 1] == []
    assert_clean(audit(settings, twilio_api, batch_id))


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite has no server connection to lose; runs on PostgreSQL")
def test_a_text_that_arrives_while_the_database_is_away_is_stored_once_it_is_back(configure, make_client, twilio_api,
                                                                                 redis_conn, tmp_path, database_url):
    settings = configure()
    client = make_client()
    worker = start_worker(WORKER_NAMES[0], tmp_path)
    form = twilio_api.inbound_form("+48600100000", "+15005550006", "Is the night shift still on?")
    try:
        assert wait_until(lambda: Worker.count(connection=redis_conn) == 1, timeout=30)
        with database_away(database_url) as dropped:
            away = time.monotonic()
            assert post_signed(client, twilio_api, "/twilio/inbound", form).status_code == 200
            job = Job.fetch(f"inbound-{form['MessageSid']}", connection=redis_conn)
            assert wait_until(lambda: job.get_status(refresh=True) in ("scheduled", "failed"), timeout=20), \
                "the worker never tried the text while the database was away; the test proves nothing"
            time.sleep(max(0.0, 3 - (time.monotonic() - away)))
        injected("database connections dropped, none accepted for 3 s", dropped())
        assert wait_until(lambda: inbound_bodies(settings) == ["Is the night shift still on?"], timeout=60)
    finally:
        kill_tree(worker)


def inbound_bodies(settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Message.body).where(Message.direction == "inbound")))


@contextmanager
def database_away(database_url: str):
    """The test database as a failover leaves it: every connection terminated, and new ones refused
    until the block ends (the server's other databases are untouched). Yields a count of the drops."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    dropped = 0
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            dropped = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                        "WHERE datname = :name"), {"name": name}).scalar()
        yield lambda: dropped
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def test_a_worker_asked_to_stop_stops_for_good(configure, redis_conn, tmp_path):
    configure()
    worker = start_worker("stopping", tmp_path)
    try:
        idle = lambda: [w.get_state() for w in Worker.all(connection=redis_conn)] == ["idle"]  # noqa: E731
        assert wait_until(idle, timeout=30)  # started, and waiting for jobs
        worker.send_signal(signal.SIGTERM)  # what Heroku sends at a restart or a scale-down
        assert worker.wait(timeout=30) == 0, (tmp_path / "stopping.log").read_text()[-2000:]
    finally:
        kill_tree(worker)
    assert Worker.count(connection=redis_conn) == 0  # deregistered, not restarted
