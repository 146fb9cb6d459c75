"""The Slack flow through `POST /slack/events`: signed requests, real Bolt/slack_sdk, the Slack stand-in.

Jobs (send + progress) run in-process with RQ's SimpleWorker; what Slack and Twilio received
is read back from their stand-ins.
"""

from __future__ import annotations

import html
import time

from sqlalchemy import func, select

from multisms.db import session_scope
from multisms.models import Batch, Recipient
from tests.slack_helpers import button_values, eventually, text_of

ANNA, BOB = "+48600100001", "+48600100002"
CAROL = "+48600100003"


def batch_of(settings, batch_id: int) -> Batch:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id)


def statuses(settings, batch_id: int) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(Recipient.number_normalized, Recipient.status)
                               .where(Recipient.batch_id == batch_id))
        return dict(rows.all())


def top_level(slack_api) -> list[dict]:
    return [c for c in slack_api.calls("chat.postMessage") if "thread_ts" not in c]


def in_thread(slack_api, ts: str) -> list[dict]:
    return [c for c in slack_api.calls("chat.postMessage") if c.get("thread_ts") == ts]


def test_a_send_goes_from_preview_to_one_channel_message_with_its_thread(slack, slack_api, run_jobs,
                                                                         twilio_api, settings):
    twilio_api.fail_number(CAROL, code=30003, status=400, message="Unreachable destination handset")
    preview = slack.command(f"send {ANNA}, {BOB}; {BOB} {CAROL} 12345 | Hello team")

    text = text_of(preview)
    assert preview["response_type"] == "ephemeral"
    assert "*3 recipients* will get this message" in text and "Invalid: *1*" in text and "Duplicates: *1*" in text
    assert "`12345`: no country code" in text and "GSM-7" in text and "Estimated cost:" in text
    assert ANNA in text  # full numbers: only the author sees the preview
    batch_id = int(button_values(preview)["confirm_batch"])
    assert button_values(preview) == {"confirm_batch": str(batch_id), "cancel_batch": str(batch_id)}
    draft = batch_of(settings, batch_id)
    assert (draft.status, draft.slack_channel, draft.created_by) == ("draft", "C1", "slack:U1")

    answer = slack.click("confirm_batch", batch_id)
    assert "on its way" in answer["text"] and answer["replace_original"] is True
    run_jobs()

    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB), twilio_api.sent_to(CAROL)) == (1, 1, 0)
    [message] = top_level(slack_api)
    ts = batch_of(settings, batch_id).slack_ts
    assert message["channel"] == "C1" and ts
    assert [u["ts"] for u in slack_api.calls("chat.update")] == [ts] * slack_api.count("chat.update")
    [shown] = slack_api.messages("C1")[:1]
    assert "done, with errors" in shown["text"] and "2 sent, 1 failed" in shown["text"]
    failures, summary = in_thread(slack_api, ts)
    assert "30003" in text_of(failures) and "unreachable handset" in text_of(failures)
    assert "+48••••••003" in text_of(failures)
    assert f"Batch #{batch_id} is done, with errors" in text_of(summary)
    assert button_values(summary) == {"retry_batch": str(batch_id), "view_recipients": str(batch_id)}
    channel_traffic = text_of(slack_api.calls("chat.postMessage") + slack_api.calls("chat.update"))
    assert not any(number in channel_traffic for number in (ANNA, BOB, CAROL))


def test_view_recipients_shows_full_numbers_only_to_the_author(slack, run_jobs):
    batch_id = int(button_values(slack.command(f"send {ANNA} {BOB} | Hi"))["confirm_batch"])
    slack.click("confirm_batch", batch_id)
    run_jobs()

    mine = slack.click("view_recipients", batch_id, user="U1", ephemeral=False)
    theirs = slack.click("view_recipients", batch_id, user="U2", ephemeral=False)

    assert ANNA in text_of(mine) and mine["replace_original"] is False
    assert ANNA not in text_of(theirs) and "+48••••••001" in text_of(theirs)


