"""The `/multisms` commands, for Slack and the terminal chat alike: `parse` a line, `run` it, `press` a button.

Each command family is one module holding its grammar, handlers and help lines, registered
with the decorators of `bot.commands.registry`. A new command is one function in a family
module, or a new module plus one import line below (the order of these lines is the order of
`help`; family modules do not import each other). Parsing is pure; handlers take a `Bot`
(settings, database, Redis), a `Caller` (who, where, their time zone) and what the grammar
read, and return a `Reply` that Slack shows ephemerally and the terminal chat prints.
"""

from __future__ import annotations

import html
import re

from bot.blocks import usage as usage_blocks
from bot.commands.registry import BUTTONS, COMMANDS, GATED, Call, Handler, Usage, first_word, verbs
from bot.context import Bot, Caller, Reply, refusal, say
from multisms.errors import InvalidTransition, NotAllowed, NotFound

# One line per command family; `help` lists them in this order.
# isort: off
from bot.commands import send
from bot.commands import batches
from bot.commands import optouts
from bot.commands import autoreply
from bot.commands import knowledge
from bot.commands import scheduling
from bot.commands import contacts
from bot.commands import help
# isort: on
from bot.commands.send import SEND_EXAMPLE

__all__ = ["Call", "Usage", "autoreply", "batches", "contacts", "from_slack", "help", "knowledge", "optouts", "parse",
           "press", "run", "scheduling", "send"]

_SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_SLACK_BARE_LINK = re.compile(r"<([^<>|]*)>")


def parse(text: str) -> Call | Usage:
    """Read one command. Never raises: anything that is not a command comes back as `Usage`."""
    text = (text or "").strip()
    verb, rest = first_word(text)
    found = COMMANDS.get(verb)
    if found is None:
        return _unknown(verb, text)
    try:
        return Call(found.name, found.grammar(verb, rest))
    except Usage as usage:
        return usage


def run(bot: Bot, caller: Caller, parsed: Call | Usage) -> Reply:
    """Answer one parsed command: who may use it, then its handler."""
    if isinstance(parsed, Usage):
        return _explain(bot, parsed)
    found = COMMANDS[parsed.name]
    return _answer(bot, caller, found.access_for(parsed.args), found.handler, parsed.args)


def press(bot: Bot, caller: Caller, action_id: str, value: int) -> Reply:
    """Answer a click on a button (by its Slack `action_id`), or its label typed in the terminal chat."""
    found = BUTTONS[action_id]
    return _answer(bot, caller, found.access, found.handler, value)


def from_slack(text: str) -> str:
    """Undo Slack's formatting of command text: `<tel:+48…|+48 …>` → `+48 …`, `&amp;` → `&`.

    Links are unwrapped before anything else so their `|` is never read as the separator.
    """
    text = _SLACK_LINK.sub(lambda m: m.group(2), text or "")
    text = _SLACK_BARE_LINK.sub(lambda m: m.group(1).removeprefix("tel:").removeprefix("mailto:"), text)
    return html.unescape(text) if "&" in text else text


def _answer(bot: Bot, caller: Caller, access: str, handler: Handler, args) -> Reply:
    """Refuse who may not (`multisms.permissions`); a value the handler cannot use, or a domain refusal
    (no such batch, not in that state, not allowed), becomes the answer."""
    reason = refusal(bot.settings, caller, access) if access in GATED else None
    if reason:
        return say(reason)
    try:
        return handler(bot, caller, args)
    except Usage as usage:
        return _explain(bot, usage)
    except (NotFound, InvalidTransition, NotAllowed) as exc:
        return say(str(exc))


def _explain(bot: Bot, usage: Usage) -> Reply:
    return Reply(usage.problem, usage_blocks(usage.problem, usage.example, bot.prefix))


def _unknown(verb: str, text: str) -> Usage:
    if verb[:1] in "+0123456789(" and "|" in text:
        return Usage("To send, start with `send`.", f"send {text}")
    shown = verb if len(verb) <= 40 else verb[:40] + "…"
    return Usage(f"I don't know “{shown}”. Commands: " + ", ".join(verbs()) + ".", SEND_EXAMPLE)
