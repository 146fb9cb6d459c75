"""`/multisms` text → a `Command`, or a `Usage` problem that says what was wrong and shows an example.

Pure: no Slack, no database. Slack and the terminal chat both parse with `parse()`, so
they understand exactly the same commands and answer mistakes with the same words.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from multisms.timespec import split_send_time

SEND_EXAMPLE = "send +48600123456, +48600123457 | Hello from the team!"
ID_COMMANDS = {
    "status": "what happened to a batch",
    "cancel": "stop a batch (recipients not yet sent are skipped)",
    "retry": "send again to recipients that failed",
    "resume": "continue a paused batch",
    "approve": "let someone else's big batch go (the author cannot)",
}
OPTOUT_ACTIONS = ("add", "remove", "list")
AUTOREPLY_MODES = ("off", "template", "ai")
KB_ACTIONS = ("add", "list", "remove", "search", "gaps")
KB_EXAMPLE = "kb add Parking is free for guests at the main entrance."
HELP_ALIASES = frozenset({"help", "?", "-h", "--help"})

HELP_LINES = (
    ("send <numbers> | <message>", "preview a batch, then Confirm or Cancel. Numbers are separated by "
                                   "spaces, commas, semicolons or new lines; `|` separates them from the message"),
    ("new", "open a form for numbers, message and sender (also: the command with nothing after it)"),
    ("status <id>", ID_COMMANDS["status"]),
    ("list", "your recent batches; `list channel` for this channel's"),
    ("cancel <id>", ID_COMMANDS["cancel"]),
    ("retry <id>", ID_COMMANDS["retry"]),
    ("resume <id>", ID_COMMANDS["resume"]),
    ("approve <id>", ID_COMMANDS["approve"]),
    ("optout add <number>", "never text this number again"),
    ("optout remove <number>", "allow texting it again"),
    ("optout list", "numbers that opted out"),
    ("autoreply [off|template|ai]", "show or switch automatic replies to incoming texts"),
    ("kb add <text or Slack file link>", "teach the AI: a note, or a Markdown, text, HTML or PDF file shared in "
                                         "Slack"),
    ("kb list", "what the knowledge base holds"),
    ("kb remove <id>", "take a document out of the knowledge base"),
    ("kb search <words>", "the excerpts the AI would read for these words, with their scores"),
    ("kb gaps", "questions the AI could not answer, newest first"),
    ("ask <question>", "an answer from the knowledge base, only for you, with its sources"),
    ("send <numbers> | <message> at 2026-12-01 09:00", "send later (your Slack time zone); or end the message "
                                                       "with `in 2h` or `in 30m`"),
    ("schedule list", "batches waiting for their time; `cancel <id>` still stops them"),
    ("reschedule <id> <time>", "move a batch that has not started: `at 2026-12-01 09:00`, `at 9:00`, `in 2h` "
                               "or `now`"),
    ("remind add <schedule> | <numbers> | <message>", "repeat a text, e.g. `every weekday at 9:00` or cron "
                                                      "`0 9 * * 1-5` (your time zone, or name one at the end)"),
    ("remind list", "recurring reminders and digests, with their next time"),
    ("remind pause|resume|delete <id>", "stop, restart or remove a reminder or digest"),
    ("digest add <schedule> | <numbers> | <source text>", "the AI writes a short text from the source each time; "
                                                          "it is sent once someone approves it here"),
    ("help", "this list"),
)
"""Every command with one line about it; the help text is built from this, so it lists them all."""

_SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_SLACK_BARE_LINK = re.compile(r"<([^<>|]*)>")
_WORD = re.compile(r"(\S+)\s*(.*)", re.DOTALL)
_BATCH_ID = re.compile(r"^#?(\d{1,18})$")
_SLACK_FILE_LINK = re.compile(r"^https?://\S+?/files(?:-pri)?/[A-Z0-9]+[/-](F[A-Z0-9]{6,})(?:[/?#]\S*)?$")
_SLACK_FILE_ID = re.compile(r"^(F(?=[A-Z0-9]*\d)[A-Z0-9]{6,})$")


@dataclass(frozen=True)
class Command:
    """What a person asked for. Only the fields of its `name` are filled in."""

    name: str
    numbers: str = ""
    message: str = ""
    batch_id: int | None = None
    scope: str = "mine"
    """For `list`: `mine` or `channel`."""
    action: str = ""
    """For `optout`: `add`, `remove` or `list`; for `autoreply`: the mode to switch to (empty: show it)."""
    number: str = ""
    """For `optout add|remove`: the number as typed (checked later, against DEFAULT_REGION)."""
    document_id: int | None = None
    """For `kb remove`."""
    file_id: str = ""
    """For `kb add` with a Slack file (link or id); otherwise the text is in `message`."""
    when: str = ""
    """For `send` and `reschedule`: the send time as typed (`in 2h`, `at 2026-12-01 09:00`)."""
    schedule: str = ""
    """For `remind add` / `digest add`: the schedule as typed (`every weekday at 9:00`)."""
    reminder_id: int | None = None
    """For `remind|digest pause|resume|delete`."""
    zone: str = ""
    """The author's time zone (Slack profile), filled in by the listener for commands with times."""


@dataclass(frozen=True)
class Usage:
    """A command that could not be understood: what was wrong, and an example that works."""

    problem: str
    example: str


