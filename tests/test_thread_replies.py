"""Replies in a conversation thread, as the team lives them: who may text the customer, notes that stay
in Slack, each texted reply's status on the reply itself, and edits that are not sent again.

A text from a customer opens the thread (inbox channel CINBOX); people then type in it. Their messages
reach the app as signed Events API requests and are put in the Slack stand-in, as Slack would hold them.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from jobs.delivery import poll_pass
from multisms.gateway import make_gateway
from standins.signing import signed_headers
from tests.send_helpers import numbers, post_signed
from tests.slack_helpers import event_body, eventually, post_event, text_of

CUSTOMER = numbers(1, start=456)[0]
SHOWN = "+48••••••456"


@pytest.fixture
def inbox(slack_settings, slack_api, twilio_api, run_jobs):
    """A customer's text opened a conversation thread in CINBOX; `inbox.reply(...)` types in it."""
    from webhooks.app import create_app

    def open_with(**env) -> Inbox:
        settings = slack_settings(SLACK_INBOX_CHANNEL="CINBOX", **env)
        client = create_app(settings).test_client()
        post_signed(client, twilio_api, "/twilio/inbound", twilio_api.inbound_form(CUSTOMER, "+15005550006",
                                                                                   "Is my parcel coming today?"))
        run_jobs()
        [root] = [m for m in slack_api.messages("CINBOX") if m["text"].startswith("Conversation with")]
        return Inbox(client, slack_api, root, settings)

    return open_with


class Inbox:
    def __init__(self, client, slack_api, root: dict, settings):
        self.client, self.slack_api, self.root, self.settings = client, slack_api, root, settings
        self.thread = root["ts"]

    def reply(self, text: str, *, user: str = "UAGENT", channel: str = "CINBOX") -> str:
        """A person types `text` in the thread; returns its ts."""
        ts = self.slack_api.add_message(channel, text, user=user, thread_ts=self.thread)
        assert post_event(self.client, event_body(text, channel=channel, thread_ts=self.thread, ts=ts,
                                                  user=user)).status_code == 200
        return ts

    def change(self, subtype: str, ts: str, before: str, after: str | None = None, *, user: str = "UAGENT") -> None:
        """Slack's `message_changed` / `message_deleted` event for the person's reply `ts`."""
        previous = {"type": "message", "user": user, "text": before, "ts": ts, "thread_ts": self.thread}
        event = {"type": "message", "subtype": subtype, "hidden": True, "channel": "CINBOX",
                 "ts": self.slack_api.next_ts(), "previous_message": previous}
        if subtype == "message_changed":
            event["message"] = {**previous, "text": after, "edited": {"user": user, "ts": event["ts"]}}
        else:
            event["deleted_ts"] = ts
        body = json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                           "event_id": "Ev" + event["ts"].replace(".", ""), "event_time": 1700000000,
                           "event": event})
        response = self.client.post("/slack/events", data=body,
                                    headers={**signed_headers(body), "Content-Type": "application/json"})
        assert response.status_code == 200

    def thread_posts(self) -> list[dict]:
        return [c for c in self.slack_api.calls("chat.postMessage") if c.get("thread_ts") == self.thread]


def queued_replies(redis_conn) -> int:
    return redis_conn.llen("rq:queue:default")


def test_the_threads_first_post_and_help_say_how_replies_and_notes_work(inbox, slack):
    opened = inbox()

    assert f"Replies here are texted to {SHOWN}; start with note: to keep one in Slack" in text_of(opened.root)
    assert "note:" in text_of(slack.command("help"))


def test_a_reply_from_someone_not_allowed_texts_nobody_and_only_they_are_told(inbox, slack_api, twilio_api,
                                                                              redis_conn, run_jobs):
    opened = inbox(MULTISMS_ALLOWED_USERS="UAGENT")
    seen = len(opened.thread_posts())  # the customer's text

    opened.reply("I'll call them tomorrow", user="UINTERN")
    refusal = eventually(lambda: slack_api.calls("chat.postEphemeral"), what="the refusal")[0]
    run_jobs()

    assert (refusal["user"], refusal["channel"], refusal["thread_ts"]) == ("UINTERN", "CINBOX", opened.thread)
    assert "not on the list of people who may send texts" in refusal["text"]
    assert f"nothing was texted to {SHOWN}" in refusal["text"]
    assert twilio_api.sent_to(CUSTOMER) == 0 and queued_replies(redis_conn) == 0
    assert len(opened.thread_posts()) == seen  # nobody else sees it


def test_an_allowed_person_in_a_channel_that_is_not_allowed_texts_nobody(inbox, slack_api, twilio_api, run_jobs):
    opened = inbox(MULTISMS_ALLOWED_CHANNELS="CSEND")

    opened.reply("Yes, today before 6 pm")
    refusal = eventually(lambda: slack_api.calls("chat.postEphemeral"), what="the refusal")[0]
    run_jobs()

    assert "can't be sent from this channel" in refusal["text"] and "<#CSEND>" in refusal["text"]
    assert twilio_api.sent_to(CUSTOMER) == 0


