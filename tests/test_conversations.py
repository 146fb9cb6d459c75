"""Inbound messages in Slack threads, and automatic replies with their guardrails."""

from __future__ import annotations

import json
import time

from multisms import autoreply, conversations
from multisms.db import session_scope
from multisms.models import Batch, Conversation
from tests.send_helpers import create_batch, numbers, post_signed
from tests.slack_helpers import event_body, eventually, post_event, text_of

NUMBER = numbers(1)[0]


def inbound(client, twilio_api, body: str, *, sid: str | None = None):
    form = twilio_api.inbound_form(NUMBER, "+15005550006", body, sid=sid)
    return post_signed(client, twilio_api, "/twilio/inbound", form)


def slack_on(configure, slack_api, **extra):
    return configure(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s3cret", SLACK_API_URL=slack_api.api_url,
                     **extra)


def batch_with_thread(settings, run_jobs, slack_api) -> tuple[int, str]:
    """A batch sent from Slack: its progress job posts the channel message (the thread's root)."""
    batch_id = create_batch(settings, [NUMBER], slack_channel="CTEAM")
    run_jobs()
    with session_scope(settings.database_url) as session:
        thread = session.get(Batch, batch_id).slack_ts
    assert thread
    slack_api.reset()
    return batch_id, thread


def posts(slack_api, channel: str) -> list[dict]:
    return [c for c in slack_api.calls("chat.postMessage") if c["channel"] == channel]


def test_a_reply_lands_in_the_numbers_inbox_thread_and_is_noted_in_the_batch_thread(
        configure, slack_api, twilio_api, make_client, run_jobs):
    settings = slack_on(configure, slack_api, SLACK_INBOX_CHANNEL="CINBOX")
    batch_id, batch_thread = batch_with_thread(settings, run_jobs, slack_api)
    client = make_client()
    inbound(client, twilio_api, "Is parking free?")
    inbound(client, twilio_api, "And is there a cloakroom?")
    run_jobs()

    root, first, second = posts(slack_api, "CINBOX")
    assert "Conversation with +48••••••000" in root["text"] and f"batch #{batch_id}" in str(root["blocks"])
    assert first["thread_ts"] == second["thread_ts"] != None  # noqa: E711 - one thread for the number
    assert "Is parking free?" in str(first["blocks"]) and "cloakroom" in str(second["blocks"])
    notes = posts(slack_api, "CTEAM")
    assert [n["thread_ts"] for n in notes] == [batch_thread] * 2
    assert NUMBER not in str(slack_api.calls())  # masked everywhere in channels
    with session_scope(settings.database_url) as session:
        conversation = session.query(Conversation).filter_by(number=NUMBER).one()
        assert (conversation.slack_channel, conversation.last_batch_id) == ("CINBOX", batch_id)


def test_without_an_inbox_the_conversation_starts_in_the_batch_channel(
        configure, slack_api, twilio_api, make_client, run_jobs):
    settings = slack_on(configure, slack_api)
    _, batch_thread = batch_with_thread(settings, run_jobs, slack_api)
    inbound(make_client(), twilio_api, "Thanks!")
    run_jobs()
    root, message, note = posts(slack_api, "CTEAM")
    [root_ts] = [m["ts"] for m in slack_api.messages("CTEAM") if m["text"].startswith("Conversation with")]
    assert "Conversation with" in root["text"]
    assert message["thread_ts"] == root_ts and note["thread_ts"] == batch_thread


def test_a_text_long_after_the_batch_still_reaches_people_without_an_inbox(
        configure, slack_api, twilio_api, make_client, run_jobs):
    settings = slack_on(configure, slack_api, CONVERSATION_WINDOW_HOURS="0")  # the batch is "old" at once
    batch_with_thread(settings, run_jobs, slack_api)
    inbound(make_client(), twilio_api, "Sorry for the late answer: yes!")
    run_jobs()
    root, message = posts(slack_api, "CTEAM")  # the channel of the last batch it got, no batch-thread note
    assert "Conversation with" in root["text"] and "late answer" in message["text"]