def parse(text: str) -> Command | Usage:
    """Read one command. Never raises: anything that is not a command comes back as `Usage`."""
    text = (text or "").strip()
    if not text:
        return Command("new")
    verb, rest = _WORD.match(text).groups()
    verb, rest = verb.lower(), rest.strip()
    if verb == "send":
        return _send(rest)
    if verb == "new":
        return Command("new")
    if verb in ID_COMMANDS:
        return _with_batch_id(verb, rest)
    if verb == "list":
        return _list(rest)
    if verb == "optout":
        return _optout(rest)
    if verb == "autoreply":
        return _autoreply(rest)
    if verb == "kb":
        return _kb(rest)
    if verb == "ask":
        return Command("ask", message=rest) if rest else Usage("What would you like to ask?", "ask Is parking free?")
    if verb in ("schedule", "reschedule", "remind", "digest"):
        from bot import schedule_grammar  # imported here: it builds this module's Commands

        return schedule_grammar.parse(verb, rest)
    if verb in HELP_ALIASES:
        return Command("help")
    return _unknown(verb, text)


def from_slack(text: str) -> str:
    """Undo Slack's formatting of command text: `<tel:+48…|+48 …>` → `+48 …`, `&amp;` → `&`.

    Links are unwrapped before anything else so their `|` is never read as the separator.
    """
    text = _SLACK_LINK.sub(lambda m: m.group(2), text or "")
    text = _SLACK_BARE_LINK.sub(lambda m: m.group(1).removeprefix("tel:").removeprefix("mailto:"), text)
    return html.unescape(text) if "&" in text else text


def _send(rest: str) -> Command | Usage:
    if "|" not in rest:
        return Usage("Put a `|` between the numbers and the message.", SEND_EXAMPLE)
    numbers, _, message = rest.partition("|")
    numbers, message = numbers.strip(), message.strip()
    if not numbers:
        return Usage("Add the numbers before the `|`.", SEND_EXAMPLE)
    message, when = split_send_time(message)
    if not message:
        return Usage("Write the message after the `|`.", SEND_EXAMPLE)
    return Command("send", numbers=numbers, message=message, when=when or "")


def _with_batch_id(verb: str, rest: str) -> Command | Usage:
    match = _BATCH_ID.match(rest)
    if not match:
        given = f"“{rest}” is not a batch number" if rest else "Which batch? Add its number"
        return Usage(f"{given} (the # you see in the preview, e.g. 12).", f"{verb} 12")
    return Command(verb, batch_id=int(match.group(1)))


def _list(rest: str) -> Command | Usage:
    scope = rest.lower() or "mine"
    if scope not in ("mine", "channel"):
        return Usage(f"`list` shows `mine` or `channel`, not “{rest}”.", "list channel")
    return Command("list", scope=scope)


def _optout(rest: str) -> Command | Usage:
    action, number = _WORD.match(rest).groups() if rest else ("", "")
    action, number = action.lower(), number.strip()
    if action not in OPTOUT_ACTIONS:
        return Usage("Say what to do: `optout add <number>`, `optout remove <number>` or `optout list`.",
                     "optout add +48600123456")
    if action == "list":
        return Command("optout", action="list")
    if not number:
        return Usage(f"Add the number to {action}.", f"optout {action} +48600123456")
    return Command("optout", action=action, number=number)


def _autoreply(rest: str) -> Command | Usage:
    mode = rest.lower()
    if mode and mode not in AUTOREPLY_MODES:
        return Usage(f"Auto-reply can be {', '.join(AUTOREPLY_MODES)}, not “{rest[:40]}”.", "autoreply template")
    return Command("autoreply", action=mode)


def _kb(rest: str) -> Command | Usage:
    action, arg = _WORD.match(rest).groups() if rest else ("", "")
    action, arg = action.lower(), arg.strip()
    if action not in KB_ACTIONS:
        return Usage("Say what to do: `kb add <text or Slack file link>`, `kb list`, `kb remove <id>`, "
                     "`kb search <words>` or `kb gaps`.", KB_EXAMPLE)
    if action in ("list", "gaps"):
        return Command("kb", action=action)
    if action == "remove":
        match = _BATCH_ID.match(arg)
        if not match:
            return Usage("Which document? Add its number from `kb list`.", "kb remove 3")
        return Command("kb", action="remove", document_id=int(match.group(1)))
    if not arg:
        return Usage("Add the text (or a Slack file link) to add." if action == "add" else "Add the words to look for.",
                     KB_EXAMPLE if action == "add" else "kb search parking")
    file_id = _SLACK_FILE_LINK.match(arg) or _SLACK_FILE_ID.match(arg)
    if action == "add" and file_id:
        return Command("kb", action="add", file_id=file_id.group(1))
    return Command("kb", action=action, message=arg)


def _unknown(verb: str, text: str) -> Usage:
    if verb[:1] in "+0123456789(" and "|" in text:
        return Usage("To send, start with `send`.", f"send {text}")
    shown = verb if len(verb) <= 40 else verb[:40] + "…"
    return Usage(f"I don't know “{shown}”. Commands: " + ", ".join(_verbs()) + ".", SEND_EXAMPLE)


def _verbs() -> list[str]:
    return list(dict.fromkeys(line.split(" ", 1)[0] for line, _ in HELP_LINES))
