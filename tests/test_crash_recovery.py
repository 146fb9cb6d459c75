"""A worker killed mid-batch (SIGKILL to its whole process tree) loses and doubles nothing.

Real worker processes (`python -m jobs.worker`), real Redis, the Twilio stand-in with latency.
RQ's work-horse calls setsid(), so killing the worker's process group would leave it alive:
we kill every process in the tree, as an OOM killer or a dyno restart would.
"""

from __future__ import annotations

import time

from multisms.db import session_scope
from multisms.models import Batch
from tests.processes import kill_tree, start_worker, wait_until
from tests.send_helpers import create_batch, numbers, statuses

FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}


def batch_status(settings, batch_id: int) -> str:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id).status


def test_killed_worker_mid_batch_every_recipient_reached_exactly_once(configure, twilio_api, tmp_path):
    # production timings: 10 s heartbeat, recovery every 10 s
    settings = configure(MULTI_SMS_CONCURRENCY="4", WORKER_HEARTBEAT_SECONDS="10", RECOVERY_INTERVAL_SECONDS="10")
    twilio_api.latency = 0.05
    recipients = numbers(250)
    batch_id = create_batch(settings, recipients, body="Crash-safe hello")
    first = start_worker("crash-first", tmp_path)
    try:
        started = wait_until(lambda: len(twilio_api.messages) >= 80, timeout=60)
        assert started, (tmp_path / "crash-first.log").read_text()
    finally:
        killed = kill_tree(first)
    assert killed >= 2  # the worker and its work-horse at least
    sent_before_restart = len(twilio_api.messages)
    assert sent_before_restart < 250, "the batch finished before the kill; the test proves nothing"

    restarted_at = time.monotonic()
    second = start_worker("crash-second", tmp_path)
    try:
        finished = wait_until(lambda: batch_status(settings, batch_id) in FINISHED, timeout=60, step=0.2)
        took = time.monotonic() - restarted_at
    finally:
        kill_tree(second)
    assert finished, (tmp_path / "crash-second.log").read_text()[-3000:]
    print(f"killed {killed} processes after {sent_before_restart} sends; finished {took:.1f}s after the restart")
    duplicates = [n for n in recipients if twilio_api.sent_to(n) > 1]
    missing = [n for n in recipients if twilio_api.sent_to(n) == 0]
    assert (duplicates, missing) == ([], [])
    assert batch_status(settings, batch_id) == "completed"
    assert set(statuses(settings, batch_id).values()) == {"queued"}
    assert took < 60
