"""Self-tests: the stand-ins speak each provider's wire format, proven with the REAL SDKs.

Run: python -m pytest -q -p tests.fixtures.standins tests/test_standins.py
"""
from __future__ import annotations

import base64
import math
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from standins import OpenAIStandIn, TwilioStandIn
from standins.openai_api import embed
from standins.signing import sign
from standins.twilio_api import num_segments

TO, FROM, MG = "+48500100200", "+15005550006", "MG" + "a" * 32


def _cos(a, b):
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


# --------------------------------------------------------------------------- Twilio
def test_twilio_create_from_number_matches_wire_format(twilio_api):
    client = twilio_api.client()
    msg = client.messages.create(to=TO, from_=FROM, body="Hello", status_callback="https://app/cb",
                                 validity_period=600)
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert (msg.status, msg.to, msg.from_, msg.account_sid) == ("queued", TO, FROM, twilio_api.account_sid)
    assert msg.num_segments == "1" and msg.direction == "outbound-api" and msg.error_code is None
    assert msg.date_created.tzinfo is not None  # the SDK parsed our RFC 2822 date
    assert [m["sid"] for m in twilio_api.messages] == [msg.sid] and twilio_api.sent_to(TO) == 1
    req = twilio_api.requests[-1]
    assert req.method == "POST" and req.path.endswith(f"/Accounts/{twilio_api.account_sid}/Messages.json")
    assert req.form == {"To": TO, "From": FROM, "Body": "Hello", "StatusCallback": "https://app/cb",
                        "ValidityPeriod": "600"}
    expected = base64.b64encode(f"{twilio_api.account_sid}:{twilio_api.auth_token}".encode()).decode()
    assert req.header("authorization") == "Basic " + expected
    assert twilio_api.create_forms[msg.sid]["StatusCallback"] == "https://app/cb"


def test_twilio_create_with_messaging_service(twilio_api):
    msg = twilio_api.client().messages.create(to=TO, messaging_service_sid=MG, body="Hi")
    assert (msg.status, msg.from_, msg.messaging_service_sid) == ("accepted", None, MG)
    assert "From" not in twilio_api.requests[-1].form


def test_twilio_failed_number_raises_rest_exception(twilio_api):
    twilio_api.fail_number("+48000", 21211)
    client = twilio_api.client()
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to="+48000", from_=FROM, body="x")
    assert (exc.value.status, exc.value.code) == (400, 21211)
    assert "+48000 is not a valid phone number" in exc.value.msg
    client.messages.create(to=TO, from_=FROM, body="x")
    assert twilio_api.create_attempts == 2 and twilio_api.sent_to("+48000") == 0 and len(twilio_api.messages) == 1


def test_twilio_validation_and_auth_errors(twilio_api):
    client = twilio_api.client()
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, body="no sender")
    assert (exc.value.status, exc.value.code) == (400, 21603)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to="", from_=FROM, body="no recipient")
    assert exc.value.code == 21604
    bad = twilio_api.attach(Client(twilio_api.account_sid, "wrong", environment={}))
    with pytest.raises(TwilioRestException) as exc:
        bad.messages.create(to=TO, from_=FROM, body="x")
    assert (exc.value.status, exc.value.code) == (401, 20003)
    assert twilio_api.messages == []


def test_twilio_rate_limit_and_server_error(twilio_api):
    client = twilio_api.client()
    twilio_api.rate_limit_next(1)
    twilio_api.server_error_next(1, status=503)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (exc.value.status, exc.value.code) == (429, 20429)
    # TwilioRestException carries no headers; check Retry-After on the wire
    twilio_api.rate_limit_next(1)
    raw = requests.post(twilio_api.base_url + f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages.json",
                        data={"To": TO, "From": FROM, "Body": "x"}, auth=(twilio_api.account_sid,
                                                                          twilio_api.auth_token), timeout=5)
    assert (raw.status_code, raw.headers["Retry-After"], raw.json()["code"]) == (429, "1", 20429)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (exc.value.status, exc.value.code) == (503, 20500)
    assert client.messages.create(to=TO, from_=FROM, body="x").status == "queued"
    assert twilio_api.create_attempts == 4 and twilio_api.sent_to(TO) == 1


