"""`python -m jobs.worker`: an RQ worker on the sms, ai and default queues, with the scheduler.

It runs `jobs.recovery` and the delivery poller (`jobs.delivery`) when it starts and then every
`RECOVERY_INTERVAL_SECONDS` (10 s by default) while idle, so a batch whose worker died is taken
over well within a minute, without waiting for RQ's job timeout. Before it,
`jobs.scheduling.due_work` starts scheduled batches and runs reminders whose time has come, so
they start on time even while RQ's scheduler is down or a killed worker still holds its lock.

Redis or PostgreSQL going away does not end the process. RQ's own loop quits on most Redis
errors ("unhandled exception, quitting"); `work_until_stopped` then waits for Redis with
backoff and starts the loop again in the same process, and a worker whose registration an
emptied Redis forgot registers again. What Redis lost (queued jobs, locks, heartbeats) is
rebuilt by the recovery pass from the database.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker, worker_registration
from rq.exceptions import StopRequested
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from jobs.delivery import poll_pass
from jobs.recovery import recover
from jobs.scheduling import due_work
from multisms.config import get_settings
from multisms.errors import OldAppDatabase
from multisms.gateway import make_gateway
from multisms.legacy import refuse_old_app_database
from multisms.logging_setup import configure_logging
from multisms.queues import QUEUE_NAMES, get_queue, redis_connection

log = logging.getLogger(__name__)

RQ_DEQUEUE_MARGIN = 15
"""RQ waits `worker_ttl - 15` s for a job before looping: our ttl makes that the recovery interval."""


RECONNECT_MAX_WAIT_SECONDS = 30
"""Waits for Redis double from 1 s up to this, so a long outage costs one log line per half minute."""
STEADY_SECONDS = 60
"""A loop that ran this long before it ended is restarted after 1 s again, not after the last wait doubled."""


class MultismsWorker(Worker):
    """RQ's worker, plus our due-work and recovery passes in its maintenance loop; it outlives Redis blips."""

    asked_to_stop = False
    """Set by SIGTERM/SIGINT (or `rq` asking it to shut down): the only reason its loop may end for good."""
    torn_down = False

    def request_stop(self, signum, frame):
        self.asked_to_stop = True
        super().request_stop(signum, frame)

    def teardown(self):
        super().teardown()
        self.torn_down = True

    def maintain_heartbeats(self, job, *args):
        """While a job runs: a beat Redis cannot take is skipped, not fatal (RQ would leave the horse
        running unwatched and quit)."""
        try:
            super().maintain_heartbeats(job, *args)
        except RedisError as exc:
            log.warning("worker %s: heartbeat missed while job %s runs (%s)", self.name, job.id, type(exc).__name__)

    def register_again_if_forgotten(self) -> None:
        """Redis came back empty: without its registration the worker is invisible to `rq info`,
        /api/health and the terminal chat, though it works on."""
        if self.key in worker_registration.get_keys(connection=self.connection):
            return
        log.warning("worker %s: Redis no longer knows this worker (restarted empty?); registering again", self.name)
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipe)
            pipe.expire(self.key, self.worker_ttl + 60)
            pipe.execute()

    def run_maintenance_tasks(self):
        self.register_again_if_forgotten()
        super().run_maintenance_tasks()
        settings = get_settings()
        try:  # first: it parks batches waiting out quiet hours, which recovery would otherwise requeue
            due_work(settings, self.connection)
        except Exception:  # the worker must outlive a failed pass; the next one retries
            log.exception("due-work pass failed")
        gateway = make_gateway(settings)
        try:
            recover(settings, self.connection, gateway)
        except Exception:  # the worker must outlive a failed pass; the next one retries
            log.exception("recovery pass failed")
        try:
            poll_pass(settings, self.connection, gateway)
        except Exception:  # the worker must outlive a failed pass; the next one retries
            log.exception("delivery poll failed")


WORKER_OPTIONS = {"log_job_description": False}
"""A job's description holds its arguments (texts people wrote, numbers): never logged."""


