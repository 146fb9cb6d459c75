"""The registry of `/multisms` commands and buttons: two dicts filled by two decorators.

A command module declares, on its handler, the verbs it answers to, how it reads the rest of
the line (its grammar), its help lines and who may use it:

    @command("status", grammar=batch_number, access="read", help={"status <id>": "what happened to a batch"})
    def status(bot: Bot, caller: Caller, batch_id: int) -> Reply: ...

A grammar is pure (no Slack, no database): `(verb, rest) -> arguments`, or it raises `Usage`.
A button is a handler `(bot, caller, value) -> Reply` declared with its Slack `action_id`.
`bot.commands.parse`, `run` and `press` read these tables; `help` lists them in import order.
Who may use each is `multisms.permissions`' one rule, applied by `run` and `press` before the handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.context import Bot, Caller, Reply

Access = Literal["send", "read", "approve", "stop", "open"]
"""`send`: sends or changes something; `read`: looks at batches, texts or the knowledge base, asks the AI;
`approve`: lets someone else's big batch or reminder go (never a shared identity); `stop`: cancels a
batch (whoever may send, also from the approvals channel); `open`: anyone (help)."""
AccessRule = Access | Callable[[Any], Access]
"""An access, or a function of what the grammar read (`remind list` reads, `remind add` sends)."""
GATED: frozenset[str] = frozenset({"send", "read", "approve", "stop"})
"""Accesses checked with `multisms.permissions.refusal` (MULTISMS_ALLOWED_USERS / _CHANNELS, approvers)."""

Handler = Callable[[Bot, Caller, Any], Reply]
Grammar = Callable[[str, str], Any]


class Usage(Exception):
    """A command that could not be understood: what was wrong, and an example that works.

    Grammars raise it, `parse` returns it, handlers may raise it for a value they cannot use.
    """

    def __init__(self, problem: str, example: str):
        super().__init__(problem)
        self.problem, self.example = problem, example

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Usage) and (self.problem, self.example) == (other.problem, other.example)

    __hash__ = Exception.__hash__

    def __repr__(self) -> str:
        return f"Usage({self.problem!r}, {self.example!r})"


@dataclass(frozen=True)
class Call:
    """A command understood: its name (first verb) and what its grammar read from the line."""

    name: str
    args: Any = None


@dataclass(frozen=True)
class Command:
    verbs: tuple[str, ...]
    handler: Handler
    grammar: Grammar
    access: AccessRule
    help: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return self.verbs[0]

    def access_for(self, args: Any) -> Access:
        return self.access(args) if callable(self.access) else self.access


@dataclass(frozen=True)
class Button:
    action_id: str
    handler: Callable[[Bot, Caller, int], Reply]
    access: Access


COMMANDS: dict[str, Command] = {}
"""Every verb (aliases included) → its command."""
BUTTONS: dict[str, Button] = {}
"""Slack `action_id` → its button."""
HELP_LINES: list[tuple[str, str]] = []
"""(usage, what it does) in the order modules were imported; `help` shows them all."""


_WORD = re.compile(r"(\S+)\s*(.*)", re.DOTALL)


def first_word(text: str) -> tuple[str, str]:
    """`"Add  +48 600…"` → `("add", "+48 600…")`: a verb or action in lower case, and what follows it."""
    text = (text or "").strip()
    word, rest = _WORD.match(text).groups() if text else ("", "")
    return word.lower(), rest.strip()


def no_arguments(verb: str, rest: str) -> None:
    """The grammar of a command that takes nothing (anything after it is ignored)."""
    return None


def command(*verbs: str, access: AccessRule, help: Mapping[str, str], grammar: Grammar = no_arguments):
    """Register the decorated handler for `verbs` (lower case; the first is its name)."""

    def register(handler: Handler) -> Handler:
        taken = [verb for verb in verbs if verb in COMMANDS]
        if taken:
            raise ValueError(f"/multisms {taken[0]!r} is already a command ({COMMANDS[taken[0]].handler.__module__})")
        found = Command(tuple(verbs), handler, grammar, access, tuple(help.items()))
        COMMANDS.update(dict.fromkeys(verbs, found))
        HELP_LINES.extend(found.help)
        return handler

    return register


def button(action_id: str, *, access: Access):
    """Register the decorated handler for clicks on buttons with this `action_id`; its value is an id."""

    def register(handler: Callable[[Bot, Caller, int], Reply]) -> Callable[[Bot, Caller, int], Reply]:
        if action_id in BUTTONS:
            raise ValueError(f"{action_id!r} is already a button ({BUTTONS[action_id].handler.__module__})")
        BUTTONS[action_id] = Button(action_id, handler, access)
        return handler

    return register


def help_line(usage: str, text: str) -> None:
    """A help line about a feature that rides on another command (e.g. a time at the end of `send`)."""
    HELP_LINES.append((usage, text))


def verbs() -> list[str]:
    """The commands as the help lists them: each first word once, in help order."""
    return list(dict.fromkeys(usage.split(" ", 1)[0] for usage, _ in HELP_LINES))
