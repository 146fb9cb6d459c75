"""The web panel through Flask's test client: login, CSRF, preview/confirm, history, controls."""

from __future__ import annotations

import html
import re

import pytest

from multisms.config import get_settings
from multisms.db import session_scope
from multisms.models import OptOut
from tests.conftest import API_TOKEN, TWILIO_FROM
from tests.panel_helpers import NONCE, PASSWORD, Panel, stored, token_in
from webhooks.app import create_app
from webhooks.panel import auth as panel_auth
from webhooks.panel.views import PUBLIC_ENDPOINTS

SERVICE = "MG" + "0" * 32


def summary(page: str) -> dict[str, str]:
    """The preview's `<dl>` as {term: value}, tags and extra spaces removed."""
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", page, re.S)
    return {term: " ".join(html.unescape(re.sub(r"<[^>]+>", "", value)).split()) for term, value in pairs}


@pytest.fixture
def panel(make_client) -> Panel:
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    assert user.login().status_code == 302
    return user


def test_every_panel_route_needs_the_login(make_client, settings):
    client = make_client(PANEL_PASSWORD=PASSWORD)
    app = client.application
    secret_body = "only for logged-in eyes"
    user = Panel(app.test_client())
    user.login()
    user.confirm("+48600123456", secret_body)
    rules = [r for r in app.url_map.iter_rules()
             if r.rule.startswith("/panel") and r.endpoint not in PUBLIC_ENDPOINTS]
    assert len(rules) >= 8
    urls = app.url_map.bind("localhost")
    for rule in rules:
        path = urls.build(rule.endpoint, {arg: ("cancel" if arg == "action" else 1) for arg in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert secret_body not in response.text, (method, path)
            if path.endswith(".json"):
                assert response.status_code == 401, (method, path)
            else:
                assert response.status_code == 302, (method, path)
                assert response.headers["Location"].startswith("/panel/login"), (method, path)
    assert client.get("/panel/static/panel.css").status_code == 200


def test_wrong_password_is_refused_and_opens_nothing(make_client):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    response = user.login("guess")
    assert response.status_code == 401
    assert "That password is not right." in response.text
    assert user.client.get("/panel/").status_code == 302


def test_repeated_wrong_passwords_pause_the_login(make_client):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    for _ in range(panel_auth.MAX_FAILED_LOGINS):
        assert user.login("guess").status_code == 401
    response = user.login()
    assert response.status_code == 429
    assert "Too many wrong passwords" in response.text
    assert user.client.get("/panel/").status_code == 302


def test_panel_is_off_without_a_password(client):
    for path in ("/panel/", "/panel/login", "/panel/batches.json"):
        response = client.get(path)
        assert response.status_code == 503
        assert "PANEL_PASSWORD" in response.text


def test_a_post_without_the_csrf_token_is_refused(panel, settings):
    response = panel.client.post("/panel/preview", data={"numbers": "+48600123456", "body": "Hi"})
    assert response.status_code == 400
    assert "Reload the page and try again" in response.text
    forged = panel.client.post("/panel/confirm", data={"numbers": "+48600123456", "body": "Hi", "nonce": "x",
                                                       "csrf_token": "not-the-token"})
    assert forged.status_code == 400
    logout = panel.client.post("/panel/logout")
    assert logout.status_code == 400
    assert stored(settings) == []


def test_preview_shows_the_same_validation_as_the_api(panel, settings):
    with session_scope(settings.database_url) as session:
        session.add(OptOut(number="+48600123459", source="api"))
    numbers = "+48 600 123 456\n0048600123456\n+48600123457, hello; +48600123459"
    body = "Zażółć gęślą jaźń 🙂"
    page = panel.preview(numbers, body)
    api = panel.client.post("/api/multi-sms/batches", headers={"Authorization": f"Bearer {API_TOKEN}"},
                            json={"body": body, "numbers": numbers, "dry_run": True}).json["validation"]
    shown = summary(page.text)
    assert shown["Will be sent to"] == f"{api['valid_count']} numbers" == "2 numbers"
    assert shown["Invalid (skipped)"] == str(api["invalid_count"]) == "1"
    assert shown["Duplicates (sent once)"] == str(api["duplicate_count"]) == "1"
    assert shown["Opted out (not sent)"] == str(api["opted_out_count"]) == "1"
    assert shown["Encoding"].startswith(api["encoding"]) and api["encoding"] == "UCS-2"
    assert all(f"<code>{ch}</code>" in page.text for ch in api["ucs2_characters"])
    assert shown["Segments per message"].startswith(str(api["segments"]))
    assert shown["Segments in total"] == str(api["total_segments"])
    assert [html.escape(item["reason"]) in page.text for item in api["invalid"]] == [True]
    assert stored(settings) == []


def test_confirm_stores_queues_and_the_history_follows_the_send(panel, settings, redis_conn, run_jobs, twilio_api):
    response = panel.confirm("+48600123456\n+48600123457\nnot-a-number", "Meeting at 5")
    assert response.status_code == 302 and response.headers["Location"] == "/panel/"
    page = panel.client.get("/panel/")
    assert "Batch #1 is queued: 2 messages to send." in page.text
    [batch] = stored(settings)
    assert (batch.status, batch.created_by, batch.sender) == ("pending", "panel", TWILIO_FROM)
    assert redis_conn.llen("rq:queue:sms") == 1

    run_jobs()
    [row] = panel.client.get("/panel/batches.json").json["items"]
    assert (row["id"], row["status"], row["status_label"]) == (1, "completed_with_errors", "Completed with errors")
    assert (row["success"], row["invalid"], row["pending"], row["failure"]) == (2, 1, 0, 0)
    recipients = panel.client.get("/panel/batches/1/recipients.json").json["items"]
    assert {r["number"]: r["status"] for r in recipients} == {"+48600123456": "queued", "+48600123457": "queued"}
    assert {m["to"] for m in twilio_api.messages} == {"+48600123456", "+48600123457"}


def test_confirm_validates_again_and_never_trusts_the_page(panel, settings, redis_conn):
    page = panel.preview("+48600123456", "Hi")
    nonce = NONCE.search(page.text).group(1)
    too_many = ",".join(f"+48600{100000 + i}" for i in range(251))
    response = panel.post("/panel/confirm", nonce=nonce, numbers=too_many, body="Hi")
    assert response.status_code == 422
    assert "the limit is 250 per batch" in response.text and "Nothing was sent" in response.text
    forged_sender = panel.post("/panel/confirm", nonce=nonce, numbers="+48600123456", body="Hi", sender="+15550001111")
    assert forged_sender.status_code == 422
    assert "Pick one of the senders in the list." in forged_sender.text
    assert stored(settings) == [] and redis_conn.llen("rq:queue:sms") == 0


def test_pressing_confirm_twice_sends_one_batch(panel, settings):
    page = panel.preview("+48600123456", "Once")
    form = {"nonce": NONCE.search(page.text).group(1), "numbers": "+48600123456", "body": "Once"}
    assert panel.post("/panel/confirm", **form).status_code == 302
    assert panel.post("/panel/confirm", **form).status_code == 302
    assert len(stored(settings)) == 1
    assert "already confirmed" in panel.client.get("/panel/").text


def test_a_script_in_the_message_is_shown_as_text(panel, run_jobs):
    body = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    pages = [panel.preview("+48600123456", body).text]
    panel.confirm("+48600123456", body)
    run_jobs()
    pages += [panel.client.get("/panel/").text, panel.client.get("/panel/batches/1").text]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page
    assert panel.client.get("/panel/batches.json").json["items"][0]["body_preview"] == body


def test_both_senders_configured_offers_a_choice(make_client, settings):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD, TWILIO_MESSAGING_SERVICE_SID=SERVICE))
    user.login()
    page = user.client.get("/panel/").text
    assert f'<option value="{SERVICE}" selected>' in page and f'<option value="{TWILIO_FROM}">' in page
    user.confirm("+48600123456", "From the number", sender=TWILIO_FROM)
    assert [b.sender for b in stored(settings)] == [TWILIO_FROM]