def test_an_incoming_text_cannot_mention_the_channel_or_make_links_in_slack(
        configure, slack_api, twilio_api, make_client, run_jobs):
    slack_on(configure, slack_api, SLACK_INBOX_CHANNEL="CINBOX")
    inbound(make_client(), twilio_api, "<!channel> win a prize at <https://evil.example|your bank>")
    run_jobs()
    _, message = posts(slack_api, "CINBOX")
    for shown in (message["text"], json.dumps(message["blocks"])):
        assert "<!channel>" not in shown and "<https://" not in shown
        assert "&lt;!channel&gt;" in shown


def test_a_repeated_webhook_posts_once(configure, slack_api, twilio_api, make_client, run_jobs):
    slack_on(configure, slack_api, SLACK_INBOX_CHANNEL="CINBOX")
    client = make_client()
    for _ in range(2):
        inbound(client, twilio_api, "Hello?", sid="SM" + "2" * 32)
    run_jobs()
    assert len(posts(slack_api, "CINBOX")) == 2  # the thread's root and the message, once


def test_a_text_slack_refused_to_post_reaches_the_thread_later_once(configure, slack_api, twilio_api, make_client,
                                                                    run_jobs):
    settings = slack_on(configure, slack_api, SLACK_INBOX_CHANNEL="CINBOX", AUTO_REPLY_MODE="template",
                        AUTO_REPLY_TEMPLATE="Thanks, we will get back to you.")
    batch_id, batch_thread = batch_with_thread(settings, run_jobs, slack_api)
    slack_api.server_error_next("chat.postMessage", 1, status=503)  # Slack is down when the text arrives
    inbound(make_client(), twilio_api, "Is parking free?")
    run_jobs()

    thread = [m["text"] for m in slack_api.messages("CINBOX")]
    assert len(thread) == 2 and "Conversation with" in thread[0] and "Is parking free?" in thread[1]
    assert [n["thread_ts"] for n in slack_api.messages("CTEAM") if "replied" in n["text"]] == [batch_thread]
    assert twilio_api.sent_to(NUMBER) == 2  # the batch, then the automatic reply, not held up by Slack


def test_template_auto_reply_once_per_window_never_to_keywords_or_opted_out(configure, twilio_api, make_client,
                                                                           run_jobs, redis_conn):
    configure(AUTO_REPLY_MODE="template", AUTO_REPLY_TEMPLATE="We got it, thanks!")
    client = make_client()
    inbound(client, twilio_api, "HELP")
    run_jobs()
    assert twilio_api.sent_to(NUMBER) == 0  # HELP is answered by the webhook's TwiML, not an auto-reply
    inbound(client, twilio_api, "What time?")
    inbound(client, twilio_api, "Hello??")
    run_jobs()
    assert [m["body"] for m in twilio_api.messages] == ["We got it, thanks!"]
    inbound(client, twilio_api, "STOP")
    redis_conn.delete(f"multisms:auto-replied:{NUMBER}")
    inbound(client, twilio_api, "one more question")  # opted out: no reply of any kind
    run_jobs()
    assert twilio_api.sent_to(NUMBER) == 1


def test_no_auto_reply_to_an_auto_responder_and_the_mode_switches_at_run_time(
        configure, twilio_api, make_client, run_jobs, redis_conn):
    settings = configure(AUTO_REPLY_MODE="template")
    client = make_client()
    for i in range(conversations.LOOP_LIMIT + 2):
        redis_conn.delete(f"multisms:auto-replied:{NUMBER}")  # as if each came after the reply window
        inbound(client, twilio_api, f"Automatic message {i}")
        run_jobs()
    assert twilio_api.sent_to(NUMBER) == conversations.LOOP_LIMIT  # then it looks like another bot: we stop
    before = twilio_api.sent_to(NUMBER)
    redis_conn.delete(f"multisms:auto-replied:{NUMBER}")
    autoreply.set_mode(redis_conn, "off")
    inbound(client, twilio_api, "Anyone there?")
    run_jobs()
    assert twilio_api.sent_to(NUMBER) == before  # switched off at run time
    assert autoreply.current_mode(redis_conn, settings) == "off"


