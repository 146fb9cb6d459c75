"""A second person for big sends, from Slack and the terminal chat: who may approve, where it is asked,
what expires, and reminders or digests that are approved once and checked at every occurrence.

Sends and Slack posts run in-process (RQ's SimpleWorker); the clock of the due-work pass is its `now`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.shell import Shell
from jobs.scheduling import due_work
from multisms.db import session_scope
from multisms.models import Batch, Reminder, ReminderRun, utcnow
from tests.contact_helpers import import_file
from tests.slack_helpers import button_values, text_of

ANNA, BOB, CAROL = "+48600100001", "+48600100002", "+48600100003"
BIG = f"send {ANNA} {BOB} {CAROL} | The office is closed on Friday"


def batch_of(settings, batch_id: int) -> Batch:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id)


def sent(twilio_api) -> dict[str, int]:
    return {number: twilio_api.sent_to(number) for number in (ANNA, BOB, CAROL)}


def posted_in(slack_api, channel: str) -> list[dict]:
    """Top-level messages in a channel, as they look now (updates applied)."""
    return [m for m in slack_api.messages(channel) if "thread_ts" not in m]


@pytest.fixture
def team(make_slack):
    """U1 and U2 may send from C1; approvals are asked for in CAPPROVE; more than 2 numbers need a second person."""
    return make_slack(MULTI_SMS_APPROVAL_THRESHOLD=2, SLACK_APPROVALS_CHANNEL="CAPPROVE",
                      MULTISMS_ALLOWED_USERS="U1,U2", MULTISMS_ALLOWED_CHANNELS="C1")


def test_a_reviewer_may_cancel_from_the_approvals_channel_but_not_from_elsewhere(team, slack_api, twilio_api, settings,
                                                                                  run_jobs):
    batch_id = int(button_values(team.command(BIG, user="U1"))["confirm_batch"])
    team.click("confirm_batch", batch_id, user="U1")
    run_jobs()

    refused = [team.click("cancel_batch", batch_id, user="U9", channel="CAPPROVE", ephemeral=False),
               team.click("cancel_batch", batch_id, user="U2", channel="CRANDOM", ephemeral=False)]
    assert "not on the list of people who may" in refused[0]["text"]
    assert "can't be used from this channel" in refused[1]["text"] and "<#CAPPROVE>" in refused[1]["text"]
    assert batch_of(settings, batch_id).status == "awaiting_approval"

    cancelled = team.click("cancel_batch", batch_id, user="U2", channel="CAPPROVE", ephemeral=False)
    run_jobs()

    assert "is cancelled" in cancelled["text"]
    assert batch_of(settings, batch_id).status == "cancelled"
    assert sent(twilio_api) == {ANNA: 0, BOB: 0, CAROL: 0}
    [request] = posted_in(slack_api, "CAPPROVE")
    assert button_values(request) == {}  # nothing left to approve


def test_a_big_slack_batch_sends_nothing_until_a_second_allowed_person_approves_then_each_number_once(
        team, slack_api, twilio_api, settings, run_jobs):
    batch_id = int(button_values(team.command(BIG, user="U1"))["confirm_batch"])

    asked = team.click("confirm_batch", batch_id, user="U1")
    run_jobs()
    [request] = posted_in(slack_api, "CAPPROVE")
    assert "second person's approval" in asked["text"] and "<#CAPPROVE>" in asked["text"]
    assert button_values(request) == {"approve_batch": str(batch_id), "cancel_batch": str(batch_id)}
    assert ANNA not in text_of(request) and "+48••••••001" in text_of(request)

    refusals = [team.click("approve_batch", batch_id, user="U1", channel="CAPPROVE", ephemeral=False),
                team.click("approve_batch", batch_id, user="U9", channel="CAPPROVE", ephemeral=False),
                team.click("approve_batch", batch_id, user="U2", channel="CRANDOM", ephemeral=False)]
    run_jobs()
    assert "someone else has to approve it" in refusals[0]["text"]
    assert "not on the list of people who may" in refusals[1]["text"]
    assert "can't be sent from this channel" in refusals[2]["text"]
    assert sent(twilio_api) == {ANNA: 0, BOB: 0, CAROL: 0}
    assert batch_of(settings, batch_id).status == "awaiting_approval"

    approved = team.click("approve_batch", batch_id, user="U2", channel="CAPPROVE", ephemeral=False)
    again = team.command(f"approve {batch_id}", user="U2", channel="CAPPROVE")
    run_jobs()

    assert "approved and on its way" in approved["text"] and "already" in again["text"]
    assert sent(twilio_api) == {ANNA: 1, BOB: 1, CAROL: 1}
    assert (batch_of(settings, batch_id).status, batch_of(settings, batch_id).approved_by) == ("completed",
                                                                                            "slack:U2")
    [decided] = posted_in(slack_api, "CAPPROVE")
    assert "Approved by <@U2>" in text_of(decided) and button_values(decided) == {}  # no second click possible
    [progress] = posted_in(slack_api, "C1")
    assert "approved by <@U2>" in text_of(progress) and "done" in progress["text"]


def test_the_terminal_chat_can_make_a_big_batch_but_never_approve_one(team, slack_api, twilio_api, settings,
                                                                      run_jobs):
    printed: list[str] = []
    terminal = Shell(settings, write=printed.append)
    terminal.handle(BIG)

    terminal.handle("confirm")
    run_jobs()
    [request] = posted_in(slack_api, "CAPPROVE")
    terminal.handle("approve 1")
    run_jobs()

    assert "I've asked in #CAPPROVE" in printed[1]
    assert "the terminal chat wants to send batch #1" in text_of(request)
    assert "the terminal chat can create a big batch but never approve one" in printed[2]
    assert sent(twilio_api) == {ANNA: 0, BOB: 0, CAROL: 0}

    team.click("approve_batch", 1, user="U1", channel="CAPPROVE", ephemeral=False)  # any allowed Slack user
    run_jobs()
    assert sent(twilio_api) == {ANNA: 1, BOB: 1, CAROL: 1}


def test_without_slack_the_terminal_chats_big_batch_is_refused_at_confirm(configure, twilio_api):
    settings = configure(MULTI_SMS_APPROVAL_THRESHOLD=2)
    printed: list[str] = []
    terminal = Shell(settings, write=printed.append)
    terminal.handle(BIG)

    terminal.handle("confirm")

    assert "can't be confirmed, so it stays a draft" in printed[-1]
    assert "MULTI_SMS_APPROVAL_THRESHOLD (2)" in printed[-1] and "Slack is not configured" in printed[-1]
    assert batch_of(settings, 1).status == "draft" and sent(twilio_api) == {ANNA: 0, BOB: 0, CAROL: 0}


def test_a_big_batch_nobody_approves_expires_and_its_slack_messages_say_so(team, slack_api, twilio_api, settings,
                                                                          redis_conn, run_jobs):
    batch_id = int(button_values(team.command(BIG, user="U1"))["confirm_batch"])
    team.click("confirm_batch", batch_id, user="U1")
    run_jobs()

    assert due_work(settings, redis_conn, now=utcnow() + timedelta(hours=23))["unapproved"] == []
    assert due_work(settings, redis_conn, now=utcnow() + timedelta(hours=25))["unapproved"] == [batch_id]
    run_jobs()
    late = team.click("approve_batch", batch_id, user="U2", channel="CAPPROVE", ephemeral=False)
    run_jobs()

    assert batch_of(settings, batch_id).status == "cancelled" and sent(twilio_api) == {ANNA: 0, BOB: 0, CAROL: 0}
    [request] = posted_in(slack_api, "CAPPROVE")
    assert "Nobody approved it within 24 hours" in text_of(request) and button_values(request) == {}
    [own_channel] = posted_in(slack_api, "C1")
    assert "cancelled" in own_channel["text"] and "Nobody approved it within 24 hours" in text_of(own_channel)
    assert "already cancelled" in late["text"]


def reminder(settings, reminder_id: int = 1) -> Reminder:
    with session_scope(settings.database_url) as session:
        return session.get(Reminder, reminder_id)


def runs(settings) -> list[tuple[str, str | None]]:
    with session_scope(settings.database_url) as session:
        return [(r.status, r.error) for r in session.scalars(select(ReminderRun).order_by(ReminderRun.id))]


def next_occurrence(settings, redis_conn, run_jobs) -> None:
    due_work(settings, redis_conn, now=reminder(settings).next_run_at + timedelta(seconds=2))
    run_jobs()


def test_a_big_reminder_is_approved_once_and_asked_again_only_when_it_grows(team, slack_api, twilio_api, settings,
                                                                            redis_conn, run_jobs):
    import_file(settings, "drivers", f"number\n{ANNA}\n{BOB}\n{CAROL}\n")
    added = team.command("remind add every day at 9:00 | list:drivers | Shift starts at 10", user="U1")
    run_jobs()
    assert "a second person has to approve it once: I've asked in <#CAPPROVE>" in added["text"]
    [request] = posted_in(slack_api, "CAPPROVE")
    assert "goes to *3* numbers" in text_of(request) and button_values(request) == {"approve_reminder": "1"}

    next_occurrence(settings, redis_conn, run_jobs)  # nobody approved yet: nothing goes out, nobody is asked twice
    assert sent(twilio_api) == {ANNA: 0, BOB: 0, CAROL: 0} and runs(settings)[-1][0] == "unapproved"
    assert len(posted_in(slack_api, "CAPPROVE")) == 1

    own = team.click("approve_reminder", 1, user="U1", channel="CAPPROVE", ephemeral=False)
    approved = team.click("approve_reminder", 1, user="U2", channel="CAPPROVE", ephemeral=False)
    assert "someone else has to approve it" in own["text"] and "approved for up to 3 numbers" in approved["text"]
    for day in (1, 2):
        next_occurrence(settings, redis_conn, run_jobs)
        assert sent(twilio_api) == {ANNA: day, BOB: day, CAROL: day}

    import_file(settings, "drivers", f"number\n{ANNA}\n{BOB}\n{CAROL}\n+48600100004\n")  # the list grew
    next_occurrence(settings, redis_conn, run_jobs)
    assert sent(twilio_api) == {ANNA: 2, BOB: 2, CAROL: 2} and runs(settings)[-1][0] == "unapproved"
    asked_again = posted_in(slack_api, "CAPPROVE")[-1]
    assert "goes to *4* numbers" in text_of(asked_again) and "approved for 3" in text_of(asked_again)


def test_a_reminder_whose_author_lost_permission_sends_nothing_and_says_why_once(make_slack, configure, slack_api,
                                                                                twilio_api, redis_conn, run_jobs):
    slack = make_slack(MULTISMS_ALLOWED_USERS="U1,U2")
    slack.command(f"remind add every day at 9:00 | {ANNA} | Shift starts at 10", user="U1")
    settings = configure(MULTISMS_ALLOWED_USERS="U2")  # U1 is taken off the list

    for _ in range(2):
        next_occurrence(settings, redis_conn, run_jobs)

    assert twilio_api.sent_to(ANNA) == 0
    assert [status for status, _ in runs(settings)] == ["refused", "refused"]
    [said] = [m for m in posted_in(slack_api, "C1") if "did not go out" in m["text"]]
    assert "<@U1>, who added it, may no longer send texts" in text_of(said)
    assert "MULTISMS_ALLOWED_USERS" in text_of(said)
