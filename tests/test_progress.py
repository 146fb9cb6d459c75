"""The progress job: one channel message per batch, updated in place; thread posts exactly once."""

from __future__ import annotations

import threading

import pytest

from jobs.progress import batch_changed
from multisms import intake
from multisms.db import session_scope
from multisms.queues import enqueue_send
from multisms.storage import get_batch, move_batch
from tests.slack_helpers import button_values, text_of

ANNA, BOB = "+48600100001", "+48600100002"


@pytest.fixture
def settings(slack_settings):
    return slack_settings()


def slack_batch(settings, numbers: str = f"{ANNA} {BOB}", *, channel: str | None = "C1") -> int:
    """A confirmed batch typed in Slack channel `channel` (None: from the API)."""
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body="Hello", numbers=numbers)
        batch = intake.submit(session, validation, created_by="slack:U1", confirmed=True)
        batch.slack_channel = channel
        session.flush()
        return batch.id


def thread(slack_api, batch_id: int, settings) -> list[dict]:
    with session_scope(settings.database_url) as session:
        ts = get_batch(session, batch_id).slack_ts
    return [c for c in slack_api.calls("chat.postMessage") if c.get("thread_ts") == ts]


def test_the_first_run_posts_the_channel_message_and_later_runs_update_it(settings, slack_api):
    batch_id = slack_batch(settings)

    first = batch_changed(batch_id)
    second = batch_changed(batch_id)

    assert first["posted"] is True and second["posted"] is False and first["ts"] == second["ts"]
    assert slack_api.count("chat.postMessage") == 1 and slack_api.count("chat.update") == 1
    assert f"Batch #{batch_id}: queued" in slack_api.messages("C1")[0]["text"]
    assert ANNA not in text_of(slack_api.calls())


def test_slack_rate_limits_are_waited_out_not_lost(settings, slack_api):
    batch_id = slack_batch(settings)
    slack_api.rate_limit_next("chat.postMessage", 1, retry_after=0)
    batch_changed(batch_id)
    slack_api.rate_limit_next("chat.update", 1, retry_after=0)

    batch_changed(batch_id)

    assert slack_api.count("chat.postMessage") == 2 and slack_api.count("chat.update") == 2  # 429, then the retry
    assert len(slack_api.messages("C1")) == 1 and "edited" in slack_api.messages("C1")[0]


def test_workers_racing_for_a_new_batch_post_one_channel_message(settings, slack_api):
    batch_id = slack_batch(settings)
    slack_api.latency = 0.2  # every Slack call is slow, so the runs overlap
    results: list[dict] = []
    runs = [threading.Thread(target=lambda: results.append(batch_changed(batch_id))) for _ in range(4)]

    for run in runs:
        run.start()
    for run in runs:
        run.join(10)

    assert len(results) == 4 and len({r["ts"] for r in results}) == 1
    assert slack_api.count("chat.postMessage") == 1 and slack_api.count("chat.update") == 3


def test_the_final_report_is_posted_once_even_when_the_job_runs_again(settings, slack_api, run_jobs,
                                                                      twilio_api, redis_conn):
    twilio_api.fail_number(BOB, code=30003, message="Unreachable destination handset")
    batch_id = slack_batch(settings)
    enqueue_send(redis_conn, batch_id)
    run_jobs()
    posted = thread(slack_api, batch_id, settings)

    again = batch_changed(batch_id, True)

    assert again["thread"] == [] and thread(slack_api, batch_id, settings) == posted
    failures, summary = posted
    assert "+48••••••002" in text_of(failures) and "30003" in text_of(failures) and BOB not in text_of(failures)
    assert button_values(summary) == {"retry_batch": str(batch_id), "view_recipients": str(batch_id)}


def test_a_retry_gets_its_own_summary_in_the_same_thread(make_slack, slack_api, run_jobs, twilio_api, settings):
    slack = make_slack()
    twilio_api.fail_number(BOB, code=30003, message="Unreachable destination handset")
    batch_id = button_values(slack.command(f"send {ANNA} {BOB} | Hello"))["confirm_batch"]
    slack.click("confirm_batch", batch_id)
    run_jobs()

    answer = slack.click("retry_batch", batch_id, ephemeral=False)
    run_jobs()

    assert "again to 1 recipient" in answer["text"]
    assert twilio_api.sent_to(ANNA) == 1
    summaries = [p for p in thread(slack_api, int(batch_id), settings) if "retry_batch" in text_of(p)]
    assert len(summaries) == 2
    assert len([c for c in slack_api.calls("chat.postMessage") if "thread_ts" not in c]) == 1


def test_a_paused_batch_gets_a_note_with_its_cause_and_a_resume_button(settings, slack_api):
    batch_id = slack_batch(settings)
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        move_batch(session, batch, "processing")
        move_batch(session, batch, "paused", error="Twilio filtered 5 messages as spam (30007)")

    batch_changed(batch_id, True)
    batch_changed(batch_id, True)

    [note] = thread(slack_api, batch_id, settings)
    assert "is paused:* Twilio filtered 5 messages as spam (30007)" in text_of(note)
    assert button_values(note) == {"resume_batch": str(batch_id), "cancel_batch": str(batch_id)}
    assert "⏸ Paused" in text_of(slack_api.messages("C1")[0])


def test_batches_not_typed_in_slack_are_left_alone(settings, slack_api):
    batch_id = slack_batch(settings, channel=None)

    assert batch_changed(batch_id, True) == {"batch_id": batch_id, "skipped": "not a Slack batch"}
    assert slack_api.calls() == []
