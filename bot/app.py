"""`build_app(settings)`: the Bolt App with every `/multisms` listener registered, and nothing else.

The App is mounted in Flask at `POST /slack/events` (webhooks/slack.py) or run over Socket
Mode (`python -m bot.socket`). Bolt checks each request's signature and timestamp before
any listener runs; listeners ack at once and do their work after.
"""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot import actions, commands, conversations, modals
from bot.client import slack_client
from bot.context import COMMAND, Bot
from multisms.config import Settings


def build_app(settings: Settings, client: WebClient | None = None, *,
              token_verification_enabled: bool = False) -> App:
    """The Bolt App for these settings (Slack must be configured: bot token and signing secret).

    The token is checked with `auth.test` on the first Slack request, not at start-up: a Slack
    outage must not keep the web process (Twilio webhooks, API) from booting.
    """
    bot = Bot(settings)
    app = App(client=client or slack_client(settings), signing_secret=settings.slack_signing_secret,
              token_verification_enabled=token_verification_enabled, name="multisms")
    app.command(COMMAND)(commands.slash_listener(bot, form=modals.new_batch_view))
    for action_id, handler in actions.BUTTONS.items():
        app.action(action_id)(actions.button_listener(bot, handler))
    app.view(modals.CALLBACK_ID)(modals.submission_listener(bot))
    app.event("message")(conversations.message_listener(bot))
    app.event("app_mention")(_not_yet)
    app.error(_apologise)
    return app


def _not_yet(ack) -> None:
    """Mentions are subscribed to (the manifest) but not acted on; acking them keeps Slack from
    retrying and from disabling the subscription."""
    ack()


def _apologise(error, body, respond, logger) -> None:
    """An unexpected failure: logged with its traceback; the person gets a short answer, not silence."""
    logger.error("Slack listener failed: %r", error, exc_info=error)
    if respond is not None:
        respond(text="Sorry, something went wrong on our side and it has been logged. Nothing new was sent.",
                response_type="ephemeral", replace_original=False)
