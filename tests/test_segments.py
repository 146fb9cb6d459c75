"""Segment counting as carriers bill it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multisms.segments import analyze


@pytest.mark.parametrize(("body", "encoding", "segments"), [
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # extension characters take two slots
    ("€" * 81, "GSM-7", 2),
    ("x" * 69 + "👋", "UCS-2", 2),  # the emoji is two UTF-16 units: 71 > 70
    ("x" * 68 + "👋", "UCS-2", 1),
    ("x" * 69 + "👋" + "y", "UCS-2", 2),
    ("ż" * 134, "UCS-2", 2),
    ("ż" * 135, "UCS-2", 3),
])
def test_encoding_and_segments(body, encoding, segments):
    info = analyze(body)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_an_escape_pair_is_not_split_across_segments():
    # 152 plain characters then '€' (2 slots) would straddle the 153-slot boundary
    assert analyze("a" * 152 + "€" + "a" * 10).segments == 2
    assert analyze("a" * 152 + "€" + "a" * 152).segments == 3


def test_the_characters_that_force_ucs2_are_named_once_each():
    assert analyze("Zażółć gęślą jaźń ’").ucs2_characters == ("ż", "ó", "ł", "ć", "ę", "ś", "ą", "ź", "ń", "’")
    assert analyze("Café à 5€ {ok}").ucs2_characters == ()


@given(st.text(max_size=1600))
def test_any_body_has_a_sane_count(body):
    info = analyze(body)
    assert info.encoding in ("GSM-7", "UCS-2")
    assert (info.segments == 0) == (body == "")
    per_segment = 67 if info.encoding == "UCS-2" else 153
    assert info.segments <= max(1, -(-info.units // (per_segment - 1)))
