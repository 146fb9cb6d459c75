"""Block Kit for conversation threads: the thread's first post, what happens to a team reply, its status.

A texted reply's delivery shows as a reaction on the person's own message (📤 sent, then ✅ delivered
or ❌ not delivered), so the thread stays a conversation rather than a log. Numbers are masked here.
"""

from __future__ import annotations

from bot.blocks.primitives import context, escape, section
from multisms.numbers import mask

SENT, DELIVERED, NOT_DELIVERED = "outbox_tray", "white_check_mark", "x"
"""Slack emoji names (no colons) of the reactions that show a texted reply's status."""
REACTION_OF_STATUS = {"queued": SENT, "sent": SENT, "delivered": DELIVERED, "undelivered": NOT_DELIVERED,
                      "failed": NOT_DELIVERED}
"""Our message statuses (accepted by Twilio = sent) → the reaction that shows it."""
STATUS_WORDS = {SENT: "📤 sent", DELIVERED: "✅ delivered", NOT_DELIVERED: "❌ not delivered"}


def how_replies_work(number: str) -> str:
    return (f"Replies here are texted to {mask(number)}; start with note: to keep one in Slack. "
            f"{' · '.join(STATUS_WORDS.values())}.")


def thread_root(number: str, origin: str = "") -> list[dict]:
    """The first post of a number's conversation thread."""
    return [section(f"💬 *Conversation with {mask(number)}*{origin}"), context(how_replies_work(number))]


def reply_refused(reason: str, number: str) -> str:
    """Ephemeral, to a person who may not text from here: their reply stays in Slack."""
    return f"{reason} Your reply stays in Slack: nothing was texted to {mask(number)}."


def reply_not_sent(number: str, detail: str, user: str) -> list[dict]:
    return [context(f"❌ {mask(number)}: {escape(detail)} (reply by <@{user}>)")]


def reply_status_line(number: str, status: str) -> str:
    """When reactions cannot be added (the app lacks `reactions:write`), a line in the thread instead."""
    return f"Reply to {mask(number)}: {STATUS_WORDS[REACTION_OF_STATUS[status]]}."


def not_delivered(number: str, reason: str) -> list[dict]:
    return [context(f"❌ The reply to {mask(number)} was not delivered: {escape(reason)}.")]


def already_texted(number: str, *, deleted: bool) -> list[dict]:
    """An edit or deletion after the SMS went: it is not sent again, and the thread says so."""
    if deleted:
        return [context(f"🗑️ A deleted reply had already been texted to {mask(number)}: deleting it in Slack "
                        "does not unsend the SMS.")]
    return [context(f"✏️ That reply was already texted to {mask(number)} as first written; edits are not sent. "
                    "To correct it, write a new reply.")]
