"""`autoreply [off|template|ai]`: show or switch automatic replies to incoming texts.

The mode lives in Redis (`multisms.autoreply`), so a switch reaches every web and worker process at once.
"""

from __future__ import annotations

from bot.commands.registry import Usage, command
from bot.context import Bot, Caller, Reply, say
from multisms.autoreply import MODES, current_mode, mode_problem, set_mode


def read_mode(verb: str, rest: str) -> str:
    """The mode to switch to; empty to show the current one."""
    mode = rest.lower()
    if mode and mode not in MODES:
        raise Usage(f"Auto-reply can be {', '.join(MODES)}, not “{rest[:40]}”.", "autoreply template")
    return mode


@command("autoreply", grammar=read_mode, access=lambda mode: "send" if mode else "read",
         help={"autoreply [off|template|ai]": "show or switch automatic replies to incoming texts"})
def autoreply(bot: Bot, caller: Caller, mode: str) -> Reply:
    problem = mode_problem(bot.settings, mode) if mode else None
    if problem:
        return say(problem)
    if mode:
        set_mode(bot.redis, mode)
    shown = current_mode(bot.redis, bot.settings)
    detail = {
        "off": "incoming texts are posted to Slack; nobody is answered automatically.",
        "template": f"each number gets “{bot.settings.auto_reply_template}” at most once per "
                    f"{bot.settings.auto_reply_window_minutes:g} minutes.",
        "ai": "questions are answered from the knowledge base, or handed to a person.",
    }[shown]
    return say(f"Auto-reply is {'now ' if mode else ''}*{shown}*: {detail}")
