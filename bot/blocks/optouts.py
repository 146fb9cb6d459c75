"""Block Kit for the opt-out list (`optout list`): full numbers, for allowed people only."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.primitives import code, escape, listing, notice, section


def optout_list(rows: Sequence[tuple[str, str]], total: int) -> list[dict]:
    """(number, source) of numbers that opted out; `total` counts those not shown too."""
    if not rows:
        return notice("Nobody has opted out.")
    items = [f"• {code(number)} ({escape(source)})" for number, source in rows]
    more = f" (first {len(rows)} of {total})" if total > len(rows) else ""
    return [section(f"*Opted out: {total}*{more}\n" + listing(items))]
