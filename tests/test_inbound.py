"""Inbound SMS through the signed webhook: keywords, opt-outs enforced everywhere, idempotency."""

from __future__ import annotations

import pytest

from multisms.db import session_scope
from multisms.models import Message, OptOut
from tests.send_helpers import create_batch, numbers, post_signed, statuses

NUMBER = "+48600100000"


def inbound(client, twilio_api, body: str, *, sender: str = NUMBER, sid: str | None = None, headers=None):
    form = twilio_api.inbound_form(sender, "+15005550006", body, sid=sid)
    return post_signed(client, twilio_api, "/twilio/inbound", form, headers=headers)


def stored_inbound(settings) -> list[Message]:
    with session_scope(settings.database_url) as session:
        return session.query(Message).filter_by(direction="inbound").all()


def test_stop_then_a_batch_with_that_number_does_not_reach_it_and_start_restores_it(
        settings, client, twilio_api, run_jobs):
    assert inbound(client, twilio_api, " Stop ").status_code == 200
    with session_scope(settings.database_url) as session:
        assert session.get(OptOut, NUMBER).source == "stop_keyword"
    batch_id = create_batch(settings, [NUMBER, numbers(1, start=1)[0]])
    run_jobs()
    assert twilio_api.sent_to(NUMBER) == 0
    assert statuses(settings, batch_id)[NUMBER] == "opted_out"

    assert inbound(client, twilio_api, "START").status_code == 200
    create_batch(settings, [NUMBER])
    run_jobs()
    assert twilio_api.sent_to(NUMBER) == 1


def test_stop_arriving_after_the_batch_was_created_is_still_honoured(settings, client, twilio_api, run_jobs):
    batch_id = create_batch(settings, [NUMBER, numbers(1, start=1)[0]], queue=True)
    assert statuses(settings, batch_id)[NUMBER] == "pending"
    inbound(client, twilio_api, "unsubscribe")
    run_jobs()
    assert twilio_api.sent_to(NUMBER) == 0
    assert statuses(settings, batch_id)[NUMBER] == "opted_out"


@pytest.mark.parametrize("body", ["HELP", "info", " Help. "])
def test_help_gets_the_help_text(settings, client, twilio_api, body):
    response = inbound(client, twilio_api, body)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "Reply STOP to opt out" in response.get_data(as_text=True)


def test_an_ordinary_message_gets_empty_twiml(client, twilio_api):
    response = inbound(client, twilio_api, "Can I bring a friend?")
    assert response.get_data(as_text=True).strip().endswith("<Response />")


def test_the_same_message_sid_twice_is_stored_once(settings, client, twilio_api, redis_conn):
    first = inbound(client, twilio_api, "Hello", sid="SM" + "1" * 32)
    again = inbound(client, twilio_api, "Hello", sid="SM" + "1" * 32)
    assert first.status_code == again.status_code == 200
    assert len(stored_inbound(settings)) == 1
    assert redis_conn.llen("rq:queue:default") == 1  # handled (and posted to Slack) once


@pytest.mark.parametrize("signature", [None, "Zm9yZ2Vk"])
def test_forged_or_missing_signature_is_refused_and_nothing_stored(settings, client, twilio_api, signature):
    form = twilio_api.inbound_form(NUMBER, "+15005550006", "STOP")
    headers = {"X-Twilio-Signature": signature} if signature else {}
    assert client.post("/twilio/inbound", data=form, headers=headers).status_code == 403
    assert stored_inbound(settings) == []
    with session_scope(settings.database_url) as session:
        assert session.get(OptOut, NUMBER) is None


def test_behind_a_tls_proxy_a_valid_signature_passes(configure, make_client, twilio_api, settings):
    configure(PUBLIC_BASE_URL="https://sms.example.com")
    client = make_client()
    form = twilio_api.inbound_form(NUMBER, "+15005550006", "Hi there")
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.com"}
    assert post_signed(client, twilio_api, "/twilio/inbound", form, base="http://localhost",
                       headers=proxied).status_code == 403
    assert post_signed(client, twilio_api, "/twilio/inbound", form, base="https://sms.example.com",
                       headers=proxied).status_code == 200
    assert len(stored_inbound(settings)) == 1


def test_without_public_base_url_the_twilio_webhooks_refuse_and_say_why(configure, make_client, twilio_api, caplog):
    configure(PUBLIC_BASE_URL=None)
    client = make_client()
    assert "PUBLIC_BASE_URL" in caplog.text  # said once, at start-up
    form = twilio_api.inbound_form(NUMBER, "+15005550006", "Hi there")
    forged_host = {"Host": "attacker.example"}  # a signature over a URL the caller chose proves nothing
    for path in ("/twilio/inbound", "/twilio/status"):
        answer = post_signed(client, twilio_api, path, form, base="http://attacker.example", headers=forged_host)
        assert answer.status_code == 503 and "PUBLIC_BASE_URL" in answer.get_data(as_text=True)
    health = client.get("/api/health")
    assert health.status_code == 503 and "twilio_webhooks" in health.json["failing"]
    assert "PUBLIC_BASE_URL" in health.json["checks"]["twilio_webhooks"]["error"]


def test_opt_outs_are_listed_and_exported_over_the_api(client, twilio_api, auth):
    inbound(client, twilio_api, "STOP")
    inbound(client, twilio_api, "quit", sender="+48600100001")
    listed = client.get("/api/opt-outs", headers=auth).json
    assert {item["number"] for item in listed["items"]} == {NUMBER, "+48600100001"}
    assert {item["source"] for item in listed["items"]} == {"stop_keyword"}
    exported = client.get("/api/opt-outs?format=csv", headers=auth)
    assert exported.mimetype == "text/csv"
    assert exported.get_data(as_text=True).splitlines()[0] == "number,since,source"
    assert NUMBER in exported.get_data(as_text=True)
    assert client.get("/api/opt-outs").status_code == 401
