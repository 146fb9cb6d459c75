"""Send later: a scheduled batch starts at its time and not before, once, whichever path starts it.

The clock is an argument: `due_work(..., now=…)` is the worker's due-work pass at a chosen time.
Sends go through the real send job (RQ SimpleWorker) to the Twilio stand-in.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from jobs.scheduling import due_work, start_batch
from multisms.queues import QUEUE_NAMES, get_queue
from tests.schedule_helpers import batch_of, scheduled_batch, warsaw_morning
from tests.send_helpers import numbers
from tests.slack_helpers import button_values, eventually, text_of

ANNA, BOB = "+48600100001", "+48600100002"


def test_a_scheduled_batch_starts_at_its_time_and_not_before(slack, slack_api, twilio_api, settings, redis_conn,
                                                              run_jobs):
    local, due = warsaw_morning()
    preview = slack.command(f"send {ANNA}, {BOB} | Stand-up moves to room 2 at {local:%Y-%m-%d %H:%M}")
    batch_id = int(button_values(preview)["confirm_batch"])
    assert slack_api.calls("users.info")[0]["user"] == "U1"  # 09:00 is read in the author's zone (Warsaw)
    assert f"Scheduled: goes out <!date^{int(due.timestamp())}^" in text_of(preview)
    assert "Stand-up moves to room 2" in text_of(preview) and "09:00 (Europe/Warsaw)" in text_of(preview)

    confirmed = slack.click("confirm_batch", batch_id)
    assert f"Scheduled: batch #{batch_id} goes out" in confirmed["text"]
    run_jobs()
    assert twilio_api.messages == [] and batch_of(settings, batch_id).status == "scheduled"
    channel_message = eventually(lambda: slack_api.messages("C1"), what="the batch's channel message")[0]
    assert "⏰ Goes out" in text_of(channel_message) and ANNA not in text_of(channel_message)
    assert f"*#{batch_id}*" in text_of(slack.command("schedule list"))
    assert f"*#{batch_id}* scheduled" in text_of(slack.command("list"))
    registry = ScheduledJobRegistry(queue=get_queue("sms", redis_conn))
    assert registry.get_job_ids() == [f"start-batch-{batch_id}-{int(due.timestamp())}"]  # RQ's path, armed

    assert due_work(settings, redis_conn, now=due - timedelta(seconds=1))["started"] == []
    run_jobs()
    assert twilio_api.messages == []
    assert due_work(settings, redis_conn, now=due)["started"] == [batch_id]
    run_jobs()
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)
    assert batch_of(settings, batch_id).status == "completed"

    assert start_batch(batch_id) == {"batch_id": batch_id, "started": False}  # RQ's path, late: nothing to do
    run_jobs()
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)


def test_cancelled_before_its_time_nothing_is_sent(slack, twilio_api, settings, redis_conn, run_jobs):
    local, due = warsaw_morning()
    batch_id = int(button_values(slack.command(f"send {ANNA}, {BOB} | Hi at {local:%Y-%m-%d %H:%M}"))["confirm_batch"])
    slack.click("confirm_batch", batch_id)

    cancelled = slack.command(f"cancel {batch_id}")
    assert f"Batch #{batch_id} is cancelled: 2 recipients will not get it." in cancelled["text"]
    assert due_work(settings, redis_conn, now=due + timedelta(hours=1))["started"] == []
    assert start_batch(batch_id)["started"] is False
    run_jobs()
    assert twilio_api.messages == [] and batch_of(settings, batch_id).status == "cancelled"
    assert "Nothing is waiting" in text_of(slack.command("schedule list"))


def test_reschedule_moves_the_start_until_it_has_started(slack, twilio_api, settings, redis_conn, run_jobs):
    before = datetime.now(UTC)
    batch_id = int(button_values(slack.command(f"send {ANNA} | Coffee in 2h"))["confirm_batch"])
    slack.click("confirm_batch", batch_id)
    first = batch_of(settings, batch_id).scheduled_at
    assert before + timedelta(hours=2) <= first <= datetime.now(UTC) + timedelta(hours=2)

    local, later = warsaw_morning(days=3, hour=10)
    moved = slack.command(f"reschedule {batch_id} at {local:%Y-%m-%d %H:%M}")
    assert f"Batch #{batch_id} now goes out <!date^{int(later.timestamp())}^" in moved["text"]
    assert due_work(settings, redis_conn, now=first + timedelta(minutes=1))["started"] == []  # the old time
    assert due_work(settings, redis_conn, now=later)["started"] == [batch_id]
    run_jobs()
    assert twilio_api.sent_to(ANNA) == 1
    too_late = slack.command(f"reschedule {batch_id} in 1h")
    assert "has already started, so its time can't change" in too_late["text"]
    assert "That time has already passed" in slack.command(f"send {ANNA} | Hi at 2020-01-01 09:00")["text"]


def test_rq_scheduler_and_the_due_work_pass_race_and_the_batch_starts_once(configure, twilio_api, redis_conn):
    settings = configure()
    recipients = numbers(20)
    batch_id = scheduled_batch(settings, recipients, datetime.now(UTC) + timedelta(seconds=0.3))
    time.sleep(0.4)
    results, gate = [], threading.Barrier(4)

    def due_pass():
        gate.wait()
        results.append(len(due_work(settings, redis_conn)["started"]))

    def rq_path():
        gate.wait()
        results.append(int(start_batch(batch_id)["started"]))

    threads = [threading.Thread(target=target) for target in (due_pass, due_pass, rq_path, rq_path)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queues = [get_queue(name, redis_conn) for name in QUEUE_NAMES]
    SimpleWorker(queues, connection=redis_conn).work(burst=True, with_scheduler=True)  # RQ's own job too
    assert sorted(results) == [0, 0, 0, 1]
    assert [n for n in recipients if twilio_api.sent_to(n) != 1] == []
    assert batch_of(settings, batch_id).status == "completed"