def test_cancel_on_the_preview_means_nothing_is_sent(slack, slack_api, run_jobs, twilio_api, settings):
    batch_id = int(button_values(slack.command(f"send {ANNA} | Hi"))["cancel_batch"])

    answer = slack.click("cancel_batch", batch_id)
    run_jobs()

    assert "cancelled" in answer["text"] and answer["replace_original"] is True
    assert batch_of(settings, batch_id).status == "cancelled"
    assert statuses(settings, batch_id) == {ANNA: "cancelled"}
    assert twilio_api.sent_to(ANNA) == 0 and slack_api.count("chat.postMessage") == 0
    late = slack.click("confirm_batch", batch_id)
    assert "was cancelled" in late["text"]


def test_a_double_click_on_confirm_sends_once(slack, slack_api, run_jobs, twilio_api, settings):
    batch_id = int(button_values(slack.command(f"send {ANNA} {BOB} | Once only"))["confirm_batch"])

    first = slack.click("confirm_batch", batch_id, wait=False)
    second = slack.click("confirm_batch", batch_id, wait=False)
    answers = sorted(slack.answer(name)["text"] for name in (first, second))
    run_jobs()
    run_jobs()

    assert ["on its way" in a for a in answers].count(True) == 2
    assert ["already on its way" in a for a in answers].count(True) == 1
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)
    assert len(top_level(slack_api)) == 1
    assert set(statuses(settings, batch_id).values()) == {"queued"}  # accepted by Twilio


def test_a_big_batch_needs_someone_other_than_its_author_to_approve(make_slack, slack_api, run_jobs,
                                                                    twilio_api, settings):
    slack = make_slack(MULTI_SMS_APPROVAL_THRESHOLD=1)
    batch_id = int(button_values(slack.command(f"send {ANNA} {BOB} | Big news"))["confirm_batch"])

    asked = slack.click("confirm_batch", batch_id, user="U1")
    run_jobs()  # a worker posts the request
    [request] = top_level(slack_api)
    assert "second person" in asked["text"] and "<#C1>" in asked["text"]
    assert button_values(request) == {"approve_batch": str(batch_id), "cancel_batch": str(batch_id)}
    assert ANNA not in text_of(request) and "+48••••••001" in text_of(request)

    own = slack.click("approve_batch", batch_id, user="U1", ephemeral=False)
    run_jobs()
    assert "someone else has to approve it" in own["text"] and own["replace_original"] is False
    assert twilio_api.sent_to(ANNA) == 0 and batch_of(settings, batch_id).status == "awaiting_approval"

    approved = slack.click("approve_batch", batch_id, user="U2", ephemeral=False)
    run_jobs()
    assert "approved" in approved["text"]
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)
    batch = batch_of(settings, batch_id)
    assert (batch.status, batch.approved_by) == ("completed", "slack:U2")
    assert len(top_level(slack_api)) == 1
    assert batch.slack_ts == eventually(lambda: slack_api.calls("chat.update"))[0]["ts"]  # updated in place
    assert "approved by <@U2>" in text_of(slack_api.messages("C1")[0])


def test_no_arguments_open_the_form_and_its_problems_show_on_its_fields(slack, slack_api, settings):
    slack.command("", channel="C9", wait=False)
    opened = eventually(lambda: slack_api.calls("views.open"), what="views.open")[0]
    view = opened["view"]
    assert [b["block_id"] for b in view["blocks"]] == ["numbers", "message", "send_at"]

    bad = slack.submit(submitted(view, numbers="12345", message=""))
    assert bad.status_code == 200
    assert set(bad.get_json()["errors"]) == {"numbers", "message"} and bad.get_json()["response_action"] == "errors"

    tomorrow = int(time.time()) + 86400
    good = slack.submit(submitted(view, numbers=f"{ANNA}\n{BOB}", message="From the form", send_at=tomorrow))
    assert good.status_code == 200 and not good.get_data()
    preview = eventually(lambda: slack_api.calls("chat.postEphemeral"), what="the preview")[0]
    assert (preview["channel"], preview["user"]) == ("C9", "U1")
    assert "*2 recipients*" in text_of(preview) and f"Scheduled: goes out <!date^{tomorrow}^" in text_of(preview)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 1


