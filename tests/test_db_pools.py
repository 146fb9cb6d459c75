"""Database connections: each process holds no more than its real concurrency needs, and a forked
work-horse never talks over the connections of the worker that forked it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from jobs.worker import build_worker
from multisms.config import get_settings
from multisms.db import POOL_SIZE, get_engine
from multisms.queues import get_queue
from tests.send_helpers import create_batch, numbers, statuses


def which_process_opened_my_connection() -> dict:
    """A job: the work-horse's pid, and the pid of the process that opened the connection it was given."""
    with get_engine(get_settings().database_url).connect() as conn:
        conn.execute(text("SELECT 1"))
        return {"horse": os.getpid(), "opened_by": conn.info.get("opened_by")}


@contextmanager
def stamped(engine) -> Iterator[None]:
    """Every connection the engine opens from now on remembers which process opened it."""
    def stamp(_dbapi_connection, record) -> None:
        record.info["opened_by"] = os.getpid()

    event.listen(engine, "connect", stamp)
    try:
        yield
    finally:
        event.remove(engine, "connect", stamp)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # pytest's own threads
def test_a_work_horse_opens_its_own_connection_and_leaves_the_workers_alone(settings, redis_conn):
    engine = get_engine(settings.database_url)
    engine.dispose()
    with stamped(engine):
        with engine.connect() as conn:  # the worker has used the database (its recovery pass) before forking
            conn.execute(text("SELECT 1"))
        job = get_queue("default", redis_conn).enqueue("tests.test_db_pools.which_process_opened_my_connection")
        build_worker(redis_conn).work(burst=True)  # RQ's forking worker, as in production

        seen = job.return_value()
        assert seen["horse"] != os.getpid()
        assert seen["opened_by"] == seen["horse"], "the work-horse used a connection its parent opened"
        with engine.connect() as conn:  # and the worker's own connection still works after the horse exited
            assert conn.execute(text("SELECT 1")).scalar() == 1
            assert conn.info["opened_by"] == os.getpid()


class ConnectionsInUse:
    """The most connections checked out of the engine's pool at once."""

    def __init__(self, engine):
        self.engine, self.now, self.peak = engine, 0, 0
        self._lock = threading.Lock()

    def __enter__(self) -> ConnectionsInUse:
        event.listen(self.engine, "checkout", self._out)
        event.listen(self.engine, "checkin", self._in)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "checkout", self._out)
        event.remove(self.engine, "checkin", self._in)

    def _out(self, *_args) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def _in(self, *_args) -> None:
        with self._lock:
            self.now -= 1


def test_a_send_with_64_requests_in_flight_holds_at_most_3_connections(configure, twilio_api, run_jobs):
    settings = configure(MULTI_SMS_CONCURRENCY="64")
    twilio_api.latency = 0.05  # every send thread spends its time waiting on Twilio
    batch_id = create_batch(settings, numbers(250))
    with ConnectionsInUse(get_engine(settings.database_url)) as connections:
        run_jobs()
    assert set(statuses(settings, batch_id).values()) == {"queued"}
    assert 1 <= connections.peak <= 3 < POOL_SIZE  # the claimer, the result writer, the batch watcher
