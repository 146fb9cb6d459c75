"""Pasted numbers → E.164 with a reason for every entry that is not a number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multisms.numbers import mask, parse_number, split_entries


def e164s(text: str, region: str | None = None) -> list[str | None]:
    return [entry.e164 for entry in split_entries(text, region)]


def test_numbers_written_with_spaces_dashes_and_brackets_stay_whole():
    assert e164s("+48 600 123 456, (+48) 600-123-456; +1 (202) 555-0123") == [
        "+48600123456", "+48600123456", "+12025550123"]


def test_spaces_also_separate_numbers():
    assert e164s("+48600123456 +48600123457 +48 600 123 458") == ["+48600123456", "+48600123457", "+48600123458"]
    assert e164s("600 123 456 600123457", "PL") == ["+48600123456", "+48600123457"]


def test_digit_groups_starting_with_00_inside_a_number_are_not_a_new_number():
    assert e164s("+48 600 001 234") == ["+48600001234"]


@pytest.mark.parametrize("text", ["0048600123456", "0048 600 123 456", "(0048) 600-123-456"])
def test_leading_00_is_the_international_prefix_without_any_region(text):
    assert e164s(text) == ["+48600123456"]


def test_national_numbers_need_a_default_region():
    [entry] = split_entries("600123456")
    assert entry.e164 is None
    assert entry.reason == "no country code: write it as +<country code>… or set DEFAULT_REGION"
    assert e164s("600123456", "PL") == ["+48600123456"]


def test_leftover_text_becomes_one_invalid_entry_per_gap():
    entries = split_entries("call +48600123456 or +48 600 12 tomorrow")
    assert [(e.raw, e.e164, e.reason) for e in entries] == [
        ("call", None, "not a phone number"),
        ("+48600123456", "+48600123456", None),
        ("or", None, "not a phone number"),
        ("+48 600 12", None, "too short"),
        ("tomorrow", None, "not a phone number"),
    ]


def test_letters_are_never_part_of_a_number():
    assert [(e.raw, e.e164) for e in split_entries("+48600123456abc, 1-800-FLOWERS")] == [
        ("+48600123456abc", None), ("1-800-FLOWERS", None)]


@pytest.mark.parametrize(("text", "reason"), [
    ("+999 123 456", "unknown country code"),
    ("+48 600 123 45678", "too long"),
    ("+4860012", "too short"),
    ("hello", "not a phone number"),
])
def test_reasons_say_what_is_wrong(text, reason):
    assert parse_number(text).reason == reason


def test_separators_alone_give_no_entries():
    assert split_entries(" ,;\n\n ; ") == []


def test_mask_keeps_country_and_last_digits():
    assert mask("+48600123456") == "+48••••••456"
    assert "600123" not in mask("+48600123456")


@given(st.text(max_size=200), st.sampled_from([None, "PL", "US", "GB"]))
def test_any_text_gives_entries_that_are_either_valid_or_explained(text, region):
    for entry in split_entries(text, region):
        assert (entry.e164 is None) != (entry.reason is None)
        if entry.e164:
            assert entry.e164.startswith("+") and entry.e164[1:].isdigit()
