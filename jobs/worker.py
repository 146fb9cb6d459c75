"""`python -m jobs.worker`: an RQ worker on the sms, ai and default queues, with the scheduler.

It runs `jobs.recovery` when it starts and then about every ten seconds while idle, so a
batch whose worker died is taken over well within a minute, without waiting for RQ's
job timeout.
"""

from __future__ import annotations

import argparse
import logging

from rq import Worker

from jobs.recovery import recover
from multisms.config import get_settings
from multisms.gateway import make_gateway
from multisms.queues import QUEUE_NAMES, get_queue, redis_connection

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 10
WORKER_TTL_SECONDS = 25
"""An idle worker wakes every `WORKER_TTL_SECONDS - 15` s (RQ's dequeue timeout) to run maintenance."""


class MultismsWorker(Worker):
    """RQ's worker, plus our recovery pass in its maintenance loop."""

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        settings = get_settings()
        try:
            recover(settings, self.connection, make_gateway(settings))
        except Exception:  # the worker must outlive a failed pass; the next one retries
            log.exception("recovery pass failed")


def build_worker(connection, name: str | None = None) -> MultismsWorker:
    queues = [get_queue(queue, connection) for queue in QUEUE_NAMES]
    return MultismsWorker(queues, connection=connection, name=name, worker_ttl=WORKER_TTL_SECONDS,
                          maintenance_interval=MAINTENANCE_SECONDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a multisms worker.")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", help="worker name (default: RQ's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    build_worker(redis_connection(get_settings()), args.name).work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
