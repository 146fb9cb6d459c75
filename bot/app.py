"""`build_app(settings)`: the Bolt App with every `/multisms` listener registered, and nothing else.

The App is mounted in Flask at `POST /slack/events` (webhooks/slack.py) or run over Socket
Mode (`python -m bot.socket`). Bolt checks each request's signature and timestamp before
any listener runs; listeners ack at once and do their work after. The slash command and the
buttons come from the command registry (`bot.commands`), the form from `bot.modals`, thread
replies from `bot.conversations`.
"""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot import conversations, modals
from bot.client import slack_client
from bot.commands import from_slack, parse, press, run
from bot.commands.registry import BUTTONS
from bot.context import COMMAND, Bot, Caller
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
    app.command(COMMAND)(slash_listener(bot))
    for action_id in BUTTONS:
        app.action(action_id)(button_listener(bot, action_id))
    app.view(modals.CALLBACK_ID)(modals.submission_listener(bot))
    app.event("message")(conversations.message_listener(bot))
    app.event("app_mention")(_not_yet)
    app.error(_apologise)
    return app


def slash_listener(bot: Bot):
    """`/multisms …`: ack at once, then answer through the response_url (or open the form)."""

    def on_command(ack, command, respond, client):
        ack()
        caller = Caller.slack(command["user_id"], command.get("channel_id"), client=client,
                              default_zone=bot.settings.default_timezone)
        reply = run(bot, caller, parse(from_slack(command.get("text", ""))))
        if reply.form:
            client.views_open(trigger_id=command["trigger_id"], view=modals.form_view(bot, caller))
            return
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    return on_command


def button_listener(bot: Bot, action_id: str):
    """One button: ack at once, act, answer only the person who clicked.

    On the ephemeral preview the answer replaces it (so its buttons go away); on a channel
    message it is a new ephemeral message.
    """

    def on_click(ack, body, action, respond, client):
        ack()
        caller = Caller.slack(body["user"]["id"], (body.get("channel") or {}).get("id"), client=client,
                              default_zone=bot.settings.default_timezone)
        value = str(action.get("value", ""))
        if not value.isdigit():
            respond(text="This button has no batch number; use the command instead.", response_type="ephemeral",
                    replace_original=False)
            return
        reply = press(bot, caller, action_id, int(value))
        on_preview = bool((body.get("container") or {}).get("is_ephemeral"))
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=on_preview)

    return on_click


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
