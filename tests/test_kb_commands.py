"""`/multisms kb …` and `/multisms ask` in Slack (signed requests, the Slack and OpenAI stand-ins, a worker)."""

from __future__ import annotations

import json

import pytest

from bot.commands import Call, Usage, parse, run
from bot.commands.knowledge import KbRequest
from bot.context import Bot, Caller
from multisms import knowledge
from multisms.db import session_scope
from tests.kb_helpers import ANSWER, PARKING, add_document, ai_env, grounded_model
from tests.slack_helpers import eventually, text_of


@pytest.fixture
def kb_slack(make_slack, openai_api, tmp_path):
    openai_api.reply = grounded_model

    def build(**extra):
        return make_slack(**{**ai_env(openai_api, tmp_path), **extra})

    return build


def ephemerals(slack_api) -> list[dict]:
    return slack_api.calls("chat.postEphemeral")


@pytest.mark.parametrize(("text", "expected"), [
    ("kb add Parking is free", Call("kb", KbRequest("add", text="Parking is free"))),
    ("kb add https://team.slack.com/files/U0AB12/F0AB12CD/faq.pdf", Call("kb", KbRequest("add", file_id="F0AB12CD"))),
    ("kb add F0AB12CD", Call("kb", KbRequest("add", file_id="F0AB12CD"))),
    ("kb add FREEPARKING", Call("kb", KbRequest("add", text="FREEPARKING"))),
    ("kb remove #3", Call("kb", KbRequest("remove", document_id=3))),
    ("kb search parking", Call("kb", KbRequest("search", text="parking"))),
    ("KB Gaps", Call("kb", KbRequest("gaps"))),
    ("ask Is parking free?", Call("ask", "Is parking free?")),
])
def test_kb_and_ask_are_understood(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "hint"), [("kb", "Say what to do"), ("kb remove x", "Which document"),
                                            ("kb add", "Add the text"), ("ask", "What would you like to ask")])
def test_incomplete_kb_commands_say_what_is_missing(text, hint):
    parsed = parse(text)
    assert isinstance(parsed, Usage) and hint in parsed.problem


def test_a_note_added_in_slack_is_indexed_listed_and_removed(kb_slack, slack_api, openai_api, run_jobs):
    slack = kb_slack()
    added = slack.command("kb add Parking is free for guests at the main entrance.", channel="CKB")
    assert "Added #1 “Parking is free for guests at the main entrance.”" in added["text"]
    run_jobs()  # the incremental rebuild
    [done] = ephemerals(slack_api)
    assert (done["channel"], done["user"]) == ("CKB", "U1") and "1 document(s) indexed (1 chunks)" in done["text"]
    assert "1 chunk" in text_of(slack.command("kb list"))

    removed = slack.command("kb remove 1")
    assert "Removed #1" in removed["text"]
    run_jobs()
    assert "1 removed" in ephemerals(slack_api)[-1]["text"]
    assert "empty" in text_of(slack.command("kb list"))
    assert "There is no knowledge document #1" in text_of(slack.command("kb remove 1"))


def test_a_slack_file_is_downloaded_with_the_bot_token_and_added(kb_slack, slack_api, run_jobs, settings):
    slack = kb_slack()
    slack_api.add_file("F0FAQ123", "hours.md", b"# Opening hours\n\nWe open at 9 and close at 17.", "text/markdown")
    answer = slack.command(f"kb add <{slack_api.root_url}/files-pri/T1-F0FAQ123/hours.md>")
    assert "Fetching the file" in answer["text"]
    run_jobs()
    notes = [call["text"] for call in ephemerals(slack_api)]
    assert notes[0] == "Added “hours.md” as #1." and "1 document(s) indexed" in notes[1]
    with session_scope(settings.database_url) as session:
        [document] = knowledge.list_documents(session, 5)[0]
        assert (document.source, document.source_ref) == ("slack_file", "F0FAQ123")
        assert "We open at 9 and close at 17." in document.text

    slack.command("kb add F0NOPE999")
    run_jobs()
    assert "can't open Slack file F0NOPE999 (file_not_found)" in ephemerals(slack_api)[-1]["text"]


