"""`help` (also `?`, `-h`, `--help`): every registered command with its line, built from the registry."""

from __future__ import annotations

from bot.blocks.primitives import code, context, section
from bot.commands.registry import HELP_LINES, command
from bot.context import Bot, Caller, Reply


@command("help", "?", "-h", "--help", access="open", help={"help": "this list"})
def show_help(bot: Bot, caller: Caller, _: None) -> Reply:
    rows = "\n".join(f"• {code(bot.prefix + usage)}: {text}" for usage, text in HELP_LINES)
    return Reply("multisms commands", [
        section(f"*multisms: text many people at once*\n{rows}"),
        context("A batch over the approval threshold needs a second person. Numbers without + or 00 "
                "are read in DEFAULT_REGION."),
        context("In a conversation thread, your reply is texted to the number (📤 sent · ✅ delivered · "
                "❌ not delivered); start it with note: to keep it in Slack. Edits are not sent again."),
    ])
