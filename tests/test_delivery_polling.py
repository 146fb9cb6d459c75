"""Statuses that do not depend on callbacks: the poller asks Twilio, cheaply, until each is final.

No PUBLIC_BASE_URL here, so Twilio is given no StatusCallback and the poller is all there is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from multisms import delivery
from multisms.delivery import poll_statuses
from multisms.gateway import make_gateway
from tests.send_helpers import create_batch, numbers, statuses


def later(seconds: float):
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=True)


def test_without_callbacks_polling_brings_delivered_and_undelivered(configure, twilio_api, run_jobs, client, auth):
    settings = configure(PUBLIC_BASE_URL=None)
    twilio_api.receipt_seconds = 2
    recipients = numbers(30)
    twilio_api.undeliverable(recipients[0], 30003)
    batch_id = create_batch(settings, recipients, body="Your parcel arrives today")
    run_jobs()
    assert "StatusCallback" not in next(iter(twilio_api.create_forms.values()))
    batch = client.get(f"/api/multi-sms/batches/{batch_id}", headers=auth).json["batch"]
    assert batch["status"] == "completed"
    assert (batch["success_count"], batch["pending_count"], batch["delivered_count"]) == (30, 0, 0)  # accepted

    with later(10):
        report = poll_statuses(settings, make_gateway(settings))
    assert (report.checked, report.changed) == (30, 30)
    assert (report.list_calls, twilio_api.list_calls, twilio_api.fetch_calls) == (1, 1, 0)  # one page for all
    final = statuses(settings, batch_id)
    assert final.pop(recipients[0]) == "undelivered"
    assert set(final.values()) == {"delivered"}
    batch = client.get(f"/api/multi-sms/batches/{batch_id}", headers=auth).json["batch"]
    assert (batch["success_count"], batch["failure_count"], batch["pending_count"]) == (29, 1, 0)
    assert (batch["delivered_count"], batch["undelivered_count"]) == (29, 1)
    assert batch["status"] == "completed_with_errors"
    with later(60):
        assert poll_statuses(settings, make_gateway(settings)).checked == 0  # final: never asked again


def test_a_sent_message_without_receipt_is_final_after_the_window(configure, twilio_api, run_jobs):
    settings = configure(PUBLIC_BASE_URL=None, MULTI_SMS_RECEIPT_WINDOW_SECONDS="600")
    twilio_api.receipt_seconds = None  # the carrier never sends a receipt
    batch_id = create_batch(settings, numbers(3), body="No receipts here")
    run_jobs()
    with later(10):
        assert poll_statuses(settings, make_gateway(settings)).checked == 3
    assert set(statuses(settings, batch_id).values()) == {"sent"}
    with later(12):
        assert poll_statuses(settings, make_gateway(settings)).checked == 0  # backoff: not due again yet
    calls = twilio_api.list_calls + twilio_api.fetch_calls
    with later(300):
        assert poll_statuses(settings, make_gateway(settings)).checked == 3  # still inside the window
    with later(700):
        assert poll_statuses(settings, make_gateway(settings)).checked == 0  # past it: sent is final
    assert twilio_api.list_calls + twilio_api.fetch_calls == calls + 1
    assert set(statuses(settings, batch_id).values()) == {"sent"}


def test_messages_beyond_the_listed_pages_are_fetched_one_by_one(configure, twilio_api, run_jobs, monkeypatch):
    settings = configure(PUBLIC_BASE_URL=None)
    monkeypatch.setattr("multisms.gateway.POLL_PAGE_SIZE", 4)  # a thousand, in production
    monkeypatch.setattr(delivery, "POLL_MAX_PAGES", 2)
    twilio_api.receipt_seconds = 0
    batch_id = create_batch(settings, numbers(11), body="Stragglers")
    run_jobs()
    with later(10):
        report = poll_statuses(settings, make_gateway(settings))
    assert (report.list_calls, twilio_api.list_calls, report.fetches, twilio_api.fetch_calls) == (2, 2, 3, 3)
    assert set(statuses(settings, batch_id).values()) == {"delivered"}


def test_with_callbacks_configured_the_poller_waits_for_them_first(configure, twilio_api, run_jobs):
    settings = configure()  # PUBLIC_BASE_URL set: Twilio calls back
    twilio_api.receipt_seconds = 0
    create_batch(settings, numbers(2))
    run_jobs()
    with later(60):
        assert poll_statuses(settings, make_gateway(settings)).checked == 0
    with later(delivery.FIRST_CHECK_WITH_CALLBACKS.total_seconds() + 5):
        assert poll_statuses(settings, make_gateway(settings)).checked == 2  # a lost callback is made up for
