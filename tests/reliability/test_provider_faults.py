"""Twilio misbehaving (429 bursts, 500s, timeouts, slowness) and Slack rate-limiting updates."""

from __future__ import annotations

from multisms.db import session_scope
from multisms.models import Batch
from standins.signing import SIGNING_SECRET
from tests.reliability.conftest import assert_clean, audit, served
from tests.send_helpers import create_batch, numbers
from tests.slack_helpers import BOT_TOKEN


def test_429_bursts_500s_and_slow_responses(configure, twilio_api, run_jobs):
    settings = configure(MULTI_SMS_CONCURRENCY="8")
    twilio_api.latency = 0.05
    twilio_api.rate_limit_next(20)
    twilio_api.server_error_next(8)
    twilio_api.server_error_next(4, status=503)
    batch_id = create_batch(settings, numbers(60))
    run_jobs()
    assert_clean(audit(settings, twilio_api, batch_id))
    served(twilio_api)
    assert twilio_api.observed["rate_limit"] == 20 and twilio_api.observed["server_error"] == 12


def test_timeouts_whether_twilio_took_the_message_or_not(configure, twilio_api, run_jobs):
    settings = configure(TWILIO_TIMEOUT_SECONDS="0.3", MULTI_SMS_CONCURRENCY="2")
    twilio_api.hang_next(2, seconds=1.0, accept=True)
    twilio_api.hang_next(2, seconds=1.0, accept=False)
    batch_id = create_batch(settings, numbers(12))
    run_jobs()
    assert_clean(audit(settings, twilio_api, batch_id))
    assert len(twilio_api.messages) == 12
    served(twilio_api)


def test_permanent_errors_end_with_a_reason_not_a_send(configure, twilio_api, run_jobs):
    settings = configure()
    bad = numbers(3, start=90)
    for number, code in zip(bad, (21211, 21614, 21610), strict=True):
        twilio_api.fail_number(number, code)
    batch_id = create_batch(settings, numbers(5) + bad)
    run_jobs()
    result = audit(settings, twilio_api, batch_id)
    assert_clean(result)
    assert result.batch_status == "completed_with_errors"
    served(twilio_api)


def test_slack_rate_limits_on_updates_still_leave_the_right_numbers(configure, slack_api, twilio_api, run_jobs):
    settings = configure(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                         SLACK_API_URL=slack_api.api_url)
    bad = numbers(1, start=95)[0]
    twilio_api.fail_number(bad, 21211)
    slack_api.rate_limit_next("chat.postMessage", 1, retry_after=0)
    slack_api.rate_limit_next("chat.update", 2, retry_after=0)
    batch_id = create_batch(settings, numbers(20) + [bad], slack_channel="CRELY")
    run_jobs()
    assert_clean(audit(settings, twilio_api, batch_id))
    with session_scope(settings.database_url) as session:
        ts = session.get(Batch, batch_id).slack_ts
    [message] = [m for m in slack_api.messages("CRELY") if m["ts"] == ts]
    assert "20 sent, 0 failed, 0 pending" in message["text"]
    served(twilio_api, slack_api)