def test_the_form_offers_a_sender_choice_when_two_are_configured(make_slack, slack_api, settings):
    service = "MG" + "0" * 32
    slack = make_slack(TWILIO_MESSAGING_SERVICE_SID=service)
    slack.command("new", wait=False)
    view = eventually(lambda: slack_api.calls("views.open"))[0]["view"]
    options = [o["value"] for o in view["blocks"][2]["element"]["options"]]
    assert options == [service, "+15005550006"]

    slack.submit(submitted(view, numbers=ANNA, message="Hi", sender="+15005550006"))
    preview = eventually(lambda: slack_api.calls("chat.postEphemeral"))[0]
    assert "from `+15005550006`" in text_of(preview)
    forged = slack.submit(submitted(view, numbers=ANNA, message="Hi", sender="+15550000000"))
    assert forged.get_json()["errors"] == {"numbers": "Pick one of the senders offered."}


def submitted(view: dict, *, numbers: str, message: str, sender: str | None = None,
              send_at: int | None = None) -> dict:
    values = {"numbers": {"numbers": {"type": "plain_text_input", "value": numbers}},
              "message": {"message": {"type": "plain_text_input", "value": message}},
              "send_at": {"send_at": {"type": "datetimepicker", "selected_date_time": send_at}}}
    if sender:
        values["sender"] = {"sender": {"type": "static_select", "selected_option": {"value": sender}}}
    return {**view, "state": {"values": values}}


def test_status_and_list_show_mine_or_the_channels_batches(slack, run_jobs):
    mine = int(button_values(slack.command(f"send {ANNA} | One", user="U1", channel="C1"))["confirm_batch"])
    slack.click("confirm_batch", mine, user="U1")
    run_jobs()
    theirs = int(button_values(slack.command(f"send {BOB} | Two", user="U2", channel="C1"))["confirm_batch"])

    status = slack.command(f"status {mine}", user="U2")
    my_list = slack.command("list", user="U1")
    channel_list = slack.command("list channel", user="U1", channel="C1")

    assert f"*Batch #{mine}*: done" in text_of(status) and ANNA not in text_of(status)
    assert f"*#{mine}* done" in text_of(my_list) and f"#{theirs}*" not in text_of(my_list)
    assert f"*#{theirs}* draft" in text_of(channel_list) and f"*#{mine}* done" in text_of(channel_list)
    assert "No batch #999." in slack.command("status 999")["text"]


def test_help_and_mistakes_answer_with_the_commands_and_an_example(slack):
    helped = html.unescape(text_of(slack.command("help")))  # as Slack shows it
    wrong = slack.command(f"send {ANNA} hello")

    for usage in ("send <numbers> | <message>", "status <id>", "list", "cancel <id>", "retry <id>",
                  "optout add <number>", "help"):
        assert f"/multisms {usage}" in helped
    assert "Put a `|` between the numbers and the message." in wrong["text"]
    assert "Example: `/multisms send +48600123456" in text_of(wrong)


def test_when_something_breaks_the_person_gets_an_apology_not_silence(make_slack, tmp_path):
    slack = make_slack(DATABASE_URL=f"sqlite:///{tmp_path / 'no-tables.db'}")

    answer = slack.command("status 1")

    assert answer["text"].startswith("Sorry, something went wrong on our side")
    assert "sqlite" not in text_of(answer) and "Traceback" not in text_of(answer)


def test_socket_mode_says_which_tokens_it_needs(slack_settings, capsys):
    from bot import socket

    slack_settings()

    assert socket.main() == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err


def test_a_teammate_can_also_approve_with_the_command(make_slack, slack_api, run_jobs, twilio_api):
    slack = make_slack(MULTI_SMS_APPROVAL_THRESHOLD=1)
    batch_id = int(button_values(slack.command(f"send {ANNA} {BOB} | Big news"))["confirm_batch"])
    slack.click("confirm_batch", batch_id, user="U1")

    refused = slack.command(f"approve {batch_id}", user="U1")
    approved = slack.command(f"approve {batch_id}", user="U2")
    run_jobs()

    assert "someone else has to approve it" in refused["text"] and "approved" in approved["text"]
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)
