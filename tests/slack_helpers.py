"""Pytest plugin: a Slack workspace in a test — signed requests to `POST /slack/events`.

Requests are signed the way Slack signs them (`standins.signing`),
sent through the Flask test client of `webhooks.app.create_app(settings)`, and the app's
real slack_sdk/Bolt calls land on the Slack stand-in. Bolt answers right after `ack()` and
runs the rest of a listener in its own thread, so tests wait for what Slack would see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

import pytest

from standins.signing import SIGNING_SECRET, action_body, signed_headers, slash_body, view_body

BOT_TOKEN = "xoxb-test"


def eventually(check: Callable[[], object], *, timeout: float = 5.0, what: str = "condition"):
    """Poll until `check()` is truthy (Bolt finishes listeners after the HTTP answer); return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass
class SlackWorkspace:
    """People typing `/multisms` and clicking buttons, as Slack would deliver it."""

    client: object
    api: object
    _names: count = field(default_factory=lambda: count(1))

    def post(self, body: str, **signing):
        return self.client.post("/slack/events", data=body, headers=signed_headers(body, **signing))

    def command(self, text: str, *, user: str = "U1", channel: str = "C1", wait: bool = True) -> dict | str:
        """Type `/multisms text`; returns the ephemeral answer (or, with wait=False, the response_url name)."""
        name = f"cmd{next(self._names)}"
        response = self.post(slash_body(text, user=user, channel=channel, response_url=self.api.response_url(name)))
        assert response.status_code == 200, response.get_data(as_text=True)
        return self.answer(name) if wait else name

    def click(self, action_id: str, value: int | str, *, user: str = "U1", channel: str = "C1",
              ephemeral: bool = True, wait: bool = True) -> dict | str:
        """Click a button; returns the answer to the clicker (or, with wait=False, the response_url name)."""
        name = f"click{next(self._names)}"
        body = action_body(action_id, str(value), user=user, channel=channel,
                           response_url=self.api.response_url(name), ephemeral=ephemeral)
        response = self.post(body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return self.answer(name) if wait else name

    def submit(self, view: dict, *, user: str = "U1"):
        return self.post(view_body(view, user=user))

    def answer(self, name: str) -> dict:
        return eventually(lambda: self.api.responses(name), what=f"an answer on {name}")[-1]


def event_body(text: str, *, channel: str, thread_ts: str, ts: str, user: str = "UPERSON", **extra) -> str:
    return json.dumps({
        "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": f"Ev{ts.replace('.', '')}", "event_time": 1700000000,
        "event": {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                  "thread_ts": thread_ts, **extra},
    })


def post_event(client, body: str, **headers):
    signed = {**signed_headers(body), "Content-Type": "application/json", **headers}
    return client.post("/slack/events", data=body, headers=signed)


def text_of(message: dict) -> str:
    """Everything a person could read in a message: its text and all block texts."""
    return json.dumps(message, ensure_ascii=False)


def button_values(message: dict) -> dict[str, str]:
    return {element["action_id"]: element["value"] for block in message.get("blocks", [])
            if block["type"] == "actions" for element in block["elements"]}


@pytest.fixture
def slack_settings(configure, slack_api):
    def apply(**env):
        return configure(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                         SLACK_API_URL=slack_api.api_url, **env)

    return apply


@pytest.fixture
def make_slack(slack_settings, slack_api):
    """`make_slack(MULTI_SMS_APPROVAL_THRESHOLD=1)` → a `SlackWorkspace` on an app built from those settings."""
    from webhooks.app import create_app

    def build(**env) -> SlackWorkspace:
        return SlackWorkspace(create_app(slack_settings(**env)).test_client(), slack_api)

    return build


@pytest.fixture
def slack(make_slack) -> SlackWorkspace:
    return make_slack()
