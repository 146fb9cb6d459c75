"""Phone numbers as people paste them → E.164, with a reason for every entry that is not one.

Entries are separated by commas, semicolons or new lines; within a line, spaces separate
numbers too, but a single number may itself contain spaces, dashes or brackets
(`+48 600 123 456`, `(+48) 600-123-456`). We group space-separated tokens greedily into
the longest run that `phonenumbers` accepts as a valid number, so such numbers stay whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

_ENTRY_SEPARATORS = re.compile(r"[,;\n\r]+")
_NUMBER_CHARACTERS = re.compile(r"^[\d\s+\-().\/]+$")
"""What a written phone number may contain; letters (`1-800-FLOWERS`, `or`) never are."""
_MAX_TOKENS_PER_NUMBER = 7
"""`+48 600 123 456` is 4 tokens; national formats rarely use more than 6 groups."""
_MAX_DIGITS = 17
"""E.164 allows 15 digits; an `00` prefix adds two."""

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}


@dataclass(frozen=True)
class NumberEntry:
    """One entry of a pasted list: the text as written and either its E.164 form or why not."""

    raw: str
    e164: str | None = None
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.e164 is not None


def parse_number(text: str, default_region: str | None = None) -> NumberEntry:
    """Parse one number. A leading `00` is an international prefix; without `+`/`00`
    the number is read in `default_region`, and is invalid when there is none."""
    raw = text.strip()
    if not _NUMBER_CHARACTERS.match(raw):
        return NumberEntry(raw, reason="not a phone number")
    candidate = _international_prefix(raw)
    if not candidate.lstrip("(").startswith("+") and not default_region:
        if not any(ch.isdigit() for ch in candidate):
            return NumberEntry(raw, reason="not a phone number")
        return NumberEntry(raw, reason="no country code: write it as +<country code>… or set DEFAULT_REGION")
    try:
        number = phonenumbers.parse(candidate, default_region)
    except NumberParseException as exc:
        return NumberEntry(raw, reason=_PARSE_REASONS.get(exc.error_type, "not a phone number"))
    if not phonenumbers.is_valid_number(number):
        length = phonenumbers.is_possible_number_with_reason(number)
        region = phonenumbers.region_code_for_country_code(number.country_code)
        reason = _LENGTH_REASONS.get(length) or f"not a valid number in {region}"
        return NumberEntry(raw, reason=reason)
    return NumberEntry(raw, e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def split_entries(text: str, default_region: str | None = None) -> list[NumberEntry]:
    """Find every number in pasted text; leftover text comes back as invalid entries."""
    entries: list[NumberEntry] = []
    for line in _ENTRY_SEPARATORS.split(text):
        entries.extend(_split_line(line.split(), default_region))
    return entries


VISIBLE_DIGITS = 3
"""The last digits stay visible, so a person can still tell numbers apart."""


def mask(number: str | None) -> str:
    """`+48600123456` → `+48••••••456`: the country and the last three digits, enough to recognise a
    number, not enough to text it. The one masked format, in Slack channels, the panel and the logs."""
    written = (number or "").lstrip(" (")
    digits = "".join(ch for ch in written if ch.isdigit())
    if not digits:
        return ""
    if len(digits) <= VISIBLE_DIGITS:
        return "•" * len(digits)
    if written.startswith("00"):
        digits, written = digits[2:], "+" + written[2:]
    country = _country_code(digits) if written.startswith("+") else ""
    hidden = len(digits) - len(country) - VISIBLE_DIGITS
    if hidden < 1:
        country, hidden = "", len(digits) - VISIBLE_DIGITS
    return ("+" if country else "") + country + "•" * hidden + digits[-VISIBLE_DIGITS:]


def _country_code(digits: str) -> str:
    """The country calling code an international number starts with (1–3 digits), or ''."""
    for length in (1, 2, 3):
        if phonenumbers.region_code_for_country_code(int(digits[:length])) != phonenumbers.UNKNOWN_REGION:
            return digits[:length]
    return ""


def _split_line(tokens: list[str], default_region: str | None) -> list[NumberEntry]:
    """Valid numbers as found; the tokens between them become one invalid entry per gap."""
    entries: list[NumberEntry] = []
    leftover: list[str] = []
    start = 0
    while start < len(tokens):
        found = _longest_number_at(tokens, start, default_region)
        if found is None and not (leftover and _new_gap(leftover[-1], tokens[start])):
            leftover.append(tokens[start])
            start += 1
            continue
        if leftover:
            entries.append(parse_number(" ".join(leftover), default_region))
            leftover = []
        if found:
            entry, used = found
            entries.append(entry)
            start += used
    if leftover:
        entries.append(parse_number(" ".join(leftover), default_region))
    return entries


def _longest_number_at(tokens: list[str], start: int, region: str | None) -> tuple[NumberEntry, int] | None:
    """The longest run of tokens from `start` that forms one valid number."""
    longest = min(len(tokens) - start, _MAX_TOKENS_PER_NUMBER)
    for count in range(longest, 0, -1):
        run = tokens[start:start + count]
        if any(_starts_a_number(token) for token in run[1:]):
            continue  # a later token opens a new international number
        text = " ".join(run)
        if sum(ch.isdigit() for ch in text) > _MAX_DIGITS:
            continue
        entry = parse_number(text, region)
        if entry.valid:
            return entry, count
    return None


def _new_gap(previous: str, token: str) -> bool:
    """Words and digit groups are reported separately: `+48 600 12` and `tomorrow`."""
    numberish = bool(_NUMBER_CHARACTERS.match(token))
    return _starts_a_number(token) or numberish != bool(_NUMBER_CHARACTERS.match(previous))


def _starts_a_number(token: str) -> bool:
    """Only `+` reliably opens a new number: `00` may be a digit group (`+48 600 001 234`)."""
    return token.lstrip("(").startswith("+")


def _international_prefix(text: str) -> str:
    """`0048 600…` and `(0048) 600…` mean `+48 600…` everywhere in the world we serve."""
    stripped = text.lstrip("(")
    if stripped.startswith("00"):
        return text[: len(text) - len(stripped)] + "+" + stripped[2:]
    return text
