"""What every handler shares: the `Bot` (settings, database, Redis), the `Caller`, the `Reply`.

Slack listeners and the terminal chat build these and hand them to the same handlers.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis import Redis

from bot import blocks
from multisms.config import Settings
from multisms.db import session_scope
from multisms.queues import redis_connection

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

COMMAND = "/multisms"


class Bot:
    """Settings, a database session per call, and one Redis connection per app (made on first use)."""

    def __init__(self, settings: Settings, *, prefix: str = COMMAND + " "):
        self.settings = settings
        self.prefix = prefix
        """How commands are written in examples: `/multisms ` in Slack, nothing in the terminal."""
        self._redis: Redis | None = None
        self._lock = threading.Lock()

    @property
    def redis(self) -> Redis:
        with self._lock:
            if self._redis is None:
                self._redis = redis_connection(self.settings)
            return self._redis

    def session(self) -> AbstractContextManager[Session]:
        """A unit of work for domain functions (committed when the block ends); bot/ itself runs no SQL."""
        return session_scope(self.settings.database_url)


@dataclass(frozen=True)
class Caller:
    """Who asked, and from where: a Slack user in a channel, or the terminal chat (`shell`)."""

    created_by: str
    user: str | None = None
    channel: str | None = None

    @classmethod
    def slack(cls, user: str, channel: str | None) -> Caller:
        return cls(f"slack:{user}", user, channel)

    @property
    def source(self) -> str:
        """`slack` or `shell`: recorded with opt-outs."""
        return self.created_by.split(":", 1)[0]


@dataclass(frozen=True)
class Announcement:
    """A message for the whole channel; it becomes the batch's one channel message."""

    batch_id: int
    channel: str | None
    text: str
    blocks: list[dict]


@dataclass(frozen=True)
class Reply:
    """What the caller sees; `announce` goes to the channel; `follow` names a batch now sending."""

    text: str
    blocks: list[dict]
    announce: Announcement | None = None
    follow: int | None = None


def say(text: str, *, follow: int | None = None) -> Reply:
    return Reply(text, blocks.notice(text), follow=follow)


def refusal(settings: Settings, caller: Caller) -> str | None:
    """Why this caller may not send or change batches here, or None. The terminal chat always may:
    whoever runs it already has the server and its database."""
    if caller.user is None:
        return None
    if settings.allowed_users and caller.user not in settings.allowed_users:
        return ("Sorry, you are not on the list of people who may send texts (MULTISMS_ALLOWED_USERS). "
                f"Ask an admin to add your Slack id, {caller.user}.")
    if settings.allowed_channels and caller.channel not in settings.allowed_channels:
        allowed = ", ".join(f"<#{channel}>" for channel in sorted(settings.allowed_channels))
        return f"Sorry, texts can't be sent from this channel. Try {allowed}."
    return None
