"""Automatic replies to inbound SMS: which mode is on, and whether this message may get one.

The mode starts as `AUTO_REPLY_MODE` and can be switched at run time from Slack; the switch
lives in Redis so every web and worker process sees it at once.
"""

from __future__ import annotations

from multisms.config import AUTO_REPLY_MODES, Settings

MODES = AUTO_REPLY_MODES
MODE_KEY = "multisms:auto-reply-mode"


def current_mode(connection, settings: Settings) -> str:
    stored = connection.get(MODE_KEY)
    mode = stored.decode() if isinstance(stored, bytes) else stored
    return mode if mode in MODES else settings.auto_reply_mode


def mode_problem(settings: Settings, mode: str) -> str | None:
    """Why the auto-reply mode cannot be switched to `mode` in this deployment, or None."""
    if mode != "ai":
        return None
    if not settings.openai_api_key:
        return "AI replies need an OpenAI key: set OPENAI_API_KEY, then switch again. Nothing changed."
    if settings.slack_configured and not settings.slack_inbox_channel:
        return ("AI replies need SLACK_INBOX_CHANNEL: the questions the AI hands to a person must land where "
                "people look. Set it, then switch again. Nothing changed.")
    return None


def set_mode(connection, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"Auto-reply mode must be one of {', '.join(MODES)}; got {mode!r}.")
    connection.set(MODE_KEY, mode)


def claim_ai_reply(connection, number: str, settings: Settings) -> bool:
    """One of AI_MAX_REPLIES per AI_REPLY_WINDOW_MINUTES for this number (shared by all workers).
    The count and its expiry are set in one transaction, so no crash leaves a count that never expires."""
    key = f"multisms:ai-replies:{number}"
    pipe = connection.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, max(int(settings.ai_reply_window_minutes * 60), 1), nx=True)
    count, _ = pipe.execute()
    return count <= settings.ai_max_replies


def claim_reply_slot(connection, number: str, settings: Settings) -> bool:
    """At most one automatic reply per number per `AUTO_REPLY_WINDOW_MINUTES` (all processes agree)."""
    seconds = max(int(settings.auto_reply_window_minutes * 60), 1)
    return bool(connection.set(f"multisms:auto-replied:{number}", 1, nx=True, ex=seconds))
