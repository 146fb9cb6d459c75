"""Requests signed the way Slack and Twilio sign them, for tests and bench/ alike.

Why one home: the app refuses anything unsigned, so every driver of it (pytest stories,
load benchmarks) needs the same signatures and request bodies. Signatures come from the
providers' own SDK code (`slack_sdk.signature`, `twilio.request_validator`), never a copy.
"""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

SIGNING_SECRET = "test-signing-secret-0123456789"
"""The Slack signing secret the tests and benchmarks configure the app with."""


def signed_headers(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    """Slack's `X-Slack-Request-Timestamp` / `X-Slack-Signature` for a form-encoded `body`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded"}


def slash_body(text: str, *, user: str, channel: str, response_url: str, trigger_id: str = "trigger-1") -> str:
    """The form Slack posts for `/multisms text`."""
    return urlencode({"token": "legacy", "team_id": "T1", "team_domain": "team", "channel_id": channel,
                      "channel_name": channel.lower(), "user_id": user, "user_name": user.lower(),
                      "command": "/multisms", "text": text, "api_app_id": "A1", "response_url": response_url,
                      "trigger_id": trigger_id})


def action_body(action_id: str, value: str, *, user: str, channel: str, response_url: str,
                ephemeral: bool) -> str:
    """The form Slack posts when someone clicks a button (`block_actions`)."""
    container = {"type": "message", "is_ephemeral": ephemeral, "channel_id": channel, "message_ts": "1.000001"}
    payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
               "api_app_id": "A1", "token": "legacy", "container": container, "trigger_id": "trigger-2",
               "channel": {"id": channel}, "response_url": response_url,
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                            "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)})


def view_body(view: dict, *, user: str) -> str:
    """The form Slack posts when someone submits a modal (`view_submission`)."""
    payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
               "api_app_id": "A1", "token": "legacy", "trigger_id": "trigger-3", "view": view}
    return urlencode({"payload": json.dumps(payload)})


def sign(auth_token: str, url: str, params: dict, algorithm: str | None = None) -> str:
    """Twilio's `X-Twilio-Signature` for a webhook POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params, algorithm)
