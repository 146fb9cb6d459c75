"""The REST API as its clients use it: create, validate, list, read; real Twilio SDK behind it."""

from __future__ import annotations

import pytest

from multisms.db import session_scope
from multisms.models import Batch, OptOut, Recipient

BATCHES = "/api/multi-sms/batches"


def numbers(count: int, start: int = 0) -> list[str]:
    """`count` distinct valid Polish mobile numbers."""
    return [f"+48600{100000 + start + i:06d}" for i in range(count)]


def stored_batches(settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.query(Batch).count()


def test_three_spellings_of_one_number_are_one_recipient(client, auth, run_jobs, twilio_api, settings):
    response = client.post(BATCHES, headers=auth, json={
        "body": "Hello from multisms",
        "recipients": ["+48 600 123 456", "0048600123456", "+48600123456"],
    })
    assert response.status_code == 201, response.json
    assert response.json["batch"]["total_recipients"] == 1
    report = response.json["validation"]
    assert report["valid_count"] == 1 and report["duplicate_count"] == 2
    assert {d["number"] for d in report["duplicates"]} == {"0048600123456", "+48600123456"}

    run_jobs()
    assert twilio_api.sent_to("+48600123456") == 1
    assert len(twilio_api.messages) == 1
    batch = client.get(f"{BATCHES}/{response.json['batch']['id']}", headers=auth).json["batch"]
    assert batch["status"] == "completed"
    assert batch["success_count"] + batch["pending_count"] == 1


def test_created_batch_is_sent_through_twilio_with_sender_and_callback(client, auth, run_jobs, twilio_api):
    response = client.post(BATCHES, headers=auth,
                           json={"body": "Meeting at 5", "numbers": "+48600123456, +48600123457"})
    batch_id = response.json["batch"]["id"]
    assert response.json["batch"]["status"] == "pending"

    run_jobs()
    sent = {m["to"]: m for m in twilio_api.messages}
    assert set(sent) == {"+48600123456", "+48600123457"}
    assert all(m["from"] == "+15005550006" and m["body"] == "Meeting at 5" for m in sent.values())
    forms = [twilio_api.create_forms[m["sid"]] for m in sent.values()]
    assert all(form["StatusCallback"] == "http://localhost/twilio/status" for form in forms)
    recipients = client.get(f"{BATCHES}/{batch_id}/recipients", headers=auth).json
    assert recipients["count"] == 2
    assert {r["sid"] for r in recipients["items"]} == {m["sid"] for m in sent.values()}
    assert all(r["status"] == "queued" and r["sent_at"] for r in recipients["items"])


def test_251_unique_numbers_are_rejected_and_nothing_is_stored(client, auth, settings, redis_conn):
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": numbers(251)})
    assert response.status_code == 422
    assert response.json["problems"] == [{
        "field": "recipients",
        "message": "251 unique numbers; the limit is 250 per batch (MULTI_SMS_MAX_RECIPIENTS). "
        "Split the list into smaller batches.",
    }]
    assert stored_batches(settings) == 0
    assert redis_conn.llen("rq:queue:sms") == 0


def test_limit_counts_unique_numbers_after_normalising(client, auth):
    spelled_twice = numbers(250) + [n.replace("+", "00") for n in numbers(250)]
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": spelled_twice})
    assert response.status_code == 201
    assert response.json["batch"]["total_recipients"] == 250
    assert response.json["validation"]["duplicate_count"] == 250


def test_250_valid_and_10_invalid_are_accepted_with_reasons(client, auth, settings):
    invalid = ["+4860012", "hello", "600123456", "+999 123 456", "+48 600 123 45678"] + [f"12{i}" for i in range(5)]
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": numbers(250) + invalid})
    assert response.status_code == 201, response.json
    assert response.json["batch"]["total_recipients"] == 250
    assert response.json["batch"]["invalid_count"] == 10
    reasons = {item["number"]: item["reason"] for item in response.json["validation"]["invalid"]}
    assert set(reasons) == set(invalid)
    assert reasons["hello"] == "not a phone number"
    assert reasons["+999 123 456"] == "unknown country code"
    assert reasons["600123456"].startswith("no country code")
    with session_scope(settings.database_url) as session:
        assert session.query(Recipient).count() == 250


def test_national_number_needs_default_region(make_client, auth):
    without_region = make_client().post(BATCHES, headers=auth, json={"body": "Hi", "recipients": ["600123456"]})
    assert without_region.status_code == 422
    assert without_region.json["validation"]["invalid"] == [{
        "number": "600123456",
        "reason": "no country code: write it as +<country code>… or set DEFAULT_REGION",
    }]

    with_region = make_client(DEFAULT_REGION="PL").post(
        BATCHES, headers=auth, json={"body": "Hi", "recipients": ["600123456", "+48600123456"]})
    assert with_region.status_code == 201
    assert with_region.json["validation"]["recipients"] == ["+48600123456"]
    assert with_region.json["validation"]["duplicate_count"] == 1


@pytest.mark.parametrize(("body", "message"), [
    ("", "The message is empty: write what to send."),
    ("   ", "The message is empty: write what to send."),
    ("x" * 1601, "The message is 1601 characters; the limit is 1600."),
])
def test_empty_or_too_long_body_is_rejected(client, auth, settings, body, message):
    response = client.post(BATCHES, headers=auth, json={"body": body, "recipients": ["+48600123456"]})
    assert response.status_code == 422
    assert {"field": "body", "message": message} in response.json["problems"]
    assert stored_batches(settings) == 0


def test_body_of_1600_characters_is_accepted_as_11_segments(client, auth):
    response = client.post(BATCHES, headers=auth, json={"body": "x" * 1600, "recipients": ["+48600123456"],
                                                        "dry_run": True})
    assert response.status_code == 200
    assert response.json["validation"]["segments"] == 11  # ceil(1600 / 153)


def test_one_emoji_makes_the_body_ucs2(client, auth):
    body = "Thanks for coming! " + "x" * 50 + " 🎉"  # 72 UTF-16 units: two UCS-2 segments
    response = client.post(BATCHES, headers=auth, json={"body": body, "recipients": ["+48600123456"]})
    assert response.status_code == 201
    validation = response.json["validation"]
    assert validation["encoding"] == "UCS-2"
    assert validation["ucs2_characters"] == ["🎉"]
    assert validation["segments"] == 2
    assert response.json["batch"]["encoding"] == "UCS-2" and response.json["batch"]["segments"] == 2

    plain = client.post(BATCHES, headers=auth, json={"body": body.replace("🎉", ":)"), "recipients": ["+48600123456"],
                                                     "dry_run": True})
    assert plain.json["validation"]["encoding"] == "GSM-7" and plain.json["validation"]["segments"] == 1


def test_no_sender_configured_says_what_to_set(make_client, auth, settings):
    client = make_client(TWILIO_DEFAULT_FROM=None, TWILIO_MESSAGING_SERVICE_SID=None)
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": ["+48600123456"]})
    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert problem["field"] == "sender"
    assert "TWILIO_DEFAULT_FROM" in problem["message"] and "TWILIO_MESSAGING_SERVICE_SID" in problem["message"]
    assert stored_batches(settings) == 0


def test_messaging_service_is_preferred_sender(make_client, auth, run_jobs, twilio_api):
    service = "MG" + "a" * 32
    client = make_client(TWILIO_MESSAGING_SERVICE_SID=service)
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": ["+48600123456"]})
    assert response.json["batch"]["sender_identity"] == service
    run_jobs()
    [message] = twilio_api.messages
    assert message["messaging_service_sid"] == service


def test_opted_out_numbers_are_kept_but_not_sent(client, auth, settings, run_jobs, twilio_api):
    with session_scope(settings.database_url) as session:
        session.add(OptOut(number="+48600123457", source="api"))
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": ["+48600123456", "+48600123457"]})
    assert response.status_code == 201
    assert response.json["validation"]["opted_out"] == ["+48600123457"]
    assert response.json["batch"]["opted_out_count"] == 1
    run_jobs()
    assert twilio_api.sent_to("+48600123457") == 0
    assert twilio_api.sent_to("+48600123456") == 1


def test_dry_run_validates_without_storing(client, auth, settings, redis_conn):
    response = client.post(BATCHES, headers=auth, json={"body": "Hi", "numbers": "+48600123456 nope", "dry_run": True})
    assert response.status_code == 200
    assert response.json["validation"]["valid_count"] == 1
    assert response.json["validation"]["invalid"] == [{"number": "nope", "reason": "not a phone number"}]
    assert stored_batches(settings) == 0


@pytest.mark.parametrize(("payload", "field"), [
    ({"recipients": ["+48600123456"]}, "body"),
    ({"body": "Hi"}, "body"),
    ({"body": "Hi", "recipients": "+48600123456"}, "recipients"),
    ({"body": "Hi", "recipients": ["+48600123456"], "colour": "red"}, "colour"),
])
def test_malformed_request_names_the_field(client, auth, payload, field):
    response = client.post(BATCHES, headers=auth, json=payload)
    assert response.status_code == 400
    assert field in {problem["field"] for problem in response.json["problems"]}


def test_every_api_route_needs_the_token(client, auth):
    for path in (BATCHES, f"{BATCHES}/1", f"{BATCHES}/1/recipients", "/api/openapi.json"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    refused = client.post(BATCHES, json={"body": "Hi", "recipients": ["+48600123456"]})
    assert refused.status_code == 401
    assert "API_TOKEN" in refused.json["error"]


def test_api_refuses_when_no_token_is_configured(make_client, auth):
    response = make_client(API_TOKEN=None).get(BATCHES, headers=auth)
    assert response.status_code == 503
    assert "set API_TOKEN" in response.json["error"]


def test_list_pages_and_includes_recipients(client, auth):
    for i in range(3):
        client.post(BATCHES, headers=auth, json={"body": f"batch {i}", "recipients": numbers(2, start=i * 10)})
    page = client.get(f"{BATCHES}?limit=2", headers=auth).json
    assert [b["body"] for b in page["items"]] == ["batch 2", "batch 1"]
    assert page["count"] == 2 and page["total"] == 3
    rest = client.get(f"{BATCHES}?limit=2&offset=2&include_recipients=1", headers=auth).json
    assert [b["body"] for b in rest["items"]] == ["batch 0"]
    assert [r["number_normalized"] for r in rest["items"][0]["recipients"]] == numbers(2)
    too_small = client.get(f"{BATCHES}?limit=0", headers=auth)
    assert too_small.status_code == 400 and [p["field"] for p in too_small.json["problems"]] == ["limit"]


def paged_list_routes(app) -> dict[str, dict[str, str]]:
    """Every GET route of the API whose query string takes `limit` (found in the URL map, so a new
    list route is covered the day it is added), with a value for each parameter it requires."""
    paths = {}
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions[rule.endpoint], "operation", None)
        if "GET" in rule.methods and spec and spec.query and "limit" in spec.query.model_fields:
            required = {field.alias or name: "x" for name, field in spec.query.model_fields.items()
                        if field.is_required()}
            paths[rule.rule.replace("<int:batch_id>", "1")] = required
    return paths


@pytest.mark.parametrize("written", ["²", "٣", "１２", "𝟓", "5.0", " 5", "1_0", "-1", "9" * 40, "1" * 5000])
def test_a_limit_or_offset_that_is_not_plain_digits_is_a_400_naming_it(client, auth, written):
    client.post(BATCHES, headers=auth, json={"body": "Hi", "recipients": numbers(1)})
    routes = paged_list_routes(client.application)
    assert {"/api/multi-sms/batches", "/api/multi-sms/batches/1/recipients", "/api/opt-outs"} <= set(routes)
    for path, required in routes.items():
        for field in ("limit", "offset"):
            response = client.get(path, query_string={**required, field: written}, headers=auth)
            assert response.status_code == 400, (path, field, response.status_code)
            assert [p["field"] for p in response.json["problems"]] == [field], (path, field)


def test_unknown_batch_is_404(client, auth):
    response = client.get(f"{BATCHES}/999", headers=auth)
    assert response.status_code == 404
    assert response.json == {"error": "No batch #999."}


def test_without_twilio_the_console_gateway_sends_and_recipients_end_sent(make_client, auth, run_jobs, twilio_api):
    client = make_client(TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None, TWILIO_DEFAULT_FROM=None)
    created = client.post(BATCHES, headers=auth, json={"body": "Local try-out", "numbers": "+48600123456 +48600123457"})
    assert created.status_code == 201
    assert created.json["batch"]["sender_identity"] == "CONSOLE"
    run_jobs()
    batch_id = created.json["batch"]["id"]
    assert client.get(f"{BATCHES}/{batch_id}", headers=auth).json["batch"]["status"] == "completed"
    statuses = [r["status"] for r in client.get(f"{BATCHES}/{batch_id}/recipients", headers=auth).json["items"]]
    assert statuses == ["sent", "sent"]
    assert twilio_api.create_attempts == 0


@pytest.mark.parametrize("batch_id", [2**31, 2**63, 10**30])
def test_an_impossibly_large_batch_id_is_404_not_a_crash(client, auth, batch_id):
    assert client.get(f"{BATCHES}/{batch_id}", headers=auth).status_code == 404
    assert client.post(f"{BATCHES}/{batch_id}/cancel", headers=auth).status_code == 404
