"""What every handler shares: the `Bot` (settings, database, Redis), the `Caller`, the `Reply`.

Slack listeners and the terminal chat build these and hand them to the same handlers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from multisms import permissions
from multisms.config import Settings
from multisms.db import session_scope
from multisms.permissions import Action, Actor
from multisms.queues import redis_connection

log = logging.getLogger(__name__)

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

    def session(self) -> AbstractContextManager:
        """A unit of work for domain functions (committed when the block ends); bot/ itself runs no SQL."""
        return session_scope(self.settings.database_url)


@dataclass(frozen=True)
class Caller:
    """Who asked, and from where: a Slack user in a channel, or the terminal chat (`shell`)."""

    created_by: str
    user: str | None = None
    channel: str | None = None
    find_zone: Callable[[], str] = field(default=lambda: "UTC", compare=False, repr=False)
    """Where `zone` comes from: Slack's `users.info`, or DEFAULT_TIMEZONE in the terminal chat."""

    @classmethod
    def slack(cls, user: str, channel: str | None, *, client: WebClient, default_zone: str) -> Caller:
        return cls(f"slack:{user}", user, channel, lambda: slack_zone(client, user, default_zone))

    @classmethod
    def shell(cls, settings: Settings) -> Caller:
        return cls("shell", find_zone=lambda: settings.default_timezone)

    @cached_property
    def zone(self) -> str:
        """The time zone this person's times are read in. Looked up only when a handler asks (a
        Slack API call), at most once per request."""
        return self.find_zone()

    @property
    def actor(self) -> Actor:
        """Who this is for the permission rule: a Slack user in a channel, or the shared terminal chat."""
        return Actor(self.created_by, self.channel)

    @property
    def source(self) -> str:
        """`slack` or `shell`: recorded with opt-outs."""
        return self.created_by.split(":", 1)[0]


@dataclass(frozen=True)
class Reply:
    """What the caller sees; `follow` names a batch now sending; `form` asks for the new-batch form
    (Slack's modal, the terminal chat's two questions)."""

    text: str
    blocks: list[dict]
    follow: int | None = None
    form: bool = False


def say(text: str, *, follow: int | None = None) -> Reply:
    return Reply(text, blocks.notice(text), follow=follow)


def refusal(settings: Settings, caller: Caller, action: Action = "send") -> str | None:
    """Why this caller may not `action` here, or None: the domain's one rule (`multisms.permissions`).
    The terminal chat is a shared identity: it may send and read, never approve."""
    return permissions.refusal(settings, caller.actor, action)


def slack_zone(client: WebClient, user: str | None, default: str) -> str:
    """The Slack user's time zone; `default` when Slack does not say (missing scope, no profile)."""
    if not user:
        return default
    try:
        return (client.users_info(user=user).get("user") or {}).get("tz") or default
    except SlackApiError as exc:
        log.warning("users.info failed (%s): reading times in %s", exc.response.get("error"), default)
        return default
