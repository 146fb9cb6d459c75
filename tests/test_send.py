"""The send job against the Twilio stand-in: concurrency, retries, error classes, pauses, once only."""

from __future__ import annotations

import threading
import time

from jobs.send import send_batch
from multisms.db import session_scope
from multisms.models import Batch, Message, OptOut
from tests.send_helpers import create_batch, numbers, post_signed, recipient, statuses


def batch_row(settings, batch_id: int) -> Batch:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id)


def test_every_recipient_is_sent_once_and_recorded_in_messages(settings, run_jobs, twilio_api):
    batch_id = create_batch(settings, numbers(40))
    run_jobs()
    assert all(twilio_api.sent_to(n) == 1 for n in numbers(40))
    assert set(statuses(settings, batch_id).values()) == {"queued"}
    assert batch_row(settings, batch_id).status == "completed"
    with session_scope(settings.database_url) as session:
        messages = session.query(Message).filter_by(batch_id=batch_id, direction="outbound").all()
        assert sorted(m.to_number for m in messages) == numbers(40)
        assert {m.sid for m in messages} == {m["sid"] for m in twilio_api.messages}


def test_a_429_storm_is_ridden_out_and_nobody_gets_two(settings, run_jobs, twilio_api):
    twilio_api.rate_limit_next(12)
    batch_id = create_batch(settings, numbers(20))
    run_jobs()
    assert all(twilio_api.sent_to(n) == 1 for n in numbers(20))
    assert twilio_api.create_attempts == 20 + 12
    assert batch_row(settings, batch_id).status == "completed"


def test_server_errors_are_retried(settings, run_jobs, twilio_api):
    twilio_api.server_error_next(3)
    batch_id = create_batch(settings, numbers(3))
    run_jobs()
    assert all(twilio_api.sent_to(n) == 1 for n in numbers(3))
    assert batch_row(settings, batch_id).status == "completed"


def test_a_timeout_after_twilio_accepted_is_looked_up_not_resent(configure, run_jobs, twilio_api):
    settings = configure(TWILIO_TIMEOUT_SECONDS="0.5")
    twilio_api.hang_next(1, seconds=2, accept=True)
    batch_id = create_batch(settings, numbers(1))
    run_jobs()
    assert twilio_api.sent_to(numbers(1)[0]) == 1
    assert recipient(settings, batch_id, numbers(1)[0]).sid == twilio_api.messages[0]["sid"]


def test_an_invalid_number_ends_invalid_with_the_error_kept(settings, run_jobs, twilio_api):
    bad = numbers(1, start=50)[0]
    twilio_api.fail_number(bad, 21211)
    batch_id = create_batch(settings, numbers(2) + [bad])
    run_jobs()
    failed = recipient(settings, batch_id, bad)
    assert failed.status == "invalid"
    assert failed.error_code == 21211 and failed.error_message == "not a valid phone number"
    assert twilio_api.create_attempts == 3  # 4xx validation errors are not retried
    assert batch_row(settings, batch_id).status == "completed_with_errors"


def test_21610_marks_opted_out_and_records_the_opt_out(settings, run_jobs, twilio_api):
    stopped = numbers(1, start=60)[0]
    twilio_api.fail_number(stopped, 21610, message="Attempt to send to unsubscribed recipient")
    batch_id = create_batch(settings, numbers(1) + [stopped])
    run_jobs()
    assert recipient(settings, batch_id, stopped).status == "opted_out"
    with session_scope(settings.database_url) as session:
        assert session.get(OptOut, stopped).source == "twilio_21610"
    later = create_batch(settings, [stopped, numbers(1)[0]], queue=False)
    assert statuses(settings, later)[stopped] == "opted_out"


def test_a_burst_of_spam_filtering_pauses_the_batch_and_resume_continues(configure, run_jobs, twilio_api, client, auth):
    settings = configure(MULTI_SMS_PAUSE_THRESHOLD="3", MULTI_SMS_CONCURRENCY="1")
    filtered = numbers(4, start=70)
    for number in filtered:
        twilio_api.fail_number(number, 30007, message="Message filtered")
    batch_id = create_batch(settings, filtered + numbers(10))
    run_jobs()
    paused = batch_row(settings, batch_id)
    assert paused.status == "paused"
    assert "30007" in paused.error and "resume" in paused.error
    assert list(statuses(settings, batch_id).values()).count("pending") == 11  # stopped, not burnt through

    for number in filtered:
        twilio_api.fail_number(number, 21211)  # any later error is not "blocking"
    resumed = client.post(f"/api/multi-sms/batches/{batch_id}/resume", headers=auth)
    assert resumed.status_code == 200 and resumed.json["batch"]["status"] == "pending"
    run_jobs()
    assert batch_row(settings, batch_id).status == "completed_with_errors"
    assert all(twilio_api.sent_to(n) == 1 for n in numbers(10))


def test_two_runs_of_the_same_batch_at_once_send_each_number_once(settings, twilio_api):
    twilio_api.latency = 0.02
    batch_id = create_batch(settings, numbers(60), queue=False)
    runs = [threading.Thread(target=send_batch, args=(batch_id,)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=30)
    assert all(twilio_api.sent_to(n) == 1 for n in numbers(60))
    assert twilio_api.create_attempts == 60


def test_cancel_mid_batch_stops_sending_within_a_second(configure, twilio_api, client, auth):
    settings = configure(MULTI_SMS_CONCURRENCY="4")
    twilio_api.latency = 0.1
    batch_id = create_batch(settings, numbers(200), queue=False)
    sender = threading.Thread(target=send_batch, args=(batch_id,))
    sender.start()
    deadline = time.monotonic() + 10
    while len(twilio_api.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.post(f"/api/multi-sms/batches/{batch_id}/cancel", headers=auth).status_code == 200
    cancelled_at = time.monotonic()
    sender.join(timeout=10)
    assert time.monotonic() - cancelled_at < 2
    sent = len(twilio_api.messages)
    assert sent < 80
    final = statuses(settings, batch_id)
    assert list(final.values()).count("cancelled") == 200 - sent
    assert batch_row(settings, batch_id).status == "cancelled"


def test_retry_sends_only_the_failed_ones(settings, run_jobs, twilio_api, client, auth):
    bad = numbers(1, start=80)[0]
    twilio_api.fail_number(bad, 21211)
    batch_id = create_batch(settings, numbers(3) + [bad])
    run_jobs()
    first, second, third = numbers(3)
    callbacks = [(first, "delivered", None), (second, "undelivered", "30003"), (third, "failed", "30008")]
    for number, status, code in callbacks:
        message = next(m for m in twilio_api.messages if m["to"] == number)
        form = twilio_api.status_callback_form(message, status, error_code=code)
        assert post_signed(client, twilio_api, "/twilio/status", form).status_code == 204
    assert client.post(f"/api/multi-sms/batches/{batch_id}/retry", headers=auth).status_code == 200
    run_jobs()
    assert [twilio_api.sent_to(n) for n in (first, second, third, bad)] == [1, 2, 2, 0]
    assert statuses(settings, batch_id)[first] == "delivered"
    refused = client.post(f"/api/multi-sms/batches/{batch_id}/retry", headers=auth)
    assert refused.status_code == 409 and "no failed recipients" in refused.json["error"]
