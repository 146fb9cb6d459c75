"""Block Kit building blocks as pure functions: sections, buttons, lists cut to fit, friendly formats.

Slack refuses more than 50 blocks or a section text over 3000 characters, so every list
is cut with "…and N more" and `fit()` trims the rest. User text goes through `escape()`
so it can never mention, link or format. The feature renderers (`bot.blocks.batch`,
`.knowledge`, `.scheduling`, `.optouts`) are built from these.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
LIST_BUDGET = 2600
"""Characters of a number list in one section; the rest of the 3000 is left for its title."""


def escape(text: str) -> str:
    """Slack reads `&`, `<` and `>` as markup; user text must not be able to mention or link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    return "`" + escape(text).replace("`", "'") + "`"


def clip(text: str, limit: int = MAX_SECTION) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER)}}


def button(label: str, action_id: str, value: int | str, style: str | None = None) -> dict:
    element = {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id,
               "value": str(value)}
    return {**element, "style": style} if style else element


def actions(*buttons: dict) -> dict:
    return {"type": "actions", "elements": list(buttons)}


def listing(items: Sequence[str], *, sep: str = "\n", budget: int = LIST_BUDGET) -> str:
    """Items joined until `budget` characters are used, then "…and N more"."""
    shown: list[str] = []
    used = 0
    for index, item in enumerate(items):
        if used + len(item) + len(sep) > budget:
            return sep.join(shown) + f"{sep}…and {len(items) - index} more"
        shown.append(item)
        used += len(item) + len(sep)
    return sep.join(shown)


def fit(blocks: list[dict]) -> list[dict]:
    """At most 50 blocks; a trailing actions block (the buttons) is always kept."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = blocks[-1:] if blocks[-1]["type"] == "actions" else []
    body = blocks[: len(blocks) - len(tail)]
    room = MAX_BLOCKS - len(tail) - 1
    return body[:room] + [context(f"…and {len(body) - room} more")] + tail


def quote(body: str, limit: int = 2000) -> str:
    return "\n".join("> " + line for line in escape(clip(body, limit)).split("\n"))


def who(created_by: str | None) -> str:
    """`slack:U1` → a mention; the terminal chat and the API by name."""
    if created_by and created_by.startswith("slack:"):
        return f"<@{created_by.removeprefix('slack:')}>"
    return {"shell": "the terminal chat", "api": "the REST API", "panel": "the web panel",
            "old_app": "the old app"}.get(created_by or "", "someone")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {round(seconds)} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"about {hours} h {minutes} min"


def slack_date(moment, fallback: str | None = None) -> str:
    """A time each Slack reader sees in their own zone; `fallback` (default: UTC) elsewhere."""
    text = escape(fallback or moment.strftime("%Y-%m-%d %H:%M UTC"))
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{text}>"


def money(amount: float, currency: str) -> str:
    text = f"{amount:,.2f}" if amount >= 1 or amount == 0 else f"{amount:.4f}".rstrip("0")
    return f"{text} {currency}"


# --- answers to one person (ephemeral) ----------------------------------------------------------

def notice(text: str) -> list[dict]:
    return [section(text)]


def usage(problem: str, example: str, prefix: str) -> list[dict]:
    """A command that could not be understood: what was wrong, an example that works, where help is."""
    return [section(f"{problem}\nExample: {code(prefix + example)}"),
            context(f"{code(prefix + 'help')} lists every command.")]
