"""The `/multisms` commands: what each one does, for Slack and the terminal chat alike.

Handlers take a `Bot` (settings, database, Redis), a `Caller` (who, where) and a parsed
command, and return a `Reply` (text + blocks). Slack shows the reply ephemerally; the
terminal chat prints it. Only `slash_listener` knows about Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot import actions, blocks, kb, schedules
from bot.blocks import batch as batch_blocks
from bot.blocks.optouts import optout_list
from bot.context import Bot, Caller, Reply, refusal, say
from bot.grammar import HELP_LINES, SEND_EXAMPLE, Command, Usage, from_slack, parse
from multisms import autoreply, intake, optouts
from multisms.batches import Validation
from multisms.config import Settings
from multisms.errors import InvalidTransition, NotFound
from multisms.numbers import parse_number
from multisms.ratelimit import estimated_seconds
from multisms.storage import batch_counts, get_batch, list_batches

LIST_LIMIT = 10
OPTOUT_PAGE = 100


def run(bot: Bot, caller: Caller, parsed: Command | Usage) -> Reply:
    """Answer one parsed command; domain refusals (no such batch, wrong state) become replies."""
    if isinstance(parsed, Usage):
        return Reply(parsed.problem, blocks.usage(parsed.problem, parsed.example, bot.prefix))
    if parsed.name in GATED:
        reason = refusal(bot.settings, caller)
        if reason:
            return say(reason)
    try:
        return HANDLERS[parsed.name](bot, caller, parsed)
    except (NotFound, InvalidTransition) as exc:
        return say(str(exc))


def prepare(bot: Bot, caller: Caller, *, numbers: str, body: str, sender: str | None = None,
            note: str | None = None, send_at: datetime | None = None, zone: str | None = None,
            typed: str | None = None) -> Reply:
    """Validate and store a draft, then answer with its preview (or with what to fix).

    `send_at` makes it a send-later batch; `typed` is the time as the author wrote it.
    """
    validation, batch_id = draft(bot, caller, numbers=numbers, body=body, sender=sender, send_at=send_at)
    if batch_id is None:
        return Reply("I can't prepare this batch: " + validation.problems[0]["message"],
                     batch_blocks.problems(validation, example=bot.prefix + SEND_EXAMPLE))
    note = schedules.preview_note(bot.settings, validation, batch_id, send_at=send_at, zone=zone, typed=typed,
                                  extra=note)
    return preview_reply(bot, validation, batch_id, note)


def draft(bot: Bot, caller: Caller, *, numbers: str, body: str, sender: str | None = None,
          send_at: datetime | None = None) -> tuple[Validation, int | None]:
    """The validation, and the id of the stored draft (None when the batch has problems)."""
    with bot.session() as session:
        validation = intake.check(session, bot.settings, body=body, numbers=numbers, sender=sender)
        if not validation.ok:
            return validation, None
        batch = intake.submit(session, validation, created_by=caller.created_by, confirmed=False)
        batch.slack_channel = caller.channel
        batch.scheduled_at = send_at
        session.flush()
        return validation, batch.id


def preview_reply(bot: Bot, validation: Validation, batch_id: int, note: str | None = None) -> Reply:
    settings = bot.settings
    seconds = estimated_seconds(validation.total_segments, validation.sender, settings)
    text = (f"Preview of batch #{batch_id}: {blocks.plural(len(validation.recipients), 'recipient')}, "
            f"{validation.total_segments} segments. Confirm or Cancel.")
    return Reply(text, batch_blocks.preview(validation, batch_id=batch_id, price=settings.multi_sms_price_per_segment,
                                      currency=settings.multi_sms_currency, seconds=seconds, note=note))


def _send(bot: Bot, caller: Caller, command: Command) -> Reply:
    if command.when:
        return schedules.send_later(bot, caller, command, prepare)
    return prepare(bot, caller, numbers=command.numbers, body=command.message)


def _new(bot: Bot, caller: Caller, command: Command) -> Reply:
    return say(f"The form opens in Slack. Here, write `{bot.prefix}{SEND_EXAMPLE}`.")


def _status(bot: Bot, caller: Caller, command: Command) -> Reply:
    with bot.session() as session:
        batch = get_batch(session, command.batch_id)
        counts = batch_counts(session, [batch.id])[batch.id]
        return Reply(batch_blocks.progress_text(batch, counts), batch_blocks.status(batch, counts))


def _list(bot: Bot, caller: Caller, command: Command) -> Reply:
    if command.scope == "channel" and not caller.channel:
        return say("`list channel` works in a Slack channel; here, use `list`.")
    with bot.session() as session:
        if command.scope == "channel":
            title = f"Batches in <#{caller.channel}>"
            found, total = list_batches(session, limit=LIST_LIMIT, channel=caller.channel)
        else:
            title = "Your recent batches"
            found, total = list_batches(session, limit=LIST_LIMIT, created_by=caller.created_by)
        counts = batch_counts(session, [batch.id for batch in found])
        return Reply(title, batch_blocks.batch_list(found, counts, title=title, total=total))


def _by_id(action: Callable[[Bot, Caller, int], Reply]):
    """`cancel`/`retry`/`resume`/`approve <id>` do what the buttons of the same name do."""

    def handler(bot: Bot, caller: Caller, command: Command) -> Reply:
        return action(bot, caller, command.batch_id)

    return handler


def _optout(bot: Bot, caller: Caller, command: Command) -> Reply:
    if command.action == "list":
        with bot.session() as session:
            rows, total = optouts.list_all(session, limit=OPTOUT_PAGE)
            return Reply(f"{total} numbers opted out", optout_list([(r.number, r.source) for r in rows], total))
    entry = parse_number(command.number, bot.settings.default_region)
    if not entry.valid:
        problem = f"“{command.number}” is not a number I can use: {entry.reason}."
        return Reply(problem, blocks.usage(problem, f"optout {command.action} +48600123456", bot.prefix))
    with bot.session() as session:
        if command.action == "add":
            changed = optouts.add(session, entry.e164, caller.source)
            text = "has opted out: no batch will text it." if changed else "had already opted out."
        else:
            changed = optouts.remove(session, entry.e164)
            text = "may be texted again." if changed else "was not on the opt-out list."
    return say(f"{entry.e164} {text}")


def _autoreply(bot: Bot, caller: Caller, command: Command) -> Reply:
    """Show or switch the auto-reply mode for every process at once (kept in Redis)."""
    if command.action == "ai" and not bot.settings.openai_api_key:
        return say("AI replies need an OpenAI key: set OPENAI_API_KEY, then switch again. Nothing changed.")
    if command.action:
        autoreply.set_mode(bot.redis, command.action)
    mode = autoreply.current_mode(bot.redis, bot.settings)
    detail = {
        "off": "incoming texts are posted to Slack; nobody is answered automatically.",
        "template": f"each number gets “{bot.settings.auto_reply_template}” at most once per "
                    f"{bot.settings.auto_reply_window_minutes:g} minutes.",
        "ai": "questions are answered from the knowledge base, or handed to a person.",
    }[mode]
    return say(f"Auto-reply is {'now ' if command.action else ''}*{mode}*: {detail}")


def _help(bot: Bot, caller: Caller, command: Command) -> Reply:
    rows = "\n".join(f"• {blocks.code(bot.prefix + usage)}: {text}" for usage, text in HELP_LINES)
    return Reply("multisms commands", [
        blocks.section(f"*multisms: text many people at once*\n{rows}"),
        blocks.context("A batch over the approval threshold needs a second person. Numbers without + or 00 "
                       "are read in DEFAULT_REGION."),
    ])


HANDLERS = {
    "send": _send, "new": _new, "status": _status, "list": _list, "cancel": _by_id(actions.cancel),
    "retry": _by_id(actions.retry), "resume": _by_id(actions.resume), "approve": _by_id(actions.approve),
    "optout": _optout, "autoreply": _autoreply, "help": _help, "kb": kb.kb, "ask": kb.ask,
    **schedules.HANDLERS,
}
GATED = frozenset({"send", "new", "cancel", "retry", "resume", "approve", "optout", "autoreply", "kb",
                   *schedules.GATED})
"""Commands that send, change batches or show others' full numbers: only allowed users, in allowed channels."""


def slash_listener(bot: Bot, *, form: Callable[[Settings, Caller], dict]):
    """The Bolt listener for `/multisms`: ack at once, then answer through the response_url.

    `form` builds the modal for `new` (`bot.modals.new_batch_view`); it is passed in because
    bot.modals imports this module (its submission uses `draft`).
    """

    def on_command(ack, command, respond, client):
        ack()
        caller = Caller.slack(command["user_id"], command.get("channel_id"))
        parsed = parse(from_slack(command.get("text", "")))
        if schedules.needs_zone(parsed):
            parsed = replace(parsed, zone=schedules.author_zone(client, caller.user, bot.settings.default_timezone))
        if isinstance(parsed, Command) and parsed.name == "new":
            reason = refusal(bot.settings, caller)
            if reason:
                respond(text=reason, response_type="ephemeral")
                return
            client.views_open(trigger_id=command["trigger_id"], view=form(bot.settings, caller))
            return
        reply = run(bot, caller, parsed)
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    return on_command