def test_ask_answers_only_the_asker_with_sources_and_unanswered_questions_become_gaps(
        kb_slack, slack_api, run_jobs, settings):
    slack = kb_slack()
    add_document(settings, *PARKING)
    assert "Looking that up" in slack.command("ask Is parking free?", channel="CKB")["text"]
    run_jobs()
    [reply] = ephemerals(slack_api)
    assert reply["user"] == "U1" and ANSWER in text_of(reply) and "Sources: *Parking* (#1, part 1" in text_of(reply)

    slack.command("ask What is the capital of France?")
    run_jobs()
    assert "can't answer that" in ephemerals(slack_api)[-1]["text"]
    gaps = text_of(slack.command("kb gaps"))
    assert "What is the capital of France?" in gaps and "Slack" in gaps


def test_kb_search_shows_the_excerpts_with_scores(kb_slack, slack_api, run_jobs, settings):
    slack = kb_slack()
    add_document(settings, *PARKING)
    slack.command("kb search free parking")
    run_jobs()
    [reply] = ephemerals(slack_api)
    shown = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "Parking is free for guests" in shown and "(#1, part 1)" in shown
    assert any(block["text"]["text"].startswith("*0.") for block in reply["blocks"][1:])


def test_without_an_openai_key_ask_and_search_say_so_and_the_rest_works(kb_slack, slack_api, run_jobs):
    slack = kb_slack(OPENAI_API_KEY=None)
    for command in ("ask Is parking free?", "kb search parking"):
        assert "set OPENAI_API_KEY" in slack.command(command)["text"]
    added = slack.command("kb add Parking is free.")
    assert "Added #1" in added["text"] and "indexed once a key is set" in added["text"]
    assert "indexing…" in text_of(slack.command("kb list"))


def test_only_allowed_people_change_read_or_ask_the_knowledge_base(kb_slack, redis_conn):
    slack = kb_slack(MULTISMS_ALLOWED_USERS="U2")
    assert "not on the list of people who may send" in slack.command("kb add Parking is free.", user="U1")["text"]
    for line in ("ask Is parking free?", "kb search parking", "kb list", "kb gaps"):
        assert "not on the list of people who may read" in slack.command(line, user="U1")["text"], line
    assert redis_conn.llen("rq:queue:ai") == 0  # no model call was spent on them
    assert "Looking that up" in slack.command("ask Is parking free?", user="U2")["text"]


def test_the_terminal_chat_lists_the_knowledge_base_and_needs_a_worker_to_ask(openai_api, tmp_path, configure):
    settings = configure(**ai_env(openai_api, tmp_path))
    add_document(settings, *PARKING)
    bot, shell = Bot(settings, prefix=""), Caller.shell(settings)
    assert "#1" in text_of({"blocks": run(bot, shell, parse("kb list")).blocks})
    assert "No worker is running" in run(bot, shell, parse("ask Is parking free?")).text


def test_help_lists_the_knowledge_commands(kb_slack):
    shown = text_of(kb_slack().command("help"))
    for usage in ("kb add", "kb list", "kb remove", "kb search", "kb gaps", "ask"):
        assert f"/multisms {usage}" in shown


def test_ask_is_answered_by_the_worker_not_inside_the_slack_request(kb_slack, slack_api, run_jobs, settings):
    """Bolt acks first; the ephemeral answer comes from the worker, not from the request thread."""
    slack = kb_slack()
    add_document(settings, *PARKING)
    slack.command("ask Is parking free?")
    assert ephemerals(slack_api) == []  # nothing answered before a worker ran
    run_jobs()
    eventually(lambda: ephemerals(slack_api), what="the worker's answer")
