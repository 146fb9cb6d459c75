"""Scheduling with real worker processes: SIGKILL between scheduling and start, two schedulers at once.

RQ's scheduler lock of a killed worker outlives it by about a minute, so RQ's own path would
start the batch late; the due-work pass in the maintenance loop must start it on time, once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from multisms import reminders
from multisms.db import session_scope
from multisms.models import Reminder, ReminderRun
from multisms.timespec import Schedule
from tests.processes import kill_tree, start_worker, wait_until
from tests.schedule_helpers import batch_of, scheduled_batch
from tests.send_helpers import numbers

SCHEDULER_LOCK = "rq:scheduler-lock:sms"


def test_worker_and_scheduler_killed_before_the_time_the_batch_still_starts_on_time_once(
        configure, twilio_api, redis_conn, tmp_path):
    settings = configure(RECOVERY_INTERVAL_SECONDS="1")
    recipients = numbers(5)
    due = datetime.now(UTC) + timedelta(seconds=6)
    batch_id = scheduled_batch(settings, recipients, due, body="Doors open")
    first = start_worker("scheduled-first", tmp_path)
    try:
        assert wait_until(lambda: redis_conn.get(SCHEDULER_LOCK), timeout=15), (tmp_path / "scheduled-first.log")
    finally:
        kill_tree(first)
    dead_scheduler = redis_conn.get(SCHEDULER_LOCK)
    assert datetime.now(UTC) < due - timedelta(seconds=1), "the worker took too long to start; nothing proven"

    second = start_worker("scheduled-second", tmp_path)
    try:
        assert not wait_until(lambda: twilio_api.messages, timeout=(due - datetime.now(UTC)).total_seconds() - 0.3)
        sent = wait_until(lambda: len(twilio_api.messages) == len(recipients), timeout=20)
        time.sleep(1.5)  # more passes of the second worker: still nothing twice
    finally:
        kill_tree(second)
    assert sent, (tmp_path / "scheduled-second.log").read_text()[-3000:]
    assert [n for n in recipients if twilio_api.sent_to(n) != 1] == []
    batch = batch_of(settings, batch_id)
    assert batch.status == "completed" and due <= batch.started_at < due + timedelta(seconds=5)
    assert redis_conn.get(SCHEDULER_LOCK) == dead_scheduler  # RQ's path was still locked out: due work did it


def test_a_reminder_runs_once_per_occurrence_with_two_workers_running(configure, twilio_api, redis_conn, tmp_path):
    settings = configure(RECOVERY_INTERVAL_SECONDS="1")
    recipients = numbers(3)
    with session_scope(settings.database_url) as session:
        reminder = reminders.create(session, settings, kind="reminder", schedule=Schedule("0 9 * * *"), zone="UTC",
                                    body="Daily check-in", numbers=", ".join(recipients), sender=None,
                                    created_by="test", slack_channel=None, now=datetime.now(UTC))
        session.flush()
        due = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        session.execute(update(Reminder).where(Reminder.id == reminder.id).values(next_run_at=due, cron="* * * * *"))
    workers = [start_worker(f"scheduler-{i}", tmp_path) for i in range(2)]
    try:
        sent = wait_until(lambda: len(twilio_api.messages) >= len(recipients), timeout=20)
        time.sleep(2.5)  # both workers keep passing over it
        # a minute may turn meanwhile and start the next occurrence: let it finish before the kill
        settled = wait_until(lambda: all_sent(settings, reminder.id, len(recipients), twilio_api), timeout=20)
    finally:
        for worker in workers:
            kill_tree(worker)
    assert sent and settled, (tmp_path / "scheduler-0.log").read_text()[-3000:]
    with session_scope(settings.database_url) as session:
        runs = session.query(ReminderRun).filter_by(reminder_id=reminder.id).all()
        occurrences = [run.occurrence_at for run in runs]
    assert len(occurrences) == len(set(occurrences))  # never twice for one occurrence
    assert len(twilio_api.messages) == len(recipients) * len(runs)
    assert all(twilio_api.sent_to(n) == len(runs) for n in recipients)


def all_sent(settings, reminder_id: int, per_run: int, twilio_api) -> bool:
    """Every run so far has reached all its recipients."""
    with session_scope(settings.database_url) as session:
        runs = session.query(ReminderRun).filter_by(reminder_id=reminder_id).count()
    return len(twilio_api.messages) == per_run * runs
