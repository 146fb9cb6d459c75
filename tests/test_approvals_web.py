"""Big batches from the REST API and the web panel wait for a second person in Slack.

Stories: a batch over MULTI_SMS_APPROVAL_THRESHOLD made over REST or in the panel sends nothing
until another Slack user clicks Approve on the request posted in the approvals channel, then
texts each number once; neither the API nor the panel can approve; with nobody able to
approve (no Slack, no channel to ask in) such a batch is refused before anything is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.scheduling import due_work
from multisms.config import get_settings
from multisms.db import session_scope
from multisms.models import Batch, utcnow
from multisms.queues import enqueue_approval_request
from tests.panel_helpers import PASSWORD, Panel, stored
from tests.slack_helpers import button_values, text_of
from webhooks.app import create_app

BATCHES = "/api/multi-sms/batches"
ANNA, BOB, CAROL = "+48600100001", "+48600100002", "+48600100003"
APPROVALS = "CAPPROVE"


def batch_of(settings, batch_id: int) -> Batch:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id)


def requests_posted(slack_api) -> list[dict]:
    return [m for m in slack_api.messages(APPROVALS) if "thread_ts" not in m]


def approval_story(make_slack, **env):
    """A workspace where batches of more than one recipient need approval, asked for in CAPPROVE."""
    return make_slack(MULTI_SMS_APPROVAL_THRESHOLD=1, SLACK_APPROVALS_CHANNEL=APPROVALS, PANEL_PASSWORD=PASSWORD,
                      **env)


def test_a_rest_batch_over_the_threshold_waits_for_a_second_slack_user(make_slack, slack_api, twilio_api, run_jobs,
                                                                       auth, settings):
    slack = approval_story(make_slack)
    created = slack.client.post(BATCHES, headers=auth, json={"body": "Big news", "recipients": [ANNA, BOB]})
    batch_id = created.json["batch"]["id"]
    assert created.status_code == 202, created.json
    assert created.json["batch"]["status"] == "awaiting_approval"

    run_jobs()
    [request] = requests_posted(slack_api)
    assert twilio_api.messages == []
    assert button_values(request) == {"approve_batch": str(batch_id), "cancel_batch": str(batch_id)}
    assert "the REST API" in text_of(request) and "+48••••••001" in text_of(request)
    assert ANNA not in text_of(slack_api.calls())
    waiting = batch_of(settings, batch_id)
    assert (waiting.status, waiting.slack_channel, waiting.slack_ts) == ("awaiting_approval", APPROVALS, request["ts"])
    assert slack.client.post(f"{BATCHES}/{batch_id}/approve", headers=auth).status_code in (404, 405)

    approved = slack.click("approve_batch", batch_id, user="U2", channel=APPROVALS, ephemeral=False)
    run_jobs()
    run_jobs()

    assert "approved" in approved["text"]
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB), len(twilio_api.messages)) == (1, 1, 2)
    done = batch_of(settings, batch_id)
    assert (done.status, done.approved_by) == ("completed", "slack:U2")
    assert requests_posted(slack_api) == [slack_api.messages(APPROVALS)[0]]  # no second channel message
    shown = text_of(slack_api.messages(APPROVALS)[0])
    assert "approved by <@U2>" in shown and "approve_batch" not in shown  # updated in place, buttons gone


def test_a_panel_batch_over_the_threshold_waits_for_a_second_slack_user(make_slack, slack_api, twilio_api, run_jobs,
                                                                        settings):
    slack = approval_story(make_slack)
    panel = Panel(slack.client.application.test_client())
    panel.login()

    preview = panel.preview(f"{ANNA}\n{BOB}\n{CAROL}", "Big news")
    confirmed = panel.confirm(f"{ANNA}\n{BOB}\n{CAROL}", "Big news")
    [batch] = stored(settings)
    home = panel.client.get("/panel/").text
    page = panel.client.get(f"/panel/batches/{batch.id}").text

    assert "second person approves it in Slack" in preview.text and "Confirm and ask for approval" in preview.text
    assert confirmed.status_code == 302
    assert f"Batch #{batch.id} is waiting for approval" in home and "Nothing is sent until then." in home
    assert panel.client.get("/panel/batches.json").json["items"][0]["status_label"] == "Waiting for approval"
    assert "nothing is sent until a second" in page and "/approve" not in page
    assert panel.post(f"/panel/batches/{batch.id}/approve").status_code == 404

    run_jobs()
    assert twilio_api.messages == [] and batch_of(settings, batch.id).status == "awaiting_approval"
    [request] = requests_posted(slack_api)
    assert "the web panel" in text_of(request)

    slack.click("approve_batch", batch.id, user="U2", channel=APPROVALS, ephemeral=False)
    run_jobs()

    assert [twilio_api.sent_to(n) for n in (ANNA, BOB, CAROL)] == [1, 1, 1] and len(twilio_api.messages) == 3
    assert panel.client.get("/panel/batches.json").json["items"][0]["status"] == "completed"


def test_a_send_later_batch_waits_for_approval_and_then_for_its_time(make_slack, slack_api, twilio_api, run_jobs,
                                                                     auth, settings):
    slack = approval_story(make_slack)
    later = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    created = slack.client.post(BATCHES, headers=auth, json={"body": "Later", "recipients": [ANNA, BOB],
                                                             "scheduled_at": later.isoformat()})
    batch_id = created.json["batch"]["id"]
    run_jobs()

    answer = slack.click("approve_batch", batch_id, user="U2", channel=APPROVALS, ephemeral=False)
    run_jobs()

    assert created.status_code == 202 and "Scheduled" in answer["text"]
    batch = slack.client.get(f"{BATCHES}/{batch_id}", headers=auth).json["batch"]
    assert (batch["status"], datetime.fromisoformat(batch["scheduled_at"])) == ("scheduled", later)
    assert twilio_api.messages == []


def test_a_batch_over_the_threshold_is_refused_when_nobody_could_approve_it(make_client, auth, settings, redis_conn):
    client = make_client(MULTI_SMS_APPROVAL_THRESHOLD=1, PANEL_PASSWORD=PASSWORD)  # no Slack
    refused = client.post(BATCHES, headers=auth, json={"body": "Big news", "recipients": [ANNA, BOB]})
    dry_run = client.post(BATCHES, headers=auth, json={"body": "Big news", "recipients": [ANNA, BOB],
                                                       "dry_run": True})
    small = client.post(BATCHES, headers=auth, json={"body": "Just Anna", "recipients": [ANNA]})

    assert refused.status_code == 422
    [problem] = refused.json["problems"]
    assert problem["field"] == "recipients"
    assert "more than MULTI_SMS_APPROVAL_THRESHOLD (1)" in problem["message"]
    assert "Slack is not configured" in problem["message"]
    assert dry_run.status_code == 200 and dry_run.json["validation"]["problems"] == [problem]
    assert small.status_code == 201  # at the threshold: no approval needed
    assert [b.body for b in stored(settings)] == ["Just Anna"]
    assert redis_conn.llen("rq:queue:default") == 0

    panel = Panel(client)
    panel.login()
    preview = panel.preview(f"{ANNA}\n{BOB}", "Big news")
    forced = panel.post("/panel/confirm", nonce="made-up", numbers=f"{ANNA}\n{BOB}", body="Big news")
    assert "MULTI_SMS_APPROVAL_THRESHOLD" in preview.text and 'name="nonce"' not in preview.text
    assert forced.status_code == 422 and "Nothing was sent" in forced.text
    assert [b.body for b in stored(settings)] == ["Just Anna"]


def test_with_slack_but_no_channel_to_ask_in_a_big_api_batch_is_refused(make_slack, auth, settings):
    slack = make_slack(MULTI_SMS_APPROVAL_THRESHOLD=1)
    refused = slack.client.post(BATCHES, headers=auth, json={"body": "Big news", "recipients": [ANNA, BOB]})
    assert refused.status_code == 422
    assert "SLACK_APPROVALS_CHANNEL" in refused.json["problems"][0]["message"]
    assert stored(settings) == []


def test_the_inbox_channel_is_asked_when_no_approvals_channel_is_set_and_only_once(make_slack, slack_api, auth,
                                                                                      run_jobs, redis_conn):
    slack = make_slack(MULTI_SMS_APPROVAL_THRESHOLD=1, SLACK_INBOX_CHANNEL="CINBOX")
    created = slack.client.post(BATCHES, headers=auth, json={"body": "Big news", "recipients": [ANNA, BOB]})
    run_jobs()
    enqueue_approval_request(redis_conn, created.json["batch"]["id"])  # a repeated job
    run_jobs()
    [request] = slack_api.messages("CINBOX")
    assert button_values(request)["approve_batch"] == str(created.json["batch"]["id"])
    assert slack_api.count("chat.postMessage") == 1


def test_a_big_batch_made_while_redis_was_down_is_still_put_to_slack(make_slack, slack_api, twilio_api, auth,
                                                                     run_jobs, redis_conn):
    slack = approval_story(make_slack)
    redis_down = create_app(get_settings().model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    created = redis_down.test_client().post(BATCHES, headers=auth, json={"body": "Big", "recipients": [ANNA, BOB]})
    batch_id = created.json["batch"]["id"]
    assert created.status_code == 202 and redis_conn.llen("rq:queue:default") == 0

    assert due_work(get_settings(), redis_conn, utcnow())["asked"] == []  # it may still be on its way
    assert due_work(get_settings(), redis_conn, utcnow() + timedelta(minutes=2))["asked"] == [batch_id]
    run_jobs()

    [request] = requests_posted(slack_api)
    assert button_values(request)["approve_batch"] == str(batch_id)
    assert due_work(get_settings(), redis_conn, utcnow() + timedelta(minutes=2))["asked"] == []
    slack.click("approve_batch", batch_id, user="U2", channel=APPROVALS, ephemeral=False)
    run_jobs()
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)


def test_a_waiting_batch_cancelled_over_rest_or_in_the_panel_loses_its_approve_button(make_slack, slack_api, auth,
                                                                                      run_jobs, twilio_api, settings):
    slack = approval_story(make_slack)
    over_rest = slack.client.post(BATCHES, headers=auth, json={"body": "One", "recipients": [ANNA, BOB]})
    panel = Panel(slack.client.application.test_client())
    panel.login()
    panel.confirm(f"{ANNA}\n{BOB}", "Two")
    run_jobs()
    rest_id, panel_id = over_rest.json["batch"]["id"], stored(settings)[-1].id

    slack.client.post(f"{BATCHES}/{rest_id}/cancel", headers=auth)
    panel.post(f"/panel/batches/{panel_id}/cancel")
    run_jobs()

    shown = {m["ts"]: text_of(m) for m in slack_api.messages(APPROVALS)}
    for batch_id in (rest_id, panel_id):
        message = shown[batch_of(settings, batch_id).slack_ts]
        assert "cancelled" in message and "approve_batch" not in message
    late = slack.click("approve_batch", rest_id, user="U2", channel=APPROVALS, ephemeral=False)
    run_jobs()
    assert "cancelled" in late["text"] and twilio_api.messages == []
