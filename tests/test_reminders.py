"""Recurring reminders from Slack: each occurrence is one normal batch, with its own thread, once.

Two due-work passes race on the database for every occurrence (what two scheduler workers do);
exactly one of them makes the batch. The clock is the `now` argument of the pass.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.shell import Shell
from jobs.scheduling import due_work
from multisms.db import session_scope
from multisms.models import Batch, Reminder, ReminderRun
from tests.schedule_helpers import WARSAW
from tests.slack_helpers import text_of

ANNA, BOB = "+48600100001", "+48600100002"


def reminder(settings, reminder_id: int) -> Reminder:
    with session_scope(settings.database_url) as session:
        return session.get(Reminder, reminder_id)


def racing_passes(settings, redis_conn, now, workers: int = 2) -> list[int]:
    """`workers` due-work passes released at the same instant; the run ids each one made."""
    made, gate = [], threading.Barrier(workers)

    def one_pass():
        gate.wait()
        made.extend(due_work(settings, redis_conn, now=now)["runs"])

    threads = [threading.Thread(target=one_pass) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made


def test_a_reminder_runs_once_per_period_while_two_workers_race_for_it(slack, slack_api, twilio_api, settings,
                                                                       redis_conn, run_jobs):
    added = slack.command(f"remind add every weekday at 9:00 | {ANNA}, {BOB} | Stand-up in 15 minutes!")
    assert "Reminder #1 added: every weekday at 09:00 (Europe/Warsaw), to 2 numbers" in added["text"]
    first = reminder(settings, 1).next_run_at
    assert first.astimezone(WARSAW).hour == 9

    occurrence = first
    for period in range(1, 4):
        assert racing_passes(settings, redis_conn, occurrence - timedelta(seconds=1)) == []  # not yet
        made = racing_passes(settings, redis_conn, occurrence + timedelta(seconds=2))
        assert len(made) == 1, f"period {period}: {len(made)} runs"
        run_jobs()
        assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (period, period)
        occurrence = reminder(settings, 1).next_run_at
        assert occurrence.astimezone(WARSAW).weekday() < 5

    with session_scope(settings.database_url) as session:
        runs = session.scalars(select(ReminderRun).order_by(ReminderRun.id)).all()
        assert [run.status for run in runs] == ["sent"] * 3 and len({run.occurrence_at for run in runs}) == 3
        assert session.scalar(select(func.count()).select_from(Batch)) == 3
        assert {b.status for b in session.scalars(select(Batch))} == {"completed"}
    threads = [m for m in slack_api.messages("C1") if "thread_ts" not in m]
    assert len(threads) == 3  # every run is a batch with its own channel message and thread
    assert all(ANNA not in text_of(m) for m in slack_api.messages("C1"))
    listed = slack.command("remind list")
    assert "*#1* reminder · every weekday at 09:00 (Europe/Warsaw) · 2 numbers" in text_of(listed)
    assert "last: sent (batch #3)" in text_of(listed)


def test_paused_reminders_skip_and_resume_from_the_next_time(slack, twilio_api, settings, redis_conn, run_jobs):
    slack.command(f"remind add every day at 18:30 | {ANNA} | Time to log your hours")
    due = reminder(settings, 1).next_run_at
    assert "is paused" in slack.command("remind pause 1")["text"]
    assert due_work(settings, redis_conn, now=due + timedelta(minutes=1))["runs"] == []
    resumed = slack.command("remind resume 1")
    assert "runs again: next <!date^" in resumed["text"]
    assert "⏸ paused" not in text_of(slack.command("remind list"))
    late = due_work(settings, redis_conn, now=reminder(settings, 1).next_run_at + timedelta(hours=2))
    run_jobs()
    assert len(late["runs"]) == 1 and twilio_api.messages == []  # found two hours late: skipped, not sent late
    assert "last: missed" in text_of(slack.command("remind list"))
    assert "is deleted" in slack.command("remind delete 1")["text"]
    assert "No reminder #1." in slack.command("remind pause 1")["text"]


def test_reminders_refuse_what_a_batch_would_refuse(make_slack, configure):
    slack = make_slack(MULTI_SMS_APPROVAL_THRESHOLD="1")
    bad = slack.command("remind add every day at 9:00 | 12345 | Hi")
    assert "I can't add this: None of the numbers can be sent to." in bad["text"]
    assert "is not a day I know" in slack.command("remind add every someday at 9:00 | +48600100001 | Hi")["text"]
    settings = configure(SLACK_BOT_TOKEN=None, MULTI_SMS_APPROVAL_THRESHOLD="1")  # the terminal chat, no Slack
    printed: list[str] = []
    Shell(settings, write=printed.append).handle(f"remind add every day at 9:00 | {ANNA}, {BOB} | Hi")
    assert "more than MULTI_SMS_APPROVAL_THRESHOLD (1)" in printed[-1] and "Slack is not configured" in printed[-1]
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == 0
