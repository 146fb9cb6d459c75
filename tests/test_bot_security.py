"""Who may use `/slack/events`: only Slack (signed, fresh requests), only allowed people, no leaks."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from multisms.db import session_scope
from multisms.models import Batch
from standins.signing import SIGNING_SECRET, action_body, signed_headers, slash_body
from tests.slack_helpers import BOT_TOKEN, button_values, text_of

SEND = "send +48600100001 +48600100002 | Hello"


def stored_batches(settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(Batch))


@pytest.mark.parametrize("signing", [
    {"secret": "not-the-signing-secret"},
    {"timestamp": int(time.time()) - 6 * 60},
], ids=["forged signature", "six minutes old"])
def test_a_forged_or_stale_slash_command_is_refused_and_stores_nothing(slack, slack_api, settings, signing):
    body = slash_body(SEND, user="U1", channel="C1", response_url=slack_api.response_url("r"))

    response = slack.client.post("/slack/events", data=body, headers=signed_headers(body, **signing))
    time.sleep(0.2)  # a listener, had one started, would have answered by now

    assert response.status_code == 401
    assert stored_batches(settings) == 0
    assert slack_api.responses() == [] and slack_api.calls("chat.postMessage") == []


def test_a_forged_confirm_click_changes_nothing(slack, slack_api, run_jobs, twilio_api, settings):
    batch_id = button_values(slack.command(SEND))["confirm_batch"]
    body = action_body("confirm_batch", batch_id, user="U1", channel="C1",
                       response_url=slack_api.response_url("r"), ephemeral=True)

    response = slack.client.post("/slack/events", data=body,
                                 headers=signed_headers(body, secret="guessed", timestamp=int(time.time())))
    run_jobs()

    assert response.status_code == 401
    with session_scope(settings.database_url) as session:
        assert session.get(Batch, int(batch_id)).status == "draft"
    assert twilio_api.sent_to("+48600100001") == 0


def test_a_request_without_signature_headers_is_refused(slack, settings):
    response = slack.client.post("/slack/events", data=slash_body(SEND, user="U1", channel="C1",
                                                                   response_url="http://127.0.0.1:9/r"),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401 and stored_batches(settings) == 0


def test_someone_not_on_the_allowed_list_is_told_so_and_nothing_is_stored(make_slack, settings):
    slack = make_slack(MULTISMS_ALLOWED_USERS="U1,U2")

    refused = slack.command(SEND, user="U3")
    allowed = slack.command(SEND, user="U2")

    assert "not on the list of people who may send" in refused["text"] and "U3" in refused["text"]
    assert "Preview of batch" in allowed["text"]
    assert stored_batches(settings) == 1
    assert "not on the list" in slack.click("confirm_batch", button_values(allowed)["confirm_batch"], user="U3")["text"]


def test_sending_from_a_channel_that_is_not_allowed_is_refused(make_slack, settings):
    slack = make_slack(MULTISMS_ALLOWED_CHANNELS="C1")

    refused = slack.command(SEND, channel="C2")
    readable = slack.command("help", channel="C2")

    assert "can't be sent from this channel" in refused["text"] and "<#C1>" in refused["text"]
    assert "multisms commands" in readable["text"]
    assert stored_batches(settings) == 0


def test_only_the_author_may_confirm_their_draft(slack, run_jobs, twilio_api, settings):
    batch_id = button_values(slack.command(SEND, user="U1"))["confirm_batch"]

    stranger = slack.click("confirm_batch", batch_id, user="U2")
    run_jobs()

    assert "Only <@U1> can confirm" in stranger["text"]
    assert twilio_api.sent_to("+48600100001") == 0


def test_secrets_never_reach_slack(slack, slack_api, run_jobs):
    slack.click("confirm_batch", button_values(slack.command(SEND))["confirm_batch"])
    run_jobs()

    everything = text_of(slack_api.responses() + [call for call in slack_api.calls()])
    assert SIGNING_SECRET not in everything and BOT_TOKEN not in everything


def test_without_slack_settings_the_endpoint_says_what_to_configure(client):
    response = client.post("/slack/events", data="x=1")

    assert response.status_code == 503
    assert "SLACK_BOT_TOKEN" in response.get_json()["error"] and "SLACK_SIGNING_SECRET" in response.get_json()["error"]
