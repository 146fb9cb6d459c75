"""`help` (also `?`, `-h`, `--help`): every registered command with its line, built from the registry."""

from __future__ import annotations

from bot.blocks.primitives import LIST_BUDGET, code, context, section
from bot.commands.registry import HELP_LINES, command
from bot.context import Bot, Caller, Reply


@command("help", "?", "-h", "--help", access="open", help={"help": "this list"})
def show_help(bot: Bot, caller: Caller, _: None) -> Reply:
    rows = [f"• {code(bot.prefix + usage)}: {text}" for usage, text in HELP_LINES]
    parts = _sections(["*multisms: text many people at once*", *rows])
    return Reply("multisms commands", [
        *(section(part) for part in parts),
        context("A batch over the approval threshold needs a second person. Numbers without + or 00 "
                "are read in DEFAULT_REGION."),
        context("In a conversation thread, your reply is texted to the number (📤 sent · ✅ delivered · "
                "❌ not delivered); start it with note: to keep it in Slack. Edits are not sent again."),
    ])


def _sections(lines: list[str]) -> list[str]:
    """Lines grouped so no section passes Slack's 3000 characters (the list only grows)."""
    parts: list[list[str]] = [[]]
    used = 0
    for line in lines:
        if parts[-1] and used + len(line) + 1 > LIST_BUDGET:
            parts.append([])
            used = 0
        parts[-1].append(line)
        used += len(line) + 1
    return ["\n".join(part) for part in parts]