def build_worker(connection, name: str | None = None) -> MultismsWorker:
    interval = max(int(get_settings().recovery_interval_seconds), 1)
    queues = [get_queue(queue, connection) for queue in QUEUE_NAMES]
    return MultismsWorker(queues, connection=connection, name=name, worker_ttl=interval + RQ_DEQUEUE_MARGIN,
                          maintenance_interval=interval, **WORKER_OPTIONS)


CORE_JOBS = ("jobs.send", "jobs.inbound", "jobs.outbound", "jobs.progress", "jobs.scheduling")
AI_JOBS = ("jobs.knowledge", "jobs.digest")
"""Loaded only with an OpenAI key: LangChain and FAISS cost memory a worker without AI never needs."""


def preload_jobs(settings) -> None:
    """Import the job code once in the parent. RQ forks a fresh work-horse per job, and what the
    parent has not loaded each job loads again (seconds for an AI answer: bench/README.md, ai_reply)."""
    for module in CORE_JOBS:
        importlib.import_module(module)
    if settings.openai_api_key:
        for module in AI_JOBS:
            importlib.import_module(module)
        importlib.import_module("jobs.knowledge").preload()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a multisms worker.")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", help="worker name (default: RQ's)")
    args = parser.parse_args(argv)
    try:
        refuse_old_app_database(get_settings().database_url)
    except OldAppDatabase as refused:
        parser.exit(2, f"{refused}\n")
    configure_logging(get_settings().log_level)
    preload_jobs(get_settings())
    work_until_stopped(redis_connection(get_settings()), args.name, burst=args.burst)


def work_until_stopped(connection: Redis, name: str | None = None, *, burst: bool = False) -> None:
    """RQ's loop, started again whenever it ends without being asked to (Redis went away under it).
    Restarts in quick succession wait longer each time, so a fault that persists cannot spin."""
    pause = 0.0
    while True:
        worker = build_worker(connection, name)
        started = time.monotonic()
        try:
            worker.work(burst=burst, with_scheduler=True)
        except RedisError:  # RQ's teardown could not tell Redis the worker left
            if burst:
                raise
        if burst or worker.asked_to_stop:
            return
        steady = time.monotonic() - started > STEADY_SECONDS
        pause = 1.0 if steady or not pause else min(pause * 2, RECONNECT_MAX_WAIT_SECONDS)
        log.warning("worker %s: RQ's loop ended on its own (Redis unreachable?); starting it again in %.0f s",
                    worker.name, pause)
        try:
            time.sleep(pause)
            _let_go(worker, connection)
        except StopRequested:  # SIGTERM between two loops (a dyno restart): RQ's handler says stop
            return
        if worker.asked_to_stop:
            return


def _let_go(worker: MultismsWorker, connection: Redis) -> None:
    """Finish with a loop that ended: its job's work-horse first (never two jobs at once), then,
    once Redis answers, the deregistration its teardown could not do."""
    if worker.horse_pid:
        worker.wait_for_horse()
    wait_for_redis(connection)
    if worker.torn_down:
        return
    try:
        worker.teardown()
    except RedisError as exc:  # gone again: the next round waits for it anew
        log.warning("worker %s: could not deregister (%s)", worker.name, type(exc).__name__)


def wait_for_redis(connection: Redis) -> None:
    """Block until Redis answers a PING, trying again after 1, 2, 4 … RECONNECT_MAX_WAIT_SECONDS."""
    for attempt in Retrying(wait=wait_exponential(multiplier=1, max=RECONNECT_MAX_WAIT_SECONDS),
                            retry=retry_if_exception_type(RedisError), reraise=True,
                            before_sleep=lambda state: log.warning(
                                "Redis unreachable (%s); trying again in %.0f s",
                                type(state.outcome.exception()).__name__, state.next_action.sleep)):
        with attempt:
            connection.ping()


if __name__ == "__main__":
    main()
