"""`POST /twilio/status`: signed, forward-only, idempotent."""

from __future__ import annotations

from multisms.db import session_scope
from multisms.models import Message
from standins.signing import sign
from tests.send_helpers import create_batch, numbers, post_signed, recipient


def sent_batch(settings, run_jobs, twilio_api, count=1):
    batch_id = create_batch(settings, numbers(count))
    run_jobs()
    return batch_id, twilio_api.messages[0]


def message_status(settings, sid: str) -> str:
    with session_scope(settings.database_url) as session:
        return session.query(Message).filter_by(sid=sid).one().status


def test_delivered_then_a_late_sent_stays_delivered(settings, run_jobs, twilio_api, client):
    batch_id, message = sent_batch(settings, run_jobs, twilio_api)
    for status in ("delivered", "sent", "queued"):
        response = post_signed(client, twilio_api, "/twilio/status", twilio_api.status_callback_form(message, status))
        assert response.status_code == 204
    assert recipient(settings, batch_id, message["to"]).status == "delivered"
    assert message_status(settings, message["sid"]) == "delivered"


def test_duplicate_callbacks_change_nothing(settings, run_jobs, twilio_api, client, auth):
    batch_id, message = sent_batch(settings, run_jobs, twilio_api)
    form = twilio_api.status_callback_form(message, "undelivered", error_code="30003")
    for _ in range(3):
        assert post_signed(client, twilio_api, "/twilio/status", form).status_code == 204
    failed = recipient(settings, batch_id, message["to"])
    assert (failed.status, failed.error_code, failed.error_message) == ("undelivered", 30003, "unreachable handset")
    batch = client.get(f"/api/multi-sms/batches/{batch_id}", headers=auth).json["batch"]
    assert (batch["failure_count"], batch["success_count"], batch["pending_count"]) == (1, 0, 0)


def test_a_forged_signature_is_refused_and_changes_nothing(settings, run_jobs, twilio_api, client):
    batch_id, message = sent_batch(settings, run_jobs, twilio_api)
    form = twilio_api.status_callback_form(message, "failed", error_code="30008")
    signed_for_failed = sign(twilio_api.auth_token, "http://localhost/twilio/status", form)
    attempts = [
        client.post("/twilio/status", data=form),
        client.post("/twilio/status", data=form, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}),
        client.post("/twilio/status", data={**form, "MessageStatus": "undelivered"},
                    headers={"X-Twilio-Signature": signed_for_failed}),
    ]
    assert [response.status_code for response in attempts] == [403, 403, 403]
    assert recipient(settings, batch_id, message["to"]).status == "queued"
    assert message_status(settings, message["sid"]) == "queued"


def test_signature_is_checked_against_the_public_url_behind_a_proxy(configure, run_jobs, twilio_api, make_client):
    settings = configure(PUBLIC_BASE_URL="https://sms.example.com")
    client = make_client()
    batch_id, message = sent_batch(settings, run_jobs, twilio_api)
    form = twilio_api.status_callback_form(message, "delivered")
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.com"}
    wrong_base = post_signed(client, twilio_api, "/twilio/status", form, base="http://localhost", headers=proxied)
    assert wrong_base.status_code == 403
    right = post_signed(client, twilio_api, "/twilio/status", form, base="https://sms.example.com", headers=proxied)
    assert right.status_code == 204
    assert recipient(settings, batch_id, message["to"]).status == "delivered"


def test_unknown_message_sid_is_acknowledged_and_ignored(settings, twilio_api, client):
    form = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered", "AccountSid": twilio_api.account_sid}
    assert post_signed(client, twilio_api, "/twilio/status", form).status_code == 204
