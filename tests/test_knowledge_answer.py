"""`knowledge.answer`: grounded answers, refusals, and nothing secret or invented in prompts or answers.

Real LangChain/OpenAI clients against the OpenAI stand-in.
"""

from __future__ import annotations

import json

import pytest

from knowledge.answer import HARD_LIMIT_CHARS, Answer, Handoff, answer, redact, unknown_numbers
from knowledge.index import ensure_current
from tests.kb_helpers import ANSWER, PARKING, add_document, ai_configurer

TWILIO_TOKEN_IN_DOC = "tw-auth-0123456789"


@pytest.fixture
def ai_settings(configure, openai_api, tmp_path):
    return ai_configurer(configure, openai_api, tmp_path)


def test_an_answer_carries_its_sources_and_the_prompt_sets_the_rules(ai_settings, openai_api):
    settings = ai_settings(AI_MIN_SCORE=0.3)  # the stand-in's bag-of-words vectors share only "parking" here
    document_id = add_document(settings, *PARKING)
    result = answer(settings, "Czy parking jest darmowy?")  # Polish: "is parking free?"
    assert isinstance(result, Answer) and result.text == ANSWER
    assert [(s.document_id, s.title, s.chunk) for s in result.sources] == [(document_id, "Parking", 1)]
    [request] = openai_api.chat_requests
    system = request["messages"][0]["content"]
    assert "ONLY the excerpts" in system and "language of the question" in system and "300 characters" in system
    assert "[1] Parking (part 1)" in system and request["messages"][-1]["content"] == "Czy parking jest darmowy?"


def test_secrets_never_reach_the_prompt_or_the_answer(ai_settings, openai_api):
    settings = ai_settings(TWILIO_AUTH_TOKEN=TWILIO_TOKEN_IN_DOC)
    add_document(settings, "Parking", PARKING[1] + f" Staff wifi password: hunter22. Token {TWILIO_TOKEN_IN_DOC}.")
    openai_api.reply = lambda request: ANSWER + " sk-live-abcdefghijklmnopqrstuvwxyz"
    result = answer(settings, "Is parking free? my key is sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa")
    prompt = json.dumps(openai_api.chat_requests)
    assert "hunter22" not in prompt and TWILIO_TOKEN_IN_DOC not in prompt and "sk-proj-aaaa" not in prompt
    assert "Parking is free for guests" in prompt
    assert isinstance(result, Answer) and "sk-live" not in result.text and result.text.startswith(ANSWER)


def test_a_phone_number_not_in_the_excerpts_is_a_guess_and_goes_to_a_person(ai_settings, openai_api):
    settings = ai_settings()
    add_document(settings, "Parking", PARKING[1] + " Questions: call +48 22 123 45 67.")
    openai_api.reply = lambda request: "Parking is free. Call +48 600 999 888 for a space."
    assert isinstance(answer(settings, "Is parking free?"), Handoff)
    openai_api.reply = lambda request: "Parking is free; questions: +48 22 123 45 67."
    assert isinstance(answer(settings, "Is parking free?"), Answer)


def test_a_long_or_formatted_answer_is_cut_to_two_sms_segments_as_plain_text(ai_settings, openai_api):
    settings = ai_settings()
    add_document(settings, *PARKING)
    openai_api.reply = lambda request: "**Yes.** " + "Parking is free for guests at the main entrance. " * 12
    result = answer(settings, "Is parking free?")
    assert len(result.text) <= HARD_LIMIT_CHARS and "**" not in result.text and result.text.endswith(".")


def test_an_empty_knowledge_base_or_an_unreachable_model_hands_off(ai_settings, openai_api):
    settings = ai_settings()
    assert "it is empty" in answer(settings, "Is parking free?").reason
    add_document(settings, *PARKING)
    ensure_current(settings)
    openai_api.reset()
    openai_api.rate_limit_next(3, retry_after=0.01)  # every attempt (1 + max_retries=2) is refused
    result = answer(settings, "Is parking free?")
    assert isinstance(result, Handoff) and "did not answer" in result.reason
    assert len(openai_api.embedding_requests) == 3 and openai_api.chat_requests == []


def test_redaction_and_number_checks_are_plain_functions(configure):
    settings = configure(OPENAI_API_KEY="sk-configured-key-123456")
    assert redact(settings, "key sk-configured-key-123456 and api_key=abc") == "key [redacted] and api_key=[redacted]"
    assert redact(settings, "AC" + "0" * 32) == "[redacted]"
    assert unknown_numbers("Call 600 123 456 or on 2024-05-01", ["Phone: +48 600 123 456"]) == []
    assert unknown_numbers("Call 700 123 456", ["Phone: +48 600 123 456"]) == ["700 123 456"]
