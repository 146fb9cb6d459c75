"""`python -m jobs.worker`: an RQ worker on the sms, ai and default queues, with the scheduler.

It runs `jobs.recovery` and the delivery poller (`jobs.delivery`) when it starts and then every
`RECOVERY_INTERVAL_SECONDS` (10 s by default) while idle, so a batch whose worker died is taken
over well within a minute, without waiting for RQ's job timeout. Before it,
`jobs.scheduling.due_work` starts scheduled batches and runs reminders whose time has come, so
they start on time even while RQ's scheduler is down or a killed worker still holds its lock.
"""

from __future__ import annotations

import argparse
import importlib
import logging

from rq import Worker

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


class MultismsWorker(Worker):
    """RQ's worker, plus our due-work and recovery passes in its maintenance loop."""

    def run_maintenance_tasks(self):
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
    build_worker(redis_connection(get_settings()), args.name).work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