def test_twilio_list_filters_pagination_and_fetch(twilio_api):
    client = twilio_api.client()
    day1 = datetime(2024, 3, 1, 12, tzinfo=UTC)
    for i, to in enumerate([TO, "+48999", TO, TO]):
        twilio_api.clock = lambda d=day1 + timedelta(days=i): d
        client.messages.create(to=to, from_=FROM, body=f"m{i}")
    mine = client.messages.list(to=TO)
    assert [m.body for m in mine] == ["m3", "m2", "m0"]  # newest first, like Twilio
    assert twilio_api.requests[-1].query["To"] == TO
    paged = list(client.messages.stream(to=TO, page_size=2))
    assert [m.body for m in paged] == ["m3", "m2", "m0"]  # followed next_page_uri
    after = client.messages.list(date_sent_after=datetime(2024, 3, 2, tzinfo=UTC))
    assert sorted(m.body for m in after) == ["m1", "m2", "m3"]
    assert "DateSent>" in twilio_api.requests[-1].query
    window = client.messages.list(date_sent_after=datetime(2024, 3, 2, tzinfo=UTC),
                                  date_sent_before=datetime(2024, 3, 3, tzinfo=UTC))
    assert [m.body for m in window] == ["m1"]
    assert client.messages(mine[0].sid).fetch().body == "m3"
    with pytest.raises(TwilioRestException) as exc:
        client.messages("SM" + "0" * 32).fetch()
    assert (exc.value.status, exc.value.code) == (404, 20404)


def test_twilio_queued_messages_have_no_date_sent_and_escape_date_sent_filters(twilio_api):
    client = twilio_api.client()
    twilio_api.queue_seconds = 30
    start = datetime.now(UTC)
    queued = client.messages.create(to=TO, from_=FROM, body="still in Twilio's queue")
    service = client.messages.create(to=TO, messaging_service_sid=MG, body="via the service")
    [listed_service, listed] = client.messages.list(to=TO)  # newest first, found by To whatever the status
    assert (listed.status, listed.date_sent, listed.date_created is not None) == ("queued", None, True)
    assert (listed_service.status, listed_service.from_) == ("accepted", None)
    assert client.messages.list(to=TO, date_sent_after=start - timedelta(minutes=1)) == []
    assert client.messages.list(to=TO, date_sent=start.date()) == []
    assert client.messages.list(to=TO, from_=FROM)[0].sid == queued.sid

    twilio_api.clock = lambda: start + timedelta(seconds=31)  # the queue has drained
    sent = client.messages(queued.sid).fetch()
    assert sent.status == "sent" and sent.date_sent is not None
    assert {m.sid for m in client.messages.list(to=TO, date_sent_after=start - timedelta(minutes=1))} == {
        queued.sid, service.sid}
    picked = client.messages(service.sid).fetch().from_
    assert picked in twilio_api.pool  # a pool number, chosen by Twilio
    assert [m.sid for m in client.messages.list(from_=picked)] == [service.sid]


def test_twilio_a_message_queued_past_its_validity_period_fails_30001(twilio_api):
    client = twilio_api.client()
    twilio_api.queue_seconds = 7200
    start = datetime.now(UTC)
    msg = client.messages.create(to=TO, from_=FROM, body="too late", validity_period=600)
    twilio_api.clock = lambda: start + timedelta(seconds=599)
    assert client.messages(msg.sid).fetch().status == "queued"
    twilio_api.clock = lambda: start + timedelta(seconds=601)
    expired = client.messages(msg.sid).fetch()
    assert (expired.status, expired.error_code, expired.date_sent) == ("failed", 30001, None)