def test_cancel_and_refusals_are_friendly(panel, settings):
    panel.confirm("+48600123456", "Hi")
    response = panel.post("/panel/batches/1/cancel")
    assert response.status_code == 302 and response.headers["Location"] == "/panel/batches/1"
    page = panel.client.get("/panel/batches/1").text
    assert "Batch #1 is cancelled; 1 message will not be sent." in page
    assert stored(settings)[0].status == "cancelled"
    panel.post("/panel/batches/1/retry")
    page = panel.client.get("/panel/batches/1").text
    assert "Could not retry batch #1: A cancelled batch cannot become pending." in page
    assert panel.post("/panel/batches/99/cancel").status_code == 404


def test_batch_page_has_a_status_chart(panel, run_jobs):
    panel.confirm("+48600123456\n+48600123457\nbad", "Hi")
    run_jobs()
    page = panel.client.get("/panel/batches/1").text
    assert '<svg class="chart bars"' in page and "Accepted by Twilio: 2." in page
    assert "<polyline points=" in page and "2 of 2 messages handed over" in page
    assert "not a phone number" in page


def test_session_cookie_is_httponly_lax_and_secure_behind_https(make_client):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    cookie = user.login().headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = Panel(make_client(PANEL_PASSWORD=PASSWORD, PUBLIC_BASE_URL="https://sms.example.com"))
    assert "Secure" in secure.login().headers["Set-Cookie"]


