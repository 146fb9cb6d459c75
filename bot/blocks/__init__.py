"""Block Kit for every message the bot shows: the primitives here, one renderer module per feature.

`from bot.blocks import section, notice` for the building blocks; the renderers are
`bot.blocks.batch` (previews, progress, summaries, lists, recipients), `.knowledge` (AI
answers, the knowledge base), `.scheduling` (send times, reminders, digests) and `.optouts`.
Everything is a pure function → list[dict]; jobs use these to post, the terminal chat prints them.
"""

from bot.blocks.primitives import (
    LIST_BUDGET,
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_SECTION,
    actions,
    button,
    clip,
    code,
    context,
    duration,
    escape,
    fit,
    header,
    listing,
    money,
    notice,
    plural,
    quote,
    section,
    slack_date,
    usage,
    who,
)

__all__ = ["LIST_BUDGET", "MAX_BLOCKS", "MAX_HEADER", "MAX_SECTION", "actions", "button", "clip", "code", "context",
           "duration", "escape", "fit", "header", "listing", "money", "notice", "plural", "quote", "section",
           "slack_date", "usage", "who"]
