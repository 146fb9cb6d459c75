"""`python -m bot.socket`: the same Bolt App over Socket Mode, for workspaces without a public URL.

Needs SLACK_APP_TOKEN (an `xapp-` app-level token with `connections:write`) besides the bot
token. Slack then delivers commands, buttons and modals over a websocket this process
opens, so `/slack/events` need not be reachable. Run it next to the worker instead of
(or besides) the web process.
"""

from __future__ import annotations

import sys

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import build_app
from multisms.config import get_settings
from multisms.logging_setup import configure_logging


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    if not (settings.slack_app_token and settings.slack_bot_token):
        print("Socket Mode needs SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN; see README, Connect Slack.",
              file=sys.stderr)
        return 2
    SocketModeHandler(build_app(settings), settings.slack_app_token).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
