"""A worker killed mid-batch (SIGKILL to its whole process tree) loses and doubles nothing,
while Twilio still holds the messages that were in flight in its queue.

Real worker processes (`python -m jobs.worker`), real Redis, the Twilio stand-in with latency.
RQ's work-horse calls setsid(), so killing the worker's process group would leave it alive:
we kill every process in the tree, as an OOM killer or a dyno restart would.

The stand-in keeps every accepted message `queued` (`accepted` for a Messaging Service) with no
`date_sent` for longer than recovery takes, so a look-up by `DateSent` would miss exactly the
messages the dead worker had in flight. No status callbacks reach the app (no PUBLIC_BASE_URL):
the final statuses come from the delivery poller.
"""

from __future__ import annotations

import os
import time

import pytest

from multisms.db import session_scope
from multisms.models import Batch
from multisms.storage import batch_counts
from tests.processes import kill_tree, start_worker, wait_until
from tests.send_helpers import create_batch, numbers, statuses

FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}
FINAL = {"delivered", "undelivered", "failed"}
QUEUE_SECONDS = 45
"""Longer than recovery takes (heartbeat 10 s, two looks, the next maintenance pass: about 20 s)."""
MESSAGING_SERVICE = "MG" + "ab" * 16


def batch_status(settings, batch_id: int) -> str:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id).status


@pytest.mark.parametrize("sender", ["number", pytest.param("messaging_service", marks=pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="one database is enough for the Messaging Service run"))])
def test_killed_worker_mid_batch_every_recipient_reached_exactly_once(configure, twilio_api, tmp_path, sender):
    # production timings: 10 s heartbeat, recovery every 10 s
    env = {"MULTI_SMS_CONCURRENCY": "4", "WORKER_HEARTBEAT_SECONDS": "10", "RECOVERY_INTERVAL_SECONDS": "10",
           "PUBLIC_BASE_URL": None}
    if sender == "messaging_service":
        env.update(TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE, TWILIO_DEFAULT_FROM=None)
    settings = configure(**env)
    twilio_api.latency = 0.05
    twilio_api.queue_seconds = QUEUE_SECONDS
    twilio_api.receipt_seconds = 1
    recipients = numbers(250)
    unreachable = recipients[-1]
    twilio_api.undeliverable(unreachable, 30003)
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
        finished = wait_until(lambda: batch_status(settings, batch_id) in FINISHED, timeout=90, step=0.2)
        took = time.monotonic() - restarted_at
        assert took < QUEUE_SECONDS, "recovery ran after the queue emptied; the test proves nothing"
        settled = wait_until(lambda: set(statuses(settings, batch_id).values()) <= FINAL, timeout=120, step=0.5)
    finally:
        kill_tree(second)
    log = (tmp_path / "crash-second.log").read_text()[-3000:]
    assert finished and settled, log
    print(f"killed {killed} processes after {sent_before_restart} sends; finished {took:.1f}s after the restart")
    duplicates = [n for n in recipients if twilio_api.sent_to(n) > 1]
    missing = [n for n in recipients if twilio_api.sent_to(n) == 0]
    assert (duplicates, missing) == ([], [])
    final = statuses(settings, batch_id)
    assert final.pop(unreachable) == "undelivered"
    assert set(final.values()) == {"delivered"}
    with session_scope(settings.database_url) as session:
        counts = batch_counts(session, [batch_id])[batch_id]
    assert (counts.success, counts.delivered, counts.failure, counts.pending) == (249, 249, 1, 0)
    assert batch_status(settings, batch_id) == "completed_with_errors"  # the receipt came after it finished
