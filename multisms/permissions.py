"""Who may make the product text someone, read what was sent, or approve a big batch: one rule,
used by every entry point (Slack commands, buttons, forms, thread replies, the terminal chat,
REST, the web panel, reminders and digests at each occurrence).

- A Slack user may send and read when MULTISMS_ALLOWED_USERS is unset or names them, and they act
  in a channel MULTISMS_ALLOWED_CHANNELS allows (when it is set).
- The REST API (API_TOKEN), the web panel (PANEL_PASSWORD) and the terminal chat (the server itself)
  are shared identities: whoever holds them may send and read, but they name no person, so they
  can never be the second person who approves a batch.
- Approving needs an allowed Slack user who is not the batch's author; the approvals channel
  counts as an allowed place to do it, and to stop (cancel) a batch, which never texts anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from multisms.config import Settings

SHARED = {"api": "the REST API", "panel": "the web panel", "shell": "the terminal chat"}
"""Identities that stand for whoever holds a credential, not for one person."""

Action = Literal["send", "read", "approve", "stop"]


@dataclass(frozen=True)
class Actor:
    """Who acts: `slack:U…` (a person, in `channel`), or a shared identity (`api`, `panel`, `shell`).
    `who` is what a batch records as `created_by`."""

    who: str
    channel: str | None = None

    @classmethod
    def slack(cls, user: str, channel: str | None = None) -> Actor:
        return cls(f"slack:{user}", channel)

    @property
    def slack_user(self) -> str | None:
        return self.who.removeprefix("slack:") if self.who.startswith("slack:") else None

    @property
    def shared(self) -> bool:
        return self.slack_user is None


def refusal(settings: Settings, actor: Actor, action: Action = "send", *, author: str | None = None) -> str | None:
    """Why `actor` may not do `action` (None: they may). `author` is the batch's `created_by` for approvals."""
    if action == "approve":
        return _approve_refusal(settings, actor, author)
    if actor.shared:
        return None
    return _slack_refusal(settings, actor, action)


def _slack_refusal(settings: Settings, actor: Actor, action: Action) -> str | None:
    user = actor.slack_user
    if settings.allowed_users and user not in settings.allowed_users:
        doing = "read what was sent" if action == "read" else "send texts"
        return (f"Sorry, you are not on the list of people who may {doing} (MULTISMS_ALLOWED_USERS). "
                f"Ask an admin to add your Slack id, {user}.")
    places = settings.allowed_channels
    if action in ("approve", "stop") and settings.slack_approvals_channel:
        places = places | {settings.slack_approvals_channel}
    if settings.allowed_channels and actor.channel not in places:
        allowed = ", ".join(f"<#{channel}>" for channel in sorted(places))
        what = "multisms can't be used" if action in ("read", "stop") else "texts can't be sent"
        return f"Sorry, {what} from this channel. Try {allowed}."
    return None


def _approve_refusal(settings: Settings, actor: Actor, author: str | None) -> str | None:
    if actor.shared:
        return (f"Approvals come from a second person in Slack: {SHARED.get(actor.who, actor.who)} can create a "
                "big batch but never approve one.")
    if author is not None and actor.who == author:
        return "You created it, so someone else has to approve it."
    return _slack_refusal(settings, actor, "approve")