def test_a_note_stays_in_slack_and_texts_nobody(inbox, slack_api, twilio_api, redis_conn, run_jobs):
    opened = inbox()

    opened.reply("  NOTE: she called the office too, Anna handles it")
    opened.reply("Note:ask the driver first")
    opened.reply("Yes, before 6 pm today.")
    eventually(lambda: queued_replies(redis_conn) >= 1, what="the real reply to be queued")
    time.sleep(0.2)  # the notes' listeners have long finished: they must queue nothing
    run_jobs()

    assert [m["body"] for m in twilio_api.messages if m["to"] == CUSTOMER] == ["Yes, before 6 pm today."]
    assert slack_api.calls("chat.postEphemeral") == []


def test_an_allowed_reply_is_texted_once_and_shows_sent_then_delivered(inbox, slack_api, twilio_api, client,
                                                                       redis_conn, run_jobs):
    opened = inbox(MULTISMS_ALLOWED_USERS="UAGENT")

    ts = opened.reply("Yes, before 6 pm today.")
    eventually(lambda: queued_replies(redis_conn) >= 1, what="the reply to be queued")
    post_event(opened.client, event_body("Yes, before 6 pm today.", channel="CINBOX", thread_ts=opened.thread,
                                         ts=ts, user="UAGENT"), **{"X-Slack-Retry-Num": "1"})  # Slack retries
    time.sleep(0.2)
    run_jobs()

    [sms] = [m for m in twilio_api.messages if m["to"] == CUSTOMER]
    assert sms["body"] == "Yes, before 6 pm today."
    assert slack_api.reactions("CINBOX", ts) == ["outbox_tray"]  # 📤 sent
    for status in ("sent", "delivered", "delivered"):  # callbacks come more than once
        assert post_signed(opened.client, twilio_api, "/twilio/status",
                           twilio_api.status_callback_form(sms, status)).status_code == 204
        run_jobs()

    assert slack_api.reactions("CINBOX", ts) == ["white_check_mark"]  # ✅ delivered, 📤 gone
    assert twilio_api.sent_to(CUSTOMER) == 1


def test_a_reply_that_is_not_delivered_says_why_in_the_thread_once(inbox, slack_api, twilio_api, redis_conn,
                                                                   run_jobs):
    opened = inbox()
    ts = opened.reply("Your parcel is at the depot.")
    eventually(lambda: queued_replies(redis_conn) >= 1, what="the reply to be queued")
    run_jobs()
    [sms] = [m for m in twilio_api.messages if m["to"] == CUSTOMER]

    for _ in range(2):
        post_signed(opened.client, twilio_api, "/twilio/status",
                    twilio_api.status_callback_form(sms, "undelivered", error_code=30003))
        run_jobs()

    assert slack_api.reactions("CINBOX", ts) == ["x"]
    [why] = [p for p in opened.thread_posts() if "not delivered" in p["text"]]
    assert "unreachable handset" in text_of(why) and SHOWN in text_of(why) and CUSTOMER not in text_of(why)


def test_when_status_callbacks_are_lost_the_poller_brings_the_replys_status(inbox, slack_api, twilio_api, redis_conn,
                                                                            run_jobs):
    opened = inbox()
    twilio_api.receipt_seconds = 1
    ts = opened.reply("Yes, before 6 pm today.")
    eventually(lambda: queued_replies(redis_conn) >= 1, what="the reply to be queued")
    run_jobs()
    assert slack_api.reactions("CINBOX", ts) == ["outbox_tray"]

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11), tick=True):  # no callback came
        report = poll_pass(opened.settings, redis_conn, make_gateway(opened.settings))
        run_jobs()

    assert len(report.replies) == 1
    assert slack_api.reactions("CINBOX", ts) == ["white_check_mark"]


def test_an_edit_or_deletion_after_sending_is_not_sent_again_and_the_thread_says_so(inbox, slack_api, twilio_api,
                                                                                    redis_conn, run_jobs):
    opened = inbox()
    ts = opened.reply("Delivery at 5 pm.")
    eventually(lambda: queued_replies(redis_conn) >= 1, what="the reply to be queued")
    run_jobs()
    note = opened.reply("note: check with the depot")
    time.sleep(0.2)

    opened.change("message_changed", ts, "Delivery at 5 pm.", "Delivery at 6 pm.")
    edited = eventually(lambda: [p for p in opened.thread_posts() if "already texted" in text_of(p)],
                        what="the edit note")
    opened.change("message_changed", note, "note: check with the depot", "note: depot says 6 pm")
    opened.change("message_deleted", ts, "Delivery at 5 pm.")
    deleted = eventually(lambda: [p for p in opened.thread_posts() if "does not unsend" in text_of(p)],
                         what="the deletion note")
    time.sleep(0.2)
    run_jobs()

    assert [m["body"] for m in twilio_api.messages if m["to"] == CUSTOMER] == ["Delivery at 5 pm."]
    assert len(edited) == 1 and "edits are not sent" in text_of(edited[0]) and SHOWN in text_of(edited[0])
    assert len(deleted) == 1
    assert len([p for p in opened.thread_posts() if "already" in text_of(p)]) == 2  # nothing for the note's edit
