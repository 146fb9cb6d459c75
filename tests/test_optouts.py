"""Opt-outs: managed from Slack (or the terminal), and honoured by the next batch."""

from __future__ import annotations

import pytest

from multisms import optouts
from multisms.db import session_scope
from tests.slack_helpers import text_of

ANNA, BOB = "+48600100001", "+48600100002"


def test_add_remove_list_and_check(settings):
    with session_scope(settings.database_url) as session:
        assert optouts.add(session, ANNA, "slack") is True
        assert optouts.add(session, ANNA, "api") is False
        assert optouts.add(session, BOB, "stop_keyword") is True
    with session_scope(settings.database_url) as session:
        rows, total = optouts.list_all(session, limit=1)
        assert total == 2 and len(rows) == 1
        assert optouts.is_opted_out(session, ANNA) and not optouts.is_opted_out(session, "+48600100003")
        assert optouts.remove(session, ANNA) is True and optouts.remove(session, ANNA) is False
    with session_scope(settings.database_url) as session:
        assert [o.number for o in optouts.list_all(session, limit=10)[0]] == [BOB]


def test_an_unknown_source_is_a_programming_error(settings):
    with session_scope(settings.database_url) as session, pytest.raises(ValueError, match="unknown opt-out source"):
        optouts.add(session, ANNA, "carrier pigeon")


def test_a_number_opted_out_in_slack_is_skipped_by_the_next_preview(slack):
    added = slack.command("optout add +48 600 100 001")
    preview = slack.command(f"send {ANNA} {BOB} | Hello")

    assert added["text"] == f"{ANNA} has opted out: no batch will text it."
    assert "*1 recipient* will get this message" in text_of(preview) and "Opted out: *1*" in text_of(preview)
    assert "*Opted out, not sent*\\n`+48600100001`" in text_of(preview)


def test_optout_commands_explain_bad_numbers_and_list_what_is_there(make_slack):
    slack = make_slack(DEFAULT_REGION="PL")

    bad = slack.command("optout add 12")
    local = slack.command("optout add 600 100 002")
    listed = slack.command("optout list")
    removed = slack.command(f"optout remove {BOB}")
    missing = slack.command(f"optout remove {BOB}")

    assert "“12” is not a number I can use: too short." in bad["text"]
    assert "Example: `/multisms optout add +48600123456`" in text_of(bad)
    assert local["text"] == f"{BOB} has opted out: no batch will text it."
    assert "*Opted out: 1*" in text_of(listed) and f"`{BOB}` (slack)" in text_of(listed)
    assert removed["text"] == f"{BOB} may be texted again." and missing["text"] == f"{BOB} was not on the opt-out list."


def test_only_allowed_people_manage_opt_outs(make_slack, settings):
    slack = make_slack(MULTISMS_ALLOWED_USERS="U1")

    refused = slack.command(f"optout add {ANNA}", user="U9")

    assert "not on the list of people who may send" in refused["text"]
    with session_scope(settings.database_url) as session:
        assert optouts.list_all(session, limit=10)[1] == 0