def test_twilio_delivery_receipts_follow_the_queue(twilio_api):
    client = twilio_api.client()
    twilio_api.receipt_seconds = 5
    twilio_api.undeliverable("+48500100201", 30003)
    start = datetime.now(UTC)
    ok = client.messages.create(to=TO, from_=FROM, body="x")
    lost = client.messages.create(to="+48500100201", from_=FROM, body="x")
    assert client.messages(ok.sid).fetch().status == "sent"
    twilio_api.clock = lambda: start + timedelta(seconds=6)
    assert client.messages(ok.sid).fetch().status == "delivered"
    undelivered = client.messages(lost.sid).fetch()
    assert (undelivered.status, undelivered.error_code) == ("undelivered", 30003)


@pytest.mark.parametrize("accept", [True, False])
def test_twilio_hang_times_out_client(twilio_api, accept):
    twilio_api.hang_next(1, seconds=30, accept=accept)
    client = twilio_api.client(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.messages.create(to=TO, from_=FROM, body="x")
    assert time.monotonic() - started < 2
    assert twilio_api.sent_to(TO) == (1 if accept else 0)  # accept=True: Twilio took it, reply was lost
    assert client.messages.create(to=TO, from_=FROM, body="x").status == "queued"
    # stop() (in the fixture) must not wait the 30 s hang out


def test_twilio_signed_callbacks_validate(twilio_api):
    msg = twilio_api.client().messages.create(to=TO, messaging_service_sid=MG, body="x")
    url = "https://app.example.com/twilio/status"
    form = twilio_api.status_callback_form(msg.sid, "undelivered", error_code=30007)
    assert form["MessageSid"] == form["SmsSid"] == msg.sid and form["ErrorCode"] == "30007"
    assert form["MessageStatus"] == "undelivered" and form["ApiVersion"] == "2010-04-01"
    validator = RequestValidator(twilio_api.auth_token)
    signature = sign(twilio_api.auth_token, url, form)
    assert validator.validate(url, form, signature)
    assert not validator.validate(url, {**form, "MessageStatus": "delivered"}, signature)
    assert not validator.validate(url, form, sign("other-token", url, form))
    inbound = twilio_api.inbound_form("+48500111222", FROM, "STOP")
    assert inbound["SmsStatus"] == "received" and inbound["FromCountry"] == "PL" and inbound["NumMedia"] == "0"
    assert validator.validate(url, inbound, sign(twilio_api.auth_token, url, inbound))
    assert twilio_api.set_status(msg.sid, "delivered")["date_sent"] is not None


def test_num_segments():
    assert [num_segments("a" * 160), num_segments("a" * 161), num_segments("a" * 306), num_segments("a" * 307)] \
        == [1, 2, 2, 3]
    assert num_segments("[" * 80) == 1 and num_segments("[" * 81) == 2  # extension chars cost 2
    assert [num_segments("ą" * 70), num_segments("ą" * 71), num_segments("ą" * 134)] == [1, 2, 2]


def test_twilio_concurrent_batch(twilio_api):
    twilio_api.latency = 0.05
    client = twilio_api.client()
    numbers = [f"+4850000{i:04d}" for i in range(300)]
    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        sids = list(pool.map(lambda n: client.messages.create(to=n, from_=FROM, body="batch").sid, numbers))
    elapsed = time.monotonic() - started
    assert len(set(sids)) == 300 and len(twilio_api.messages) == 300
    assert all(twilio_api.sent_to(n) == 1 for n in numbers)
    assert elapsed < 300 * 0.05 / 5, f"requests were not served concurrently ({elapsed:.1f}s)"


def test_stop_leaves_no_threads():
    standin = TwilioStandIn().start()
    client = standin.client()
    client.messages.create(to=TO, from_=FROM, body="keep-alive connection stays open")
    standin.hang_next(1, seconds=30)
    outcome = []

    def send():
        try:
            outcome.append(client.messages.create(to=TO, from_=FROM, body="hung"))
        except Exception as exc:  # noqa: BLE001 - whatever the SDK raises on a dropped connection
            outcome.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    time.sleep(0.2)
    started = time.monotonic()
    standin.stop()
    sender.join(2)
    assert time.monotonic() - started < 2
    assert len(outcome) == 1 and isinstance(outcome[0], requests.exceptions.ConnectionError)  # dropped, no reply
    assert [t.name for t in threading.enumerate() if t.name.startswith("standin-")] == []
    assert standin.errors == []


# --------------------------------------------------------------------------- Slack
@pytest.fixture
def web(slack_api):
    from slack_sdk import WebClient
    return WebClient(token="xoxb-test", base_url=slack_api.api_url)


def test_slack_post_update_users_info(slack_api, web):
    assert web.auth_test()["user_id"] == "UBOT"
    first = web.chat_postMessage(channel="C1", text="hi", blocks=[{"type": "section", "text": {"type": "mrkdwn",
                                                                                               "text": "*hi*"}}])
    second = web.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert first["ok"] and first["channel"] == "C1" and float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"][0]["text"]["text"] == "*hi*" and second["message"]["thread_ts"] == first["ts"]
    updated = web.chat_update(channel="C1", ts=first["ts"], text="edited")
    assert (updated["ts"], updated["text"]) == (first["ts"], "edited")
    assert [m["text"] for m in web.conversations_replies(channel="C1", ts=first["ts"])["messages"]] == \
        ["edited", "reply"]
    user = web.users_info(user="U42")["user"]
    assert (user["id"], user["tz"], user["tz_offset"], user["is_bot"]) == ("U42", "Europe/Warsaw", 3600, False)
    assert slack_api.calls("users.info") == [{"user": "U42"}]  # slack_sdk sent it as a form POST
    assert slack_api.calls("chat.postMessage")[1] == {"channel": "C1", "text": "reply", "thread_ts": first["ts"]}
    assert slack_api.count("chat.update") == 1
    assert {c["token"] for c in slack_api.api_calls} == {"xoxb-test"}
    assert web.chat_postEphemeral(channel="C1", user="U42", text="psst")["message_ts"]
    assert web.conversations_info(channel="D9")["channel"]["is_im"] is True


def test_slack_refuses_invalid_blocks_and_unknown_methods(slack_api, web):
    from slack_sdk.errors import SlackApiError
    too_many = [{"type": "divider"}] * 51
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    for blocks in (too_many, too_long):
        with pytest.raises(SlackApiError) as exc:
            web.chat_postMessage(channel="C1", text="t", blocks=blocks)
        assert exc.value.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in exc.value.response["errors"][0]
    with pytest.raises(SlackApiError) as exc:
        web.api_call("bogus.method")
    assert exc.value.response["error"] == "unknown_method"
    assert slack_api.messages() == []


def test_slack_reactions_are_the_bots_own_and_refused_as_slack_documents(slack_api, web):
    from slack_sdk.errors import SlackApiError

    def error(call, **arguments) -> str:
        with pytest.raises(SlackApiError) as exc:
            call(**arguments)
        return exc.value.response["error"]

    ts = slack_api.add_message("C1", "Yes, 6 pm", user="U42", thread_ts="1700000000.000001")
    assert web.reactions_add(channel="C1", timestamp=ts, name="outbox_tray")["ok"]
    assert error(web.reactions_add, channel="C1", timestamp=ts, name="outbox_tray") == "already_reacted"
    assert web.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")["ok"]
    assert web.reactions_remove(channel="C1", timestamp=ts, name="outbox_tray")["ok"]
    assert error(web.reactions_remove, channel="C1", timestamp=ts, name="outbox_tray") == "no_reaction"
    assert slack_api.reactions("C1", ts) == ["white_check_mark"]
    assert error(web.reactions_add, channel="C1", timestamp="1.000001", name="x") == "message_not_found"
    assert error(web.reactions_add, channel="C1", timestamp=ts, name=":x:") == "invalid_name"
    assert error(web.reactions_add, channel="C1", timestamp="", name="x") == "no_item_specified"


def test_slack_rate_limit_error_and_retry_handler(slack_api, web):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
    slack_api.rate_limit_next("chat.postMessage", 1, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        web.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429 and exc.value.response["error"] == "ratelimited"
    assert exc.value.response.headers["Retry-After"] == "7"
    slack_api.rate_limit_next("chat.postMessage", 1, retry_after=0)  # SDK sleeps retry_after + random()
    retrying = WebClient(token="xoxb-test", base_url=slack_api.api_url,
                         retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    assert retrying.chat_postMessage(channel="C1", text="y")["ok"]
    assert [c["text"] for c in slack_api.calls("chat.postMessage")] == ["x", "y", "y"]
    assert [m["text"] for m in slack_api.messages("C1")] == ["y"]


def test_slack_outage_page_fails_the_call_and_then_clears(slack_api, web):
    from slack_sdk.errors import SlackApiError
    slack_api.server_error_next("chat.postMessage", 1, status=503)
    with pytest.raises(SlackApiError) as exc:
        web.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 503 and exc.value.response["ok"] is False
    assert web.chat_postMessage(channel="C1", text="y")["ok"]
    assert [m["text"] for m in slack_api.messages("C1")] == ["y"]


def test_slack_response_url_views_and_files(slack_api, web):
    from slack_sdk.webhook import WebhookClient
    sent = WebhookClient(slack_api.response_url("r1")).send(text="done", response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    assert slack_api.responses("r1") == [{"text": "done", "response_type": "ephemeral"}]
    bad = WebhookClient(slack_api.response_url("r2")).send(blocks=[{"type": "divider"}] * 51)
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    view = web.views_open(trigger_id="t1", view={"type": "modal", "title": {"type": "plain_text", "text": "T"},
                                                 "blocks": []})["view"]
    assert view["id"].startswith("V") and view["type"] == "modal"
    assert web.views_update(view_id=view["id"], view={"type": "modal", "blocks": []})["view"]["id"] == view["id"]
    assert web.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]["id"]
    slack_api.add_file("F1", "report.csv", b"a,b\n1,2\n", "text/csv")
    info = web.files_info(file="F1")["file"]
    assert info["url_private"].startswith(slack_api.root_url)
    authed = urllib.request.Request(info["url_private"], headers={"Authorization": "Bearer xoxb-test"})
    with urllib.request.urlopen(authed, timeout=5) as resp:
        assert resp.read() == b"a,b\n1,2\n" and resp.headers.get_content_type() == "text/csv"
    with urllib.request.urlopen(info["url_private_download"], timeout=5) as resp:  # no token
        assert resp.headers.get_content_type() == "text/html"


def test_slack_uploads_in_three_steps_and_refuses_a_user_id_as_the_channel(slack_api, web):
    from slack_sdk.errors import SlackApiError
    shared = web.files_upload_v2(channel="C1", content="é,1\n".encode("cp1250"), filename="r.csv", title="R",
                                 initial_comment="the report", thread_ts="1700000000.000101")
    assert [c["method"] for c in slack_api.api_calls] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    [upload] = slack_api.uploads("C1")
    assert (upload["content"], upload["title"], upload["thread_ts"]) == (b"\xe9,1\n", "R", "1700000000.000101")
    assert shared["file"]["id"] == upload["id"] and slack_api.messages("C1")[0]["files"][0]["id"] == upload["id"]
    with pytest.raises(SlackApiError) as exc:
        web.files_upload_v2(channel="U1", content="x", filename="r.csv")
    assert exc.value.response["error"] == "invalid_arguments" and "channel_id" in exc.value.response["errors"][0]
    dm = web.conversations_open(users="U1")["channel"]["id"]
    web.files_upload_v2(channel=dm, content="x", filename="r.csv")
    assert dm.startswith("D") and [u["channel"] for u in slack_api.uploads()] == ["C1", dm]
    with pytest.raises(SlackApiError) as exc:
        web.files_completeUploadExternal(files=[{"id": upload["id"]}], channel_id="C1")  # only once
    assert exc.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as exc:
        web.files_getUploadURLExternal(filename="r.csv", length=0)
    assert exc.value.response["error"] == "invalid_arguments"


# --------------------------------------------------------------------------- OpenAI
@pytest.fixture
def oai(openai_api):
    import openai
    return openai.OpenAI(base_url=openai_api.base_url, api_key="sk-test", max_retries=0)


def test_openai_chat_completion(openai_api, oai):
    out = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}])
    assert out.choices[0].message.content == "stand-in reply to: ping" and out.choices[0].finish_reason == "stop"
    openai_api.reply = lambda body: f"{len(body['messages'])} messages"
    out = oai.chat.completions.create(model="m", messages=[{"role": "system", "content": "s"},
                                                           {"role": "user", "content": "u"}], temperature=0)
    assert out.choices[0].message.content == "2 messages" and out.usage.total_tokens > 0
    assert openai_api.chat_requests[-1]["temperature"] == 0 and openai_api.api_keys == ["sk-test"] * 2
    stream = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "u"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "1 messages"


