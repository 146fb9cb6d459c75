"""`/multisms` grammar: what people type → a Call (the command and what it read), or a Usage that says what was
wrong."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Call, Usage, from_slack, parse
from bot.commands.optouts import OptOut
from bot.commands.registry import HELP_LINES
from bot.commands.send import SEND_EXAMPLE, Outgoing


@pytest.mark.parametrize("text, numbers, message", [
    ("send +48600123456 | Hello", "+48600123456", "Hello"),
    ("send +48600123456, +48600123457; +48600123458 | Hi", "+48600123456, +48600123457; +48600123458", "Hi"),
    ("send +48600123456\n+48600123457 | Two lines", "+48600123456\n+48600123457", "Two lines"),
    ("SEND  +48 600 123 456  |  spaced  ", "+48 600 123 456", "spaced"),
    ("send +48600123456 | a | b", "+48600123456", "a | b"),
    ("send\n+48600123456 | newline after the verb", "+48600123456", "newline after the verb"),
])
def test_send_splits_numbers_from_the_message_at_the_first_bar(text, numbers, message):
    assert parse(text) == Call("send", Outgoing(numbers=numbers, message=message))


@pytest.mark.parametrize("text, problem", [
    ("send +48600123456 Hello", "Put a `|` between the numbers and the message."),
    ("send | Hello", "Add the numbers before the `|`."),
    ("send +48600123456 |   ", "Write the message after the `|`."),
])
def test_a_send_without_its_parts_explains_what_is_missing_with_an_example(text, problem):
    assert parse(text) == Usage(problem, SEND_EXAMPLE)


@pytest.mark.parametrize("text", ["", "   ", "new", "NEW"])
def test_nothing_or_new_opens_the_form(text):
    assert parse(text) == Call("new")


@pytest.mark.parametrize("verb", ["status", "cancel", "retry", "resume", "approve"])
def test_batch_commands_take_an_id_with_or_without_hash(verb):
    assert parse(f"{verb} 12") == Call(verb, 12)
    assert parse(f"{verb} #7") == Call(verb, 7)


@pytest.mark.parametrize("text, problem", [
    ("status", "Which batch? Add its number (the # you see in the preview, e.g. 12)."),
    ("cancel twelve", "“twelve” is not a batch number (the # you see in the preview, e.g. 12)."),
])
def test_a_missing_or_wrong_batch_id_is_explained(text, problem):
    usage = parse(text)
    assert usage == Usage(problem, f"{text.split()[0]} 12")


def test_list_shows_mine_by_default_or_the_channels():
    assert parse("list") == Call("list", "mine")
    assert parse("list channel") == Call("list", "channel")
    assert parse("list everything") == Usage("`list` shows `mine` or `channel`, not “everything”.", "list channel")


def test_optout_manages_numbers_and_says_what_is_missing():
    assert parse("optout add +48 600 123 456") == Call("optout", OptOut("add", "+48 600 123 456"))
    assert parse("optout remove +48600123456") == Call("optout", OptOut("remove", "+48600123456"))
    assert parse("optout list") == Call("optout", OptOut("list"))
    assert parse("optout add") == Usage("Add the number to add.", "optout add +48600123456")
    assert isinstance(parse("optout"), Usage) and isinstance(parse("optout purge 1"), Usage)


def test_unknown_words_list_the_commands_and_numbers_first_suggest_send():
    unknown = parse("sned +48600123456 | hi")
    assert isinstance(unknown, Usage) and "I don't know “sned”" in unknown.problem and "send" in unknown.problem
    assert parse("+48600123456 | hi") == Usage("To send, start with `send`.", "send +48600123456 | hi")


def test_help_lists_every_command():
    assert parse("help") == parse("?") == Call("help")
    listed = " ".join(line for line, _ in HELP_LINES)
    for word in ("send", "new", "status", "list", "cancel", "retry", "resume", "approve", "optout add", "optout remove",
                 "optout list", "help"):
        assert word in listed


def test_slack_formatting_is_undone_before_the_bar_is_read():
    text = from_slack("send <tel:+48600123456|+48 600 123 456>, <tel:+48600123457> | Fish &amp; chips &lt;3")
    assert parse(text) == Call("send", Outgoing(numbers="+48 600 123 456, +48600123457", message="Fish & chips <3"))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=300))
def test_any_text_is_a_command_or_a_clear_usage_never_an_exception(text):
    parsed = parse(text)
    assert isinstance(parsed, Call | Usage)
    if isinstance(parsed, Usage):
        assert parsed.problem.strip() and parsed.example.strip()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("send |<>&;:tel+0123456789 ,\nabc"), max_size=120))
def test_any_text_from_slack_parses_without_an_exception(text):
    assert isinstance(parse(from_slack(text)), Call | Usage)


@settings(max_examples=200, deadline=None)
@given(numbers=st.text(alphabet="+0123456789 ,;\n", min_size=1).filter(str.strip),
       message=st.text(min_size=1).filter(str.strip))
def test_send_keeps_the_numbers_and_the_message_as_typed(numbers, message):
    parsed = parse(f"send {numbers} | {message}")
    assert parsed == Call("send", Outgoing(numbers=numbers.strip(), message=message.strip()))
