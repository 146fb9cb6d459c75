"""Reading a digest's sources when it runs: each feed through the safe fetcher, each topic through the index.

Feeds are read one after another, each within FEED_TIMEOUT_SECONDS (at most MAX_FEEDS of them,
well inside the job's time limit). A source that cannot be read is noted with its reason and the
others still count. Nothing here decides what is new: `multisms.digest_sources.pick` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import openai

from knowledge.index import KnowledgeUnavailable
from knowledge.recent import changed_on_topic
from multisms.config import Settings
from multisms.digest_sources import Item, Sources, item_key
from multisms.errors import FeedError
from multisms.feeds import fetch_feed, parse_feed
from multisms.feeds.addresses import Resolver

log = logging.getLogger(__name__)


@dataclass
class Gathered:
    items: list[Item] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """`feed:<url>` or `kb:<topic>` → why it could not be read."""


def gather(settings: Settings, sources: Sources, since: datetime | None, *,
           resolver: Resolver | None = None) -> Gathered:
    """Every item the sources offer now; `since` bounds the knowledge documents (None: all of them).

    `resolver` replaces `socket.getaddrinfo` for the feeds (tests map names to addresses with it).
    """
    found = Gathered()
    for url in sources.feeds:
        try:
            found.items += feed_items(settings, url, resolver)
        except FeedError as exc:
            log.warning("digest feed from %s could not be read: %s", urlsplit(url).hostname, exc.reason)
            found.errors[f"feed:{url}"] = exc.reason
    for topic in sources.topics:
        try:
            found.items += changed_on_topic(settings, topic, since)
        except (openai.APIError, KnowledgeUnavailable) as exc:
            log.warning("digest topic could not be searched: %s", type(exc).__name__)
            found.errors[f"kb:{topic}"] = f"the knowledge base could not be searched ({type(exc).__name__})"
    return found


def feed_items(settings: Settings, url: str, resolver: Resolver | None = None) -> list[Item]:
    """The feed's entries as digest items; raises `FeedError` saying why it could not be read."""
    fetched = fetch_feed(url, settings, resolver=resolver)
    feed = parse_feed(fetched.data, fetched.url, content_type=fetched.content_type)
    return [Item(key=item_key(entry.key), source="feed", origin=url, title=entry.title, link=entry.link,
                 published=entry.published, summary=entry.summary) for entry in feed.items]
