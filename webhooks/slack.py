"""`POST /slack/events`: slash commands, buttons, modals and events, handed to the Bolt App.

No logic here: Bolt verifies the signature and timestamp (401 otherwise) and the listeners
in `bot/` do the rest. Without Slack settings the route says what to configure.
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.app import build_app
from multisms.config import Settings

NOT_CONFIGURED = ("Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
                  "(see README, Connect Slack). Until then use the terminal chat: python -m bot.shell")


def init_app(app: Flask, settings: Settings) -> None:
    """Mount the Bolt App when Slack is configured; otherwise answer 503 with what to set."""
    bp = Blueprint("slack", __name__)
    if settings.slack_configured:
        handler = SlackRequestHandler(build_app(settings))
        bp.add_url_rule("/slack/events", "events", lambda: handler.handle(request), methods=["POST"])
    else:
        bp.add_url_rule("/slack/events", "events", lambda: (jsonify(error=NOT_CONFIGURED), 503), methods=["POST"])
    app.register_blueprint(bp)
