"""Digests: the AI writes a short SMS from a source text, posted in Slack; sent once after Approve,
never without it, dropped when nobody approves in time. OpenAI, Slack and Twilio are stand-ins
reached through the real SDKs; the clock is the `now` argument of the due-work pass."""

from __future__ import annotations

from datetime import timedelta

from jobs.scheduling import due_work
from multisms.config import get_settings
from multisms.db import session_scope
from multisms.models import Reminder, ReminderRun
from tests.slack_helpers import button_values, eventually, text_of

ANNA, BOB = "+48600100001", "+48600100002"
SOURCE = "This week: the office is closed on Friday for maintenance. Parking moves to level -2 from Monday."
DIGEST = "Office closed Friday for maintenance; from Monday please park on level -2."


def start_digest(make_slack, openai_api, redis_conn, run_jobs):
    """Add a digest in Slack, let its time come, let the AI write it; returns (slack, settings, run_id, time)."""
    openai_api.reply = DIGEST
    slack = make_slack(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=openai_api.base_url)
    settings = get_settings()
    added = slack.command(f"digest add every friday at 16:00 | {ANNA}, {BOB} | {SOURCE}")
    assert "Digest #1 added: every friday at 16:00 (Europe/Warsaw), to 2 numbers" in added["text"]
    with session_scope(settings.database_url) as session:
        due = session.get(Reminder, 1).next_run_at
    runs = due_work(settings, redis_conn, now=due)["runs"]
    run_jobs()  # the AI writes it (ai queue) and it is posted for approval
    assert len(runs) == 1
    return slack, settings, runs[0], due


def test_a_digest_waits_for_approval_and_is_sent_once(make_slack, slack_api, openai_api, twilio_api, redis_conn,
                                                       run_jobs):
    slack, settings, run_id, due = start_digest(make_slack, openai_api, redis_conn, run_jobs)
    asked = openai_api.chat_requests[0]["messages"]
    assert SOURCE in asked[-1]["content"] and "Use only facts stated in the source text" in asked[0]["content"]
    request = slack_api.messages("C1")[0]
    assert DIGEST in text_of(request) and "goes to 2 numbers once someone approves it" in text_of(request)
    assert ANNA not in text_of(request)
    assert button_values(request) == {"approve_digest": str(run_id), "drop_digest": str(run_id)}

    due_work(settings, redis_conn, now=due + timedelta(minutes=30))
    run_jobs()
    assert twilio_api.messages == []  # never without approval

    first = slack.click("approve_digest", run_id, user="U2", ephemeral=False, wait=False)
    second = slack.click("approve_digest", run_id, user="U3", ephemeral=False, wait=False)
    answers = sorted([slack.answer(first)["text"], slack.answer(second)["text"]])
    run_jobs()
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)
    assert {m["body"] for m in twilio_api.messages} == {DIGEST}
    assert "approved and goes out as batch #1" in answers[1] and "was already approved" in answers[0]
    decided = eventually(lambda: [m for m in slack_api.messages("C1") if "Approved by" in text_of(m)])[0]
    assert "actions" not in [block["type"] for block in decided["blocks"]]  # no buttons left to click


def test_a_digest_nobody_approves_is_dropped_at_its_deadline(make_slack, slack_api, openai_api, twilio_api,
                                                              redis_conn, run_jobs):
    slack, settings, run_id, due = start_digest(make_slack, openai_api, redis_conn, run_jobs)
    deadline = due + timedelta(minutes=settings.digest_approval_minutes)
    assert due_work(settings, redis_conn, now=deadline - timedelta(seconds=1))["expired"] == []
    assert due_work(settings, redis_conn, now=deadline)["expired"] == [run_id]
    run_jobs()
    late = slack.click("approve_digest", run_id, user="U2", ephemeral=False)
    run_jobs()
    assert "expired unapproved" in late["text"] and twilio_api.messages == []
    assert "Nobody approved it in time" in text_of(slack_api.messages("C1")[0])
    with session_scope(settings.database_url) as session:
        assert session.get(ReminderRun, run_id).status == "expired"


def test_drop_means_nothing_is_sent(make_slack, openai_api, twilio_api, redis_conn, run_jobs):
    slack, settings, run_id, _ = start_digest(make_slack, openai_api, redis_conn, run_jobs)
    assert "is dropped: nothing was sent" in slack.click("drop_digest", run_id, ephemeral=False)["text"]
    assert "was dropped" in slack.click("approve_digest", run_id, user="U2", ephemeral=False)["text"]
    run_jobs()
    assert twilio_api.messages == []


def test_without_an_openai_key_digests_are_unavailable(slack, settings):
    reply = slack.command(f"digest add every friday at 16:00 | {ANNA} | {SOURCE}")
    assert "Digests need an OpenAI key" in reply["text"] and "Nothing was saved" in reply["text"]
    with session_scope(settings.database_url) as session:
        assert session.query(Reminder).count() == 0
