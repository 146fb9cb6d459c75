"""`python -m jobs.worker`: an RQ worker on the sms, ai and default queues, with the scheduler.

A thin wrapper over RQ so the worker uses the same Redis connection as the web process
(including the embedded one for local use).
"""

from __future__ import annotations

import argparse
import logging

from rq import Worker

from multisms.config import get_settings
from multisms.queues import QUEUE_NAMES, get_queue, redis_connection


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a multisms worker.")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", help="worker name (default: RQ's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    connection = redis_connection(get_settings())
    queues = [get_queue(name, connection) for name in QUEUE_NAMES]
    worker = Worker(queues, connection=connection, name=args.name)
    worker.work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
