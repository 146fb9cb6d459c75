"""AI replies to inbound texts, end to end: Twilio webhook → worker → OpenAI stand-in → SMS + Slack thread.

The real openai/langchain clients talk to the OpenAI stand-in over HTTP; nothing is mocked.
"""

from __future__ import annotations

import json

import pytest

from bot.blocks.knowledge import RESUME_AI
from multisms import knowledge
from multisms.db import session_scope
from multisms.models import Conversation, KnowledgeGap
from tests.kb_helpers import ANSWER, PARKING, REFUNDS, add_document, ai_env, grounded_model
from tests.slack_helpers import SlackWorkspace, button_values, event_body, post_event
from tests.test_conversations import NUMBER, conversation_thread, inbound

MASKED = "+48••••••000"


@pytest.fixture
def team(slack_settings, openai_api, tmp_path, slack_api):
    """AI mode on, an inbox channel, two documents; returns (settings, Flask client)."""
    from webhooks.app import create_app

    openai_api.reply = grounded_model

    def build(**extra):
        settings = slack_settings(SLACK_INBOX_CHANNEL="CINBOX", AUTO_REPLY_MODE="ai",
                                  **ai_env(openai_api, tmp_path, **extra))
        add_document(settings, *PARKING)
        add_document(settings, *REFUNDS)
        return settings, create_app(settings).test_client()

    return build


def thread_posts(slack_api, thread: str) -> list[dict]:
    return [c for c in slack_api.calls("chat.postMessage") if c.get("thread_ts") == thread]


def sms_bodies(twilio_api) -> list[str]:
    return [m["body"] for m in twilio_api.messages if m["to"] == NUMBER]


def test_a_question_the_knowledge_base_answers_gets_an_sms_built_from_the_chunk_and_sources_in_the_thread(
        team, twilio_api, slack_api, openai_api, run_jobs):
    settings, client = team()
    inbound(client, twilio_api, "Is parking free?")
    run_jobs()

    assert sms_bodies(twilio_api) == [ANSWER]
    [request] = openai_api.chat_requests
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    assert PARKING[1] in system and "NO_ANSWER" in system  # the retrieved chunk, and the way out
    assert user == "Is parking free?"
    assert request["model"] == settings.openai_model
    assert NUMBER not in json.dumps(openai_api.chat_requests + openai_api.embedding_requests)  # nobody's data
    posts = thread_posts(slack_api, conversation_thread(slack_api))
    [answer_post] = [p for p in posts if p["text"].startswith("AI answer")]
    shown = json.dumps(answer_post["blocks"], ensure_ascii=False)
    assert ANSWER in shown and "Sources: *Parking* (#1, part 1" in shown
    assert NUMBER not in json.dumps(slack_api.calls()) and MASKED in answer_post["text"]


def test_a_question_with_nothing_relevant_is_handed_to_a_person_without_asking_the_model(
        team, twilio_api, slack_api, openai_api, run_jobs):
    settings, client = team()
    inbound(client, twilio_api, "What is the capital of France?")
    run_jobs()

    assert sms_bodies(twilio_api) == []
    assert openai_api.chat_requests == []  # weak retrieval: no guessing
    [handoff] = [p for p in thread_posts(slack_api, conversation_thread(slack_api)) if "Needs a human" in p["text"]]
    shown = json.dumps(handoff["blocks"], ensure_ascii=False)
    assert "What is the capital of France?" in shown and "nothing relevant in the knowledge base" in shown
    assert RESUME_AI in button_values(handoff)
    with session_scope(settings.database_url) as session:
        [gap] = knowledge.list_gaps(session, 10)[0]
        assert (gap.question, gap.source) == ("What is the capital of France?", "sms")


def test_when_the_model_finds_no_answer_in_the_excerpts_a_person_is_asked_and_the_holding_reply_goes_out(
        team, twilio_api, slack_api, openai_api, run_jobs):
    settings, client = team(AI_HOLDING_REPLY="Thanks! A colleague will answer shortly.")
    openai_api.reply = lambda request: "NO_ANSWER"
    inbound(client, twilio_api, "Is parking free for buses?")
    run_jobs()

    assert len(openai_api.chat_requests) == 1
    assert sms_bodies(twilio_api) == ["Thanks! A colleague will answer shortly."]
    [handoff] = [p for p in thread_posts(slack_api, conversation_thread(slack_api)) if "Needs a human" in p["text"]]
    assert "does not answer this" in json.dumps(handoff["blocks"]) and "Holding reply sent" in json.dumps(
        handoff["blocks"])


