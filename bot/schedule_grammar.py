"""`schedule`, `reschedule`, `remind` and `digest`: text → `Command` or `Usage`, like `bot.grammar`.

Pure. Times and schedules are only checked for shape here (`multisms.timespec`); they are
read in the author's time zone by the handler, which knows it.
"""

from __future__ import annotations

import re

from bot.grammar import Command, Usage
from multisms.timespec import TimeProblem, is_send_time, parse_schedule

VERBS = ("schedule", "reschedule", "remind", "digest")
RECURRING_ACTIONS = ("add", "list", "pause", "resume", "delete")
REMIND_EXAMPLE = "remind add every weekday at 9:00 | +48600123456 | Stand-up in 15 minutes!"
DIGEST_EXAMPLE = "digest add every friday at 16:00 | +48600123456 | <this week's news, pasted here>"
RESCHEDULE_EXAMPLE = "reschedule 12 at 2026-12-01 09:00"

_ID_AND_REST = re.compile(r"^#?(\d{1,9})(?:\s+(.*))?$", re.DOTALL)
_WORD = re.compile(r"(\S+)\s*(.*)", re.DOTALL)


def parse(verb: str, rest: str) -> Command | Usage:
    if verb == "schedule":
        if rest.lower() in ("", "list"):
            return Command("schedule", action="list")
        return Usage("`schedule list` shows what is waiting; to send later, add a time to `send`.",
                     "send +48600123456 | Hello in 2h")
    if verb == "reschedule":
        return _reschedule(rest)
    return _recurring(verb, rest)


def _reschedule(rest: str) -> Command | Usage:
    match = _ID_AND_REST.match(rest)
    if not match:
        return Usage("Which batch, and when? Give its number and the new time.", RESCHEDULE_EXAMPLE)
    when = " ".join((match.group(2) or "").split())
    if not is_send_time(when):
        shown = f"“{when[:40]}” is not a time I can read" if when else "Add the new time"
        return Usage(f"{shown}: `at 2026-12-01 09:00`, `at 9:00`, `in 2h` or `now`.", RESCHEDULE_EXAMPLE)
    return Command("reschedule", batch_id=int(match.group(1)), when=when)


def _recurring(verb: str, rest: str) -> Command | Usage:
    example = DIGEST_EXAMPLE if verb == "digest" else REMIND_EXAMPLE
    action, tail = _WORD.match(rest).groups() if rest else ("", "")
    action, tail = action.lower(), tail.strip()
    if action not in RECURRING_ACTIONS:
        return Usage(f"Say what to do: `{verb} add`, `{verb} list`, or `{verb} pause|resume|delete <id>`.", example)
    if action == "list":
        return Command(verb, action="list")
    if action != "add":
        match = _ID_AND_REST.match(tail)
        if not match or match.group(2):
            return Usage(f"Which one? Add its number (from `{verb} list`).", f"{verb} {action} 3")
        return Command(verb, action=action, reminder_id=int(match.group(1)))
    parts = [part.strip() for part in tail.split("|", 2)]
    what = "source text" if verb == "digest" else "message"
    if len(parts) < 3 or not all(parts):
        return Usage(f"Write the schedule, the numbers and the {what}, separated by `|`.", example)
    try:
        parse_schedule(parts[0])
    except TimeProblem as exc:
        return Usage(str(exc), example)
    return Command(verb, action="add", schedule=parts[0], numbers=parts[1], message=parts[2])
