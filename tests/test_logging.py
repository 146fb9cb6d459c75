"""What reaches a log line: numbers masked however they are written, request bodies withheld."""

from __future__ import annotations

import logging

import pytest

from multisms.logging_setup import configure_logging, mask_numbers


@pytest.mark.parametrize("written", [
    "+48 600 123 456", "+48600123456", "0048600123456", "0048 600 123 456", "48600123456", "600 123 456",
    "600123456", "(+48) 600-123-456", "600.123.456", "+48  600  123  456", "%2B48600123456",
    "%2B48+600+123+456", "+48%20600%20123%20456", "tel:+48600123456", "+1 (202) 555-0123",
])
def test_a_number_is_masked_however_it_is_written(written):
    masked = mask_numbers(f"reply to {written}, please")
    digits = "".join(ch for ch in written.replace("%2B", "").replace("%20", "") if ch.isdigit())
    assert digits[-6:-3] not in "".join(ch for ch in masked if ch.isdigit())
    assert "•" in masked and masked.endswith(digits[-3:] + ", please")


@pytest.mark.parametrize("kept", ["at 2026-11-30 12:00:00", "redis 127.0.0.1:6379", "batch 12 of 250",
                                  "sid SM0123456789abcdef0123456789abcdef", "took 1234.5 ms", "v1.2.3"])
def test_dates_addresses_ids_and_small_numbers_stay_readable(kept):
    assert mask_numbers(kept) == kept


def test_a_rejected_slack_request_is_logged_without_its_body(capsys, monkeypatch):
    configure_logging("INFO")
    bolt = logging.getLogger("slack_bolt.App")
    monkeypatch.setattr(bolt, "level", logging.INFO)  # Bolt copies the root level when an App is built
    bolt.info(
        "Invalid request signature detected (signature: v0=abc, timestamp: 1, body: token=x&text=send+%2B48+600+"
        "123+456+%7C+Secret+party+details)")
    line = capsys.readouterr().out
    assert "Invalid request signature detected (request details withheld)" in line
    assert "Secret" not in line and "600" not in line
