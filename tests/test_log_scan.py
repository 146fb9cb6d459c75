"""Every log line of a whole day's flow, read back: no phone number in any spelling, no SMS or reply
text, no secret. Logging is set up as in production (`configure_logging`), jobs run with the worker's
own options, and the flow goes through every door: a forged Slack request, a Slack send with numbers
written several ways, an inbound reply, a team member's answer in the thread, an AI answer, the REST
API and the web panel."""

from __future__ import annotations

import json
import logging
import re

import pytest
from rq import SimpleWorker

from jobs.worker import WORKER_OPTIONS
from multisms.logging_setup import configure_logging
from multisms.queues import QUEUE_NAMES, get_queue
from standins.signing import SIGNING_SECRET, slash_body
from tests.conftest import API_TOKEN
from tests.kb_helpers import OPENAI_KEY, PARKING, add_document, ai_env, grounded_model
from tests.panel_helpers import PASSWORD, Panel
from tests.send_helpers import post_signed
from tests.slack_helpers import BOT_TOKEN, SlackWorkspace, button_values, event_body, post_event

NUMBERS = ["+48600700111", "+48600700222", "+48600700333", "+48600700444", "+48600700555", "+48600700666"]
WRITTEN = ["+48 600 700 111", "0048600700222", "(+48) 600-700-333", "600 700 444", "600.700.555", "48600700666"]
SECRET_TEXTS = ["Zebra picnic at dawn", "Quokka budget numbers", "Walrus reply from the field",
                "Narwhal answer from the team", "Pangolin note via REST", "Axolotl note via the panel"]


def spellings(number: str) -> list[str]:
    """Every way a leaked number could appear: E.164, without the +, national, grouped, form-encoded."""
    national = number[3:]
    grouped = " ".join(national[i:i + 3] for i in range(0, 9, 3))
    return [number, number[1:], national, grouped, "%2B" + number[1:], national[:3] + "-" + national[3:6]]


@pytest.fixture
def production_jobs(redis_conn):
    """Jobs run by a worker with the production worker's options (job arguments not logged)."""

    def run() -> None:
        queues = [get_queue(name, redis_conn) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=redis_conn, **WORKER_OPTIONS).work(burst=True)

    return run


def test_a_whole_flow_leaves_no_number_text_or_secret_in_any_log_line(
        slack_settings, slack_api, twilio_api, openai_api, tmp_path, production_jobs, capfd):
    from webhooks.app import create_app

    openai_api.reply = grounded_model
    settings = slack_settings(SLACK_INBOX_CHANNEL="CINBOX", DEFAULT_REGION="PL", PANEL_PASSWORD=PASSWORD,
                              AUTO_REPLY_MODE="ai", LOG_LEVEL="DEBUG", **ai_env(openai_api, tmp_path))
    add_document(settings, *PARKING)
    handler = configure_logging("DEBUG")
    try:
        client = create_app(settings).test_client()
        slack = SlackWorkspace(client, slack_api)
        forged = slash_body(f"send {WRITTEN[0]} | {SECRET_TEXTS[0]}", user="U1", channel="C1",
                            response_url=slack_api.response_url("forged"))
        assert client.post("/slack/events", data=forged, headers={"X-Slack-Signature": "v0=" + "0" * 64,
                                                                   "X-Slack-Request-Timestamp": "1"}).status_code == 401
        preview = slack.command(f"send {', '.join(WRITTEN[:4])} | {SECRET_TEXTS[1]}")
        slack.click("confirm_batch", int(button_values(preview)["confirm_batch"]))
        production_jobs()

        reply = twilio_api.inbound_form(NUMBERS[1], "+15005550006", SECRET_TEXTS[2])
        post_signed(client, twilio_api, "/twilio/inbound", reply)
        production_jobs()
        [root] = [m for m in slack_api.messages("CINBOX") if m["text"].startswith("Conversation with")]
        post_event(client, event_body(SECRET_TEXTS[3], channel="CINBOX", thread_ts=root["ts"],
                                      ts="1700000999.000100", user="U1"))
        question = twilio_api.inbound_form(NUMBERS[2], "+15005550006", "Is parking free?")
        post_signed(client, twilio_api, "/twilio/inbound", question)
        production_jobs()

        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        made = client.post("/api/multi-sms/batches", headers=auth,
                           json={"body": SECRET_TEXTS[4], "numbers": f"{WRITTEN[4]}; {WRITTEN[5]}"})
        assert made.status_code == 201, made.get_data(as_text=True)
        panel = Panel(create_app(settings).test_client())
        panel.login()
        assert panel.confirm(WRITTEN[0], SECRET_TEXTS[5]).status_code in (200, 302)
        production_jobs()
    finally:
        logging.getLogger().removeHandler(handler)
    written = capfd.readouterr()
    logs = written.out + written.err

    assert "level=INFO logger=rq.worker" in logs and "level=DEBUG" in logs  # the logs were really captured
    sent_to = {m["to"] for m in twilio_api.messages}
    assert set(NUMBERS) <= sent_to  # every door was really used
    assert any(SECRET_TEXTS[3] == m["body"] for m in twilio_api.messages)  # the thread answer went out
    leaked_numbers = sorted({n for n in NUMBERS for s in spellings(n) if re.search(rf"(?<!\d){re.escape(s)}", logs)})
    leaked_texts = [t for t in [*SECRET_TEXTS, PARKING[1][:30]] if t in logs]
    secrets = [API_TOKEN, twilio_api.auth_token, BOT_TOKEN, SIGNING_SECRET, PASSWORD, OPENAI_KEY]
    leaked_secrets = [s for s in secrets if s in logs]
    assert (leaked_numbers, leaked_texts, leaked_secrets) == ([], [], []), json.dumps(
        [line for line in logs.splitlines() if any(x in line for x in [*NUMBERS, *SECRET_TEXTS])][:5])