def conversation_thread(slack_api) -> str:
    [ts] = [m["ts"] for m in slack_api.messages("CINBOX") if m["text"].startswith("Conversation with")]
    return ts


def test_a_persons_thread_reply_is_texted_back_and_the_bots_own_messages_are_not(
        slack_settings, slack_api, twilio_api, redis_conn, run_jobs, settings):
    from webhooks.app import create_app

    settings = slack_settings(SLACK_INBOX_CHANNEL="CINBOX")
    client = create_app(settings).test_client()
    inbound(client, twilio_api, "Do you open on Sunday?")
    run_jobs()
    thread = conversation_thread(slack_api)

    typed = "We open at 9 &amp; close at 5, see <https://example.com/hours|our hours>"
    slack_api.add_message("CINBOX", typed, user="UPERSON", thread_ts=thread, ts="1700000100.000001")
    reply = event_body(typed, channel="CINBOX", thread_ts=thread, ts="1700000100.000001")
    assert post_event(client, reply).status_code == 200
    assert post_event(client, reply, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                      ).status_code == 200
    own = event_body("✓ Sent to +48••••••000", channel="CINBOX", thread_ts=thread, ts="1700000100.000002",
                     user="UBOT", bot_id="BBOT")
    assert post_event(client, own).status_code == 200
    other_thread = event_body("chatting elsewhere", channel="CINBOX", thread_ts="1600000000.000001",
                              ts="1700000100.000003")
    assert post_event(client, other_thread).status_code == 200
    eventually(lambda: redis_conn.llen("rq:queue:default") >= 1, what="the reply to be queued")
    time.sleep(0.2)  # let the other listeners finish (they must queue nothing)
    run_jobs()

    assert [m["body"] for m in twilio_api.messages] == [
        "We open at 9 & close at 5, see https://example.com/hours"]
    assert slack_api.reactions("CINBOX", "1700000100.000001") == ["outbox_tray"]  # 📤 on the reply: sent
    with session_scope(settings.database_url) as session:
        assert session.query(Conversation).filter_by(number=NUMBER).one().ai_paused  # a human took over


def test_a_reply_to_an_opted_out_number_is_not_sent_and_the_thread_says_why(
        slack_settings, slack_api, twilio_api, redis_conn, run_jobs):
    from webhooks.app import create_app

    client = create_app(slack_settings(SLACK_INBOX_CHANNEL="CINBOX")).test_client()
    inbound(client, twilio_api, "STOP")
    run_jobs()
    thread = conversation_thread(slack_api)
    post_event(client, event_body("Sorry to see you go!", channel="CINBOX", thread_ts=thread, ts="1700000200.1"))
    eventually(lambda: redis_conn.llen("rq:queue:default") >= 1, what="the reply to be queued")
    run_jobs()
    assert twilio_api.messages == []
    notes = [c["text"] for c in slack_api.calls("chat.postMessage") if c.get("thread_ts") == thread]
    assert any("opted out" in note for note in notes)


def test_autoreply_mode_is_switched_from_slack(slack, redis_conn, settings):
    answer = slack.command("autoreply template")
    assert "Auto-reply is now *template*" in text_of(answer)
    assert autoreply.current_mode(redis_conn, settings) == "template"
    refused = slack.command("autoreply ai")
    assert "OPENAI_API_KEY" in text_of(refused)
    assert autoreply.current_mode(redis_conn, settings) == "template"


def test_ai_replies_are_refused_until_there_is_an_inbox_for_hand_overs(make_slack, slack_api, redis_conn, settings):
    slack = make_slack(OPENAI_API_KEY="sk-test")

    refused = slack.command("autoreply ai")

    assert "SLACK_INBOX_CHANNEL" in refused["text"] and "Nothing changed" in refused["text"]
    assert autoreply.current_mode(redis_conn, settings) == "off"
    slack_api.reset()  # a new workspace below numbers its answers from 1 again
    switched = make_slack(OPENAI_API_KEY="sk-test", SLACK_INBOX_CHANNEL="CINBOX").command("autoreply ai")
    assert "Auto-reply is now *ai*" in switched["text"]
