"""Each person gets their own text, and the preview refuses until every text can be written."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multisms.contacts_csv import read_contacts_csv
from multisms.errors import MissingFieldValue, TemplateSyntaxError
from multisms.personalize import Placeholder, Recipient, parse_template, preview

ANNA, PIOTR, OLA, PASTED = "+48600123456", "+48600123457", "+48600123458", "+48600999111"


def bodies(result) -> dict[str, str]:
    return {text.e164: text.body for text in result.texts}


def test_a_polish_greeting_uses_each_persons_name_from_the_csv_and_nothing_for_pasted_numbers():
    imported = read_contacts_csv(
        "Telefon;Imię\n+48600123456;Łucja\n+48600123457;Żaneta\n".encode("cp1250"), default_region="PL")
    recipients = [Recipient(contact.e164, contact.fields) for contact in imported.contacts] + [Recipient(PASTED)]

    result = preview("Cześć {imię|}!", recipients, imported.field_names)

    assert result.ok
    assert bodies(result) == {ANNA: "Cześć Łucja!", PIOTR: "Cześć Żaneta!", PASTED: "Cześć !"}


def test_fields_match_whatever_the_case_or_unicode_spelling_of_the_header():
    decomposed = unicodedata.normalize("NFD", "Imię")  # how macOS may write the header
    recipients = [Recipient(ANNA, {decomposed: "Anna", "Plate": "WA 123"})]

    result = preview("{IMIĘ}, your plate {plate} is ready", recipients)

    assert bodies(result) == {ANNA: "Anna, your plate WA 123 is ready"}


def test_the_fallback_is_used_for_numbers_without_a_contact_and_for_empty_values():
    recipients = [Recipient(ANNA, {"name": "Anna"}), Recipient(PIOTR, {"name": "  "}), Recipient(PASTED)]

    result = preview("Hi {name|there}", recipients, ["name"])

    assert bodies(result) == {ANNA: "Hi Anna", PIOTR: "Hi there", PASTED: "Hi there"}


def test_an_unknown_placeholder_is_refused_and_named_even_with_a_fallback():
    recipients = [Recipient(ANNA, {"Name": "Anna", "Plate": "WA1"})]

    result = preview("Hi {nmae|there}, plate {plate}, {shift}", recipients, ["Name", "Plate", "Team"])

    assert not result.ok
    assert [(p.kind, p.placeholder) for p in result.problems] == [("unknown_field", "nmae"), ("unknown_field", "shift")]
    assert result.problems[0].message == "Unknown field {nmae}: no contact or CSV column has it. Did you mean {Name}?"
    assert result.problems[1].message == (
        "Unknown field {shift}: no contact or CSV column has it. Fields you can use: Name, Plate, Team.")


def test_a_missing_value_without_fallback_names_the_field_and_some_masked_numbers():
    recipients = [Recipient(ANNA, {"plate": "WA1"}), Recipient(PIOTR, {"plate": ""}), Recipient(OLA, {}),
                  Recipient(PASTED), Recipient("+48600999112")]

    result = preview("Your plate {Plate} is ready", recipients, ["plate"])

    assert not result.ok
    [problem] = result.problems
    assert (problem.kind, problem.placeholder, problem.count) == ("missing_value", "Plate", 4)
    assert problem.numbers == ("+48••••••457", "+48••••••458", "+48••••••111")
    assert problem.message == (
        "{Plate} has no value for 4 recipients (+48••••••457, +48••••••458, +48••••••111, …; "
        "2 of them are numbers without a contact): fill it in, or add a fallback like {Plate|…}.")
    assert PIOTR not in problem.message
    assert bodies(result) == {ANNA: "Your plate WA1 is ready"}


def test_double_braces_write_literal_braces():
    result = preview("Use code {{VIP}} at the {{door}}, {name}", [Recipient(ANNA, {"name": "Anna"})])

    assert bodies(result) == {ANNA: "Use code {VIP} at the {door}, Anna"}


@pytest.mark.parametrize(("text", "position", "message"), [
    ("Hi {name", 3, "'{' at character 4 near \"Hi {name\" is not closed"),
    ("Hi name}", 7, "'}' at character 8 near \"Hi name}\" has no opening '{'"),
    ("Hi {}", 3, "Empty field at character 4"),
    ("Hi {na{me}", 3, "'{' at character 4"),
    ("{{a}", 3, "'}' at character 4"),
])
def test_a_stray_brace_is_an_error_naming_its_position(text, position, message):
    with pytest.raises(TemplateSyntaxError) as error:
        parse_template(text)

    assert error.value.position == position
    assert str(error.value).startswith(message)
    result = preview(text, [Recipient(ANNA)])
    assert not result.ok and result.texts == ()
    assert [(p.kind, p.position) for p in result.problems] == [("syntax", position)]


def test_an_emoji_in_one_persons_field_switches_only_their_text_to_ucs2():
    recipients = [Recipient(ANNA, {"name": "Anna"}), Recipient(PIOTR, {"name": "Piotr 🚚"})]

    result = preview("Hi {name}, your delivery leaves at 9:00. Reply STOP to opt out.", recipients)

    by_number = {text.e164: text.segments for text in result.texts}
    assert (by_number[ANNA].encoding, by_number[ANNA].segments) == ("GSM-7", 1)
    assert (by_number[PIOTR].encoding, by_number[PIOTR].segments) == ("UCS-2", 1)
    assert by_number[PIOTR].ucs2_characters == ("🚚",)
    assert result.encodings == {"GSM-7": 1, "UCS-2": 1}


def test_the_preview_shows_an_example_the_longest_text_and_segments_in_all():
    recipients = [Recipient(ANNA, {"note": "short"}), Recipient(PIOTR, {"note": "x" * 200}),
                  Recipient(OLA, {"note": "y" * 200})]

    result = preview("Note: {note}", recipients).to_dict()

    assert result["example"]["body"] == "Note: short"
    assert result["example"]["number"] == "+48••••••456"
    assert (result["longest"]["number"], result["longest"]["characters"]) == ("+48••••••457", 206)
    assert result["total_segments"] == 1 + 2 + 2
    assert (result["ok"], result["personalized"]) == (True, True)


def test_the_1600_character_limit_applies_to_each_persons_own_text():
    recipients = [Recipient(ANNA, {"note": "fine"}), Recipient(PIOTR, {"note": "x" * 1600})]

    result = preview("Note: {note}", recipients)

    [problem] = result.problems
    assert (problem.kind, problem.count, problem.numbers) == ("too_long", 1, ("+48••••••457",))
    assert problem.message == ("1 recipient (+48••••••457) would get more than 1600 characters (up to 1606): "
                               "shorten the text or the field values.")


def test_a_text_that_would_be_empty_for_someone_is_refused():
    result = preview("{name|}", [Recipient(ANNA, {"name": "Anna"}), Recipient(PASTED)], ["name"])

    assert [(p.kind, p.numbers) for p in result.problems] == [("empty_text", ("+48••••••111",))]


def test_a_plain_text_is_the_same_for_everyone():
    recipients = [Recipient(ANNA), Recipient(PIOTR, {"name": "Piotr"})]

    result = preview("Office closed today 😷", recipients)

    assert result.ok and not result.to_dict()["personalized"]
    assert bodies(result) == {ANNA: "Office closed today 😷", PIOTR: "Office closed today 😷"}
    assert result.encodings == {"UCS-2": 2}
    assert result.total_segments == 2


def test_rendering_for_sending_refuses_a_value_the_preview_would_have_caught():
    template = parse_template("Hi {name}")

    assert template.render({"NAME": "Anna"}) == "Hi Anna"
    with pytest.raises(MissingFieldValue, match=r"No value for \{name\}"):
        template.render(None)


FIELD_NAMES = st.text(st.characters(blacklist_characters="{}|", blacklist_categories=("Cs",)), min_size=1,
                      max_size=12).map(str.strip).filter(bool)
FALLBACKS = st.none() | st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=12)
PLACEHOLDERS = st.builds(lambda field, fallback: Placeholder(field, fallback, 0), FIELD_NAMES, FALLBACKS)
LITERALS = st.text(max_size=15).filter(bool)


def escape(literal: str) -> str:
    return literal.replace("{", "{{").replace("}", "}}")


def write(part) -> str:
    if isinstance(part, str):
        return escape(part)
    return "{" + part.field + ("" if part.fallback is None else "|" + part.fallback) + "}"


@given(st.text())
def test_any_text_with_its_braces_doubled_renders_back_to_itself(text):
    assert parse_template(escape(text)).render(None) == text


@given(st.lists(LITERALS | PLACEHOLDERS, max_size=8))
def test_written_templates_parse_back_to_the_same_parts(parts):
    merged: list = []
    for part in parts:  # adjacent literals are one literal once written
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)

    parsed = parse_template("".join(write(part) for part in merged))

    assert [(p.field, p.fallback) if isinstance(p, Placeholder) else p for p in parsed.parts] == [
        (p.field, p.fallback) if isinstance(p, Placeholder) else p for p in merged]


@given(st.text(alphabet=st.sampled_from("ab |{}"), max_size=30))
def test_any_text_parses_or_names_a_brace_and_never_crashes(text):
    try:
        template = parse_template(text)
    except TemplateSyntaxError as error:
        assert text[error.position] in "{}"
    else:
        assert all(isinstance(part, str) or part.field for part in template.parts)
        result = preview(text, [Recipient(ANNA, {"a": "A"})], ["a", "b", "ab"])
        assert result.texts or result.problems
        assert all(problem.message for problem in result.problems)
