"""Both gateways, as the send job sees them."""

from __future__ import annotations

import logging

import pytest

from multisms.errors import GatewayError
from multisms.gateway import ConsoleGateway, TwilioGateway, make_gateway


def test_console_gateway_is_used_without_twilio_credentials(configure):
    settings = configure(TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None)
    assert isinstance(make_gateway(settings), ConsoleGateway)


def test_console_gateway_logs_a_masked_number_and_reports_sent(caplog):
    caplog.set_level(logging.INFO, logger="multisms.gateway")
    result = ConsoleGateway().send(to="+48600123456", body="Hello", sender="+15005550006")
    assert result.status == "sent" and result.sid.startswith("CONSOLE")
    assert "+48••••••456" in caplog.text and "Hello" in caplog.text
    assert "600123456" not in caplog.text


def test_twilio_gateway_sends_through_the_sdk(settings, twilio_api):
    result = TwilioGateway(settings).send(to="+48600123456", body="Hi", sender="+15005550006",
                                          status_callback="https://example.test/twilio/status")
    assert result.sid.startswith("SM") and result.status == "queued" and result.segments == 1
    assert twilio_api.create_forms[result.sid]["StatusCallback"] == "https://example.test/twilio/status"


@pytest.mark.parametrize(("arm", "retryable", "code"), [
    (lambda api: api.fail_number("+48600123456", 21211), False, 21211),
    (lambda api: api.rate_limit_next(1), True, 20429),
    (lambda api: api.server_error_next(1), True, 20500),
])
def test_twilio_errors_are_classified(settings, twilio_api, arm, retryable, code):
    arm(twilio_api)
    with pytest.raises(GatewayError) as raised:
        TwilioGateway(settings).send(to="+48600123456", body="Hi", sender="+15005550006")
    assert raised.value.retryable is retryable
    assert raised.value.code == code


def test_a_timeout_is_retryable_but_ambiguous(configure, twilio_api):
    settings = configure(TWILIO_TIMEOUT_SECONDS="0.3")
    twilio_api.hang_next(1, seconds=1.5, accept=True)
    with pytest.raises(GatewayError) as raised:
        TwilioGateway(settings).send(to="+48600123456", body="Hi", sender="+15005550006")
    assert raised.value.retryable and raised.value.ambiguous
