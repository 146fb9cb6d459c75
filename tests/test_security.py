"""Security review as tests: every route has a guard, guards refuse, secrets and numbers stay out
of logs and error bodies, comparisons of secrets are constant-time, SQL goes through the ORM."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from werkzeug.routing import Rule

from multisms.logging_setup import configure_logging
from standins.signing import SIGNING_SECRET
from tests.conftest import API_TOKEN
from tests.send_helpers import numbers, post_signed
from tests.slack_helpers import BOT_TOKEN
from webhooks.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PANEL_PASSWORD = "correct horse battery staple"

GUARDS = {
    "health.health": "public (health check)",
    "home.home": "public (the panel, or a page of paths: no setting's value)",
    "panel.login": "public (the login form itself)",
    "panel.static": "public (CSS/JS)",
    "slack.events": "Slack signature",
    "twilio.": "Twilio signature",
    "api.": "API token",
    "panel.": "panel session",
}
"""Endpoint (or endpoint prefix) → what protects it. A new route without an entry fails the test."""
REFUSED = {"Slack signature": {401}, "Twilio signature": {403}, "API token": {401}, "panel session": {302, 401}}


def guard_of(endpoint: str) -> str | None:
    if endpoint in GUARDS:
        return GUARDS[endpoint]
    return next((guard for prefix, guard in GUARDS.items() if prefix.endswith(".") and
                 endpoint.startswith(prefix)), None)


@pytest.fixture
def full_app(configure, slack_api):
    """The app with everything switched on: Slack, Twilio, API token, panel."""
    settings = configure(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                         SLACK_API_URL=slack_api.api_url, PANEL_PASSWORD=PANEL_PASSWORD,
                         SLACK_INBOX_CHANNEL="CINBOX")
    return create_app(settings)


def routes(app) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)


def sample_url(rule: Rule) -> str:
    """The rule with each variable filled in (ints → 1, `any(…)` → its first choice)."""
    values = {}
    for name, converter in rule._converters.items():
        choices = getattr(converter, "items", None) or getattr(converter, "regex", "")
        values[name] = 1 if type(converter).__name__ == "IntegerConverter" else (
            sorted(choices)[0] if isinstance(choices, (set, frozenset, list, tuple)) and choices else "x")
    return rule.build(values, append_unknown=False)[1]


def test_every_route_has_a_guard(full_app):
    unguarded = [f"{rule.rule} ({rule.endpoint})" for rule in routes(full_app) if guard_of(rule.endpoint) is None]
    assert unguarded == [], "classify these routes in GUARDS (and protect them)"


def test_every_guarded_route_refuses_a_request_without_credentials(full_app):
    client = full_app.test_client()
    let_in = []
    for rule in routes(full_app):
        guard = guard_of(rule.endpoint)
        if guard not in REFUSED:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = client.open(sample_url(rule), method=method, data={"Body": "x"}).status_code
            if status not in REFUSED[guard]:
                let_in.append(f"{method} {rule.rule} → {status} (guard: {guard})")
    assert let_in == []


def test_wrong_credentials_are_refused_too(full_app, twilio_api):
    client = full_app.test_client()
    wrong_token = {"Authorization": "Bearer " + API_TOKEN + "x"}
    assert client.get("/api/multi-sms/batches", headers=wrong_token).status_code == 401
    assert client.get("/api/multi-sms/batches", headers={"Authorization": "Basic " + API_TOKEN}).status_code == 401
    form = twilio_api.inbound_form("+48600100000", "+15005550006", "hi")
    signed_elsewhere = post_signed(client, twilio_api, "/twilio/inbound", form, base="https://evil.example")
    assert signed_elsewhere.status_code == 403
    assert client.post("/panel/login", data={"password": "wrong"}).status_code in (400, 401, 403)


@pytest.mark.parametrize(("path", "content_type"), [
    ("/api/multi-sms/batches", "application/json"),
    ("/twilio/inbound", "application/x-www-form-urlencoded"),
    ("/slack/events", "application/x-www-form-urlencoded"),
])
def test_oversized_requests_are_refused_before_any_work(full_app, path, content_type):
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {API_TOKEN}", "X-Twilio-Signature": "x"}
    response = full_app.test_client().post(path, data=b"x" * (2 * 1024 * 1024), headers=headers)
    assert response.status_code == 413


def _source_files() -> list[Path]:
    packages = ("multisms", "bot", "jobs", "webhooks", "knowledge")
    return [path for package in packages for path in (ROOT / package).rglob("*.py")]


SECRET_WORDS = re.compile(r"token|password|secret|signature", re.IGNORECASE)


def test_secrets_are_compared_in_constant_time():
    """`==` on anything named like a secret leaks its length and prefix through timing."""
    offenders = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                text = ast.unparse(node)
                sides = [ast.unparse(n) for n in (node.left, *node.comparators)]
                if all(SECRET_WORDS.search(side) and "None" not in side for side in sides[:2]):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    assert offenders == []


def test_sql_goes_through_the_orm_or_bound_parameters():
    """Raw SQL only as constant strings: no f-string, `%` or `.format` ever builds a query."""
    offenders = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "text", "exec_driver_sql"):
                argument = node.args[0] if node.args else None
                if not isinstance(argument, ast.Constant):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


def test_logs_and_error_bodies_hold_no_secrets_or_full_numbers(
        full_app, configure, twilio_api, slack_api, run_jobs, capfd):
    """Drive the busy paths with logging as in production, then read every line written."""
    handler = configure_logging("DEBUG")
    try:
        client = full_app.test_client()
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        recipients = numbers(3, start=500)
        twilio_api.fail_number(recipients[0], 21211)
        bodies = [
            client.post("/api/multi-sms/batches", headers=auth, json={"body": "Hi", "recipients": recipients}),
            client.post("/api/multi-sms/batches", headers=auth, json={"body": "", "recipients": recipients}),
            client.get("/api/multi-sms/batches/999", headers=auth),
            client.get("/api/multi-sms/batches"),
            client.post("/twilio/inbound", data=twilio_api.inbound_form(recipients[1], "+15005550006", "STOP")),
        ]
        run_jobs()
        for body in ("Where is it?", "STOP"):
            post_signed(client, twilio_api, "/twilio/inbound",
                        twilio_api.inbound_form(recipients[2], "+15005550006", body))
        message = twilio_api.messages[0]
        post_signed(client, twilio_api, "/twilio/status",
                    twilio_api.status_callback_form(message, "undelivered", error_code="30003"))
        run_jobs()
    finally:
        import logging

        logging.getLogger().removeHandler(handler)
    written = capfd.readouterr()
    logs = written.out + written.err
    assert "level=" in logs and "jobs.send" in logs  # the logs were really captured
    secrets = [API_TOKEN, twilio_api.auth_token, BOT_TOKEN, SIGNING_SECRET, PANEL_PASSWORD]
    leaked_secrets = [s for s in secrets if s in logs]
    leaked_numbers = [n for n in recipients if n in logs or n[3:] in logs]
    assert (leaked_secrets, leaked_numbers) == ([], [])
    error_text = " ".join(r.get_data(as_text=True) for r in bodies if r.status_code >= 400)
    assert not [s for s in secrets if s in error_text]