def test_openai_embeddings_base64_and_float(openai_api, oai):
    texts = ["refund policy for orders", "orders refund policy details", "weather in Warsaw"]
    default = oai.embeddings.create(model="text-embedding-3-small", input=texts)
    assert openai_api.embedding_requests[-1]["encoding_format"] == "base64"  # what the SDK asks by default
    vecs = [d.embedding for d in default.data]
    assert len(vecs) == 3 and all(len(v) == 64 for v in vecs)
    assert vecs[0] == pytest.approx(embed(texts[0]), abs=1e-6)
    assert _cos(vecs[0], vecs[1]) == pytest.approx(0.75)  # 3 shared words of 4
    assert _cos(vecs[0], vecs[2]) < 0.3
    floats = oai.embeddings.create(model="m", input="weather in Warsaw", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(vecs[2], abs=1e-6)
    raw = oai.embeddings.with_raw_response.create(model="m", input="x").http_response.json()
    assert isinstance(raw["data"][0]["embedding"], str)  # base64 on the wire when the SDK asks for it


def test_standin_bug_surfaces_as_500_and_errors():
    import openai
    with OpenAIStandIn(reply=lambda body: 1 / 0) as standin:
        client = openai.OpenAI(base_url=standin.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert len(standin.errors) == 1 and "ZeroDivisionError" in standin.errors[0]


def test_openai_errors_and_sdk_retry(openai_api, oai):
    import openai
    openai_api.rate_limit_next(1)
    with pytest.raises(openai.RateLimitError) as exc:
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 429 and exc.value.code == "rate_limit_exceeded"
    openai_api.server_error_next(1)
    with pytest.raises(openai.InternalServerError):
        oai.embeddings.create(model="m", input="x")
    openai_api.rate_limit_next(1, retry_after=0.01)
    retrying = openai.OpenAI(base_url=openai_api.base_url, api_key="k", max_retries=2)
    assert retrying.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]).choices
    assert len(openai_api.chat_requests) == 3


def test_langchain_chat_and_embeddings(openai_api):
    langchain_openai = pytest.importorskip("langchain_openai")
    openai_api.reply = "langchain ok"
    chat = langchain_openai.ChatOpenAI(base_url=openai_api.base_url, api_key="x", model="gpt-4o-mini",
                                       max_retries=0)
    assert chat.invoke("hello there").content == "langchain ok"
    assert openai_api.chat_requests[-1]["messages"][-1] == {"role": "user", "content": "hello there"}
    emb = langchain_openai.OpenAIEmbeddings(base_url=openai_api.base_url, api_key="x",
                                            check_embedding_ctx_length=False)
    docs = emb.embed_documents(["twilio sms delivery", "slack bot message", "sms delivery failed"])
    query = emb.embed_query("why did sms delivery fail")
    scores = [_cos(query, d) for d in docs]
    assert max(range(3), key=scores.__getitem__) in (0, 2) and scores[1] < min(scores[0], scores[2])