def test_stop_and_help_never_reach_the_ai_and_an_opted_out_number_gets_no_answer(
        team, twilio_api, openai_api, run_jobs):
    _, client = team()
    inbound(client, twilio_api, "HELP")
    inbound(client, twilio_api, "STOP")
    run_jobs()
    inbound(client, twilio_api, "Is parking free?")  # opted out now
    run_jobs()

    assert openai_api.chat_requests == [] and openai_api.embedding_requests == []
    assert sms_bodies(twilio_api) == []


def test_a_persons_reply_in_the_thread_pauses_the_ai_until_resume_ai_is_clicked(
        team, twilio_api, slack_api, openai_api, run_jobs, redis_conn):
    settings, client = team()
    inbound(client, twilio_api, "Is parking free?")
    run_jobs()
    thread = conversation_thread(slack_api)
    slack_api.add_message("CINBOX", "I'll take it from here", user="UPERSON", thread_ts=thread, ts="1700000300.000001")
    assert post_event(client, event_body("I'll take it from here", channel="CINBOX", thread_ts=thread,
                                         ts="1700000300.000001")).status_code == 200
    _wait_for_queue(redis_conn)
    run_jobs()
    with session_scope(settings.database_url) as session:
        conversation = session.query(Conversation).filter_by(number=NUMBER).one()
        assert conversation.ai_paused
        conversation_id = conversation.id
    [paused_note] = [p for p in thread_posts(slack_api, thread) if "AI replies are paused" in p["text"]]
    assert button_values(paused_note) == {RESUME_AI: str(conversation_id)}

    inbound(client, twilio_api, "And is parking free on Sunday?")
    run_jobs()
    assert len(openai_api.chat_requests) == 1  # paused: the AI was not asked again
    assert sms_bodies(twilio_api) == [ANSWER, "I'll take it from here"]

    answer = SlackWorkspace(client, slack_api).click(RESUME_AI, conversation_id, channel="CINBOX", ephemeral=False)
    assert f"AI replies are back on for {MASKED}" in answer["text"]
    inbound(client, twilio_api, "Is parking free for guests?")
    run_jobs()
    assert len(openai_api.chat_requests) == 2 and sms_bodies(twilio_api)[-1] == ANSWER


def test_at_most_n_ai_replies_per_number_and_no_answer_to_an_echo_of_our_own_reply(
        team, twilio_api, slack_api, openai_api, run_jobs, redis_conn):
    _, client = team(AI_MAX_REPLIES=2)
    for question in ("Is parking free?", "Is parking free at night?", "Is parking free for guests?"):
        inbound(client, twilio_api, question)
        run_jobs()
    assert sms_bodies(twilio_api) == [ANSWER, ANSWER]
    notes = [p for p in thread_posts(slack_api, conversation_thread(slack_api)) if "Needs a human" in p["text"]]
    assert len(notes) == 1 and "already got 2 AI replies" in json.dumps(notes[0]["blocks"])

    asked = len(openai_api.chat_requests)
    redis_conn.delete(f"multisms:ai-replies:{NUMBER}")  # a new window would allow an answer…
    inbound(client, twilio_api, ANSWER)  # …but our own answer coming back is another bot talking
    run_jobs()
    assert len(openai_api.chat_requests) == asked and sms_bodies(twilio_api) == [ANSWER, ANSWER]


def test_ai_mode_without_an_openai_key_hands_every_question_to_a_person(
        slack_settings, twilio_api, slack_api, openai_api, run_jobs, tmp_path):
    from webhooks.app import create_app

    settings = slack_settings(SLACK_INBOX_CHANNEL="CINBOX", AUTO_REPLY_MODE="ai", KNOWLEDGE_DIR=str(tmp_path))
    inbound(create_app(settings).test_client(), twilio_api, "Is parking free?")
    run_jobs()
    assert sms_bodies(twilio_api) == [] and openai_api.chat_requests == []
    [handoff] = [p for p in slack_api.calls("chat.postMessage") if "Needs a human" in p["text"]]
    assert "OPENAI_API_KEY" in json.dumps(handoff["blocks"])
    with session_scope(settings.database_url) as session:
        assert session.query(KnowledgeGap).count() == 0  # a missing key is not a gap in the knowledge


def test_two_texts_in_a_row_get_one_answer_to_the_latest(team, twilio_api, openai_api, run_jobs):
    _, client = team()
    inbound(client, twilio_api, "Hello!")
    inbound(client, twilio_api, "Is parking free?")
    run_jobs()  # two answer jobs were queued, one per text
    assert sms_bodies(twilio_api) == [ANSWER] and len(openai_api.chat_requests) == 1


def _wait_for_queue(redis_conn) -> None:
    from tests.slack_helpers import eventually

    eventually(lambda: redis_conn.llen("rq:queue:default") >= 1, what="the thread reply to be queued")