def test_every_web_worker_accepts_the_same_session_and_a_new_password_logs_out(panel, configure):
    other_worker = create_app(configure(PANEL_PASSWORD=PASSWORD)).test_client()
    cookie = panel.client.get_cookie("multisms_panel")
    other_worker.set_cookie("multisms_panel", cookie.value)
    assert other_worker.get("/panel/").status_code == 200
    rotated = create_app(configure(PANEL_PASSWORD="a new password")).test_client()
    rotated.set_cookie("multisms_panel", cookie.value)
    assert rotated.get("/panel/").status_code == 302


def test_the_panel_never_shows_a_secret(make_client, run_jobs, settings):
    secrets = {"PANEL_PASSWORD": PASSWORD, "SECRET_KEY": "s3cr3t-session-key-for-tests",
               "SLACK_SIGNING_SECRET": "slack-signing-secret-value"}
    user = Panel(make_client(**secrets))
    user.login()
    user.confirm("+48600123456", "Hi")
    run_jobs()
    pages = [user.client.get(path) for path in
             ("/panel/", "/panel/batches/1", "/panel/batches.json", "/panel/batches/1/recipients.json")]
    pages.append(user.preview("+48600123456", "Hi"))
    for page in pages:
        for secret in [*secrets.values(), API_TOKEN, settings.twilio_auth_token]:
            assert secret not in page.text


def test_login_only_returns_to_a_panel_page(make_client):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    page = user.client.get("/panel/login")
    response = user.client.post("/panel/login", data={"password": PASSWORD, "csrf_token": token_in(page),
                                                      "next": "https://evil.example/"})
    assert response.headers["Location"] == "/panel/"


def test_pages_forbid_inline_scripts_and_framing(panel):
    response = panel.client.get("/panel/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.text


def test_with_redis_down_a_confirm_is_refused_and_nothing_is_sent(make_client, settings):
    user = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    user.login()
    page = user.preview("+48600123456", "Hi")
    queue_down = create_app(get_settings().model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})).test_client()
    queue_down.set_cookie("multisms_panel", user.client.get_cookie("multisms_panel").value)
    response = queue_down.post("/panel/confirm", data={
        "csrf_token": token_in(page), "nonce": NONCE.search(page.text).group(1), "numbers": "+48600123456",
        "body": "Hi"})
    assert response.status_code == 503
    assert "reach Redis" in response.text and "Nothing was sent or changed." in response.text
    assert stored(settings) == []
