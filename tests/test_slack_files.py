"""A Slack file added to the knowledge base is fetched from Slack's file host only, and its size
limit holds while it downloads: the bot token never goes where a link happens to point."""

from __future__ import annotations

from jobs.knowledge import add_slack_file
from knowledge.documents import MAX_FILE_BYTES
from multisms import knowledge
from multisms.config import get_settings
from multisms.db import session_scope
from standins import TwilioStandIn
from tests.kb_helpers import ai_env, grounded_model


def documents(settings) -> list:
    with session_scope(settings.database_url) as session:
        return knowledge.list_documents(session, 5)[0]


def test_a_download_link_to_another_host_is_not_followed_with_the_token(make_slack, slack_api, openai_api, tmp_path):
    openai_api.reply = grounded_model
    elsewhere = TwilioStandIn().start()  # any server that records what reaches it
    try:
        make_slack(**ai_env(openai_api, tmp_path))
        slack_api.add_file("F0EVIL123", "notes.md", b"# Notes", "text/markdown",
                           download_url=f"{elsewhere.base_url}/steal/notes.md")
        result = add_slack_file("F0EVIL123", "slack:U1", "U1", "C1")
        assert elsewhere.requests == []  # not even a connection carrying the token
    finally:
        elsewhere.stop()
    assert "somewhere other than Slack's file host" in result["text"]
    assert documents(get_settings()) == []


def test_a_file_over_the_limit_is_refused_while_it_downloads(make_slack, slack_api, openai_api, tmp_path):
    openai_api.reply = grounded_model
    make_slack(**ai_env(openai_api, tmp_path))
    slack_api.add_file("F0BIG1234", "huge.txt", b"a" * (MAX_FILE_BYTES + 1), "text/plain")
    result = add_slack_file("F0BIG1234", "slack:U1", "U1", "C1")
    assert "is over 10 MB" in result["text"]
    assert documents(get_settings()) == []
