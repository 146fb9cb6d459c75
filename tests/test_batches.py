"""The batch rules, without a database."""

from __future__ import annotations

import pytest

from multisms.batches import check_batch_move, validate_batch
from multisms.errors import InvalidTransition
from multisms.numbers import split_entries

SENDER = "+15005550006"


def validate(text: str, body: str = "Hi", **kwargs):
    kwargs.setdefault("sender", SENDER)
    kwargs.setdefault("max_recipients", 250)
    return validate_batch(body, split_entries(text), **kwargs)


def test_opted_out_numbers_are_reported_and_not_counted_against_the_limit():
    result = validate("+48600123456 +48600123457 +48600123458", max_recipients=2, opted_out={"+48600123458"})
    assert result.ok
    assert result.recipients == ("+48600123456", "+48600123457")
    assert result.opted_out == ("+48600123458",)


def test_only_opted_out_numbers_cannot_be_sent():
    result = validate("+48600123456", opted_out={"+48600123456"})
    assert not result.ok
    assert result.problems == ({"field": "recipients", "message": "None of the numbers can be sent to."},)


def test_all_problems_are_reported_at_once():
    result = validate("nothing here", body="", sender=None)
    assert {p["field"] for p in result.problems} == {"body", "sender", "recipients"}


@pytest.mark.parametrize("sender", ["+15005550006", "MG" + "0" * 32, "ACME Ltd"])
def test_accepted_senders(sender):
    assert validate("+48600123456", sender=sender).ok


@pytest.mark.parametrize("sender", ["12345", "MG-123!", "A very long sender name"])
def test_refused_senders_are_explained(sender):
    [problem] = validate("+48600123456", sender=sender).problems
    assert problem["field"] == "sender" and sender in problem["message"]


def test_total_segments_cost_is_per_recipient():
    result = validate("+48600123456 +48600123457", body="a" * 200)
    assert result.segments.segments == 2 and result.total_segments == 4


def test_batch_status_moves():
    check_batch_move("draft", "pending")
    check_batch_move("processing", "cancelled")
    with pytest.raises(InvalidTransition, match="A completed batch cannot become processing"):
        check_batch_move("completed", "processing")
    with pytest.raises(InvalidTransition):
        check_batch_move("cancelled", "pending")
