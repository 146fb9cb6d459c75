"""`optout add|remove|list`: numbers no batch may text, kept by hand besides those who replied STOP."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.optouts import optout_list
from bot.commands.registry import Usage, command, first_word
from bot.context import Bot, Caller, Reply, say
from multisms import optouts
from multisms.numbers import parse_number

ACTIONS = ("add", "remove", "list")
PAGE = 100


@dataclass(frozen=True)
class OptOut:
    """What to do, and with which number as typed (checked against DEFAULT_REGION by the handler)."""

    action: str
    number: str = ""


def read_optout(verb: str, rest: str) -> OptOut:
    action, number = first_word(rest)
    if action not in ACTIONS:
        raise Usage("Say what to do: `optout add <number>`, `optout remove <number>` or `optout list`.",
                    "optout add +48600123456")
    if action == "list":
        return OptOut("list")
    if not number:
        raise Usage(f"Add the number to {action}.", f"optout {action} +48600123456")
    return OptOut(action, number)


@command("optout", grammar=read_optout, access=lambda request: "read" if request.action == "list" else "send", help={
    "optout add <number>": "never text this number again",
    "optout remove <number>": "allow texting it again",
    "optout list": "numbers that opted out"})
def optout(bot: Bot, caller: Caller, request: OptOut) -> Reply:
    if request.action == "list":
        with bot.session() as session:
            rows, total = optouts.list_all(session, limit=PAGE)
            return Reply(f"{total} numbers opted out", optout_list([(r.number, r.source) for r in rows], total))
    entry = parse_number(request.number, bot.settings.default_region)
    if not entry.valid:
        raise Usage(f"“{request.number}” is not a number I can use: {entry.reason}.",
                    f"optout {request.action} +48600123456")
    with bot.session() as session:
        if request.action == "add":
            changed = optouts.add(session, entry.e164, caller.source)
            text = "has opted out: no batch will text it." if changed else "had already opted out."
        else:
            changed = optouts.remove(session, entry.e164)
            text = "may be texted again." if changed else "was not on the opt-out list."
    return say(f"{entry.e164} {text}")
