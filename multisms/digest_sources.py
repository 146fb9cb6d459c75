"""What a digest is written from: news feeds (`feed:<url>`), knowledge-base topics (`kb:<topic>`), pasted text.

One grammar for Slack (`digest add … | … | <sources>`) and REST (`body`). The text is stored as
typed and read again at each run, so lists show what the person wrote. Pasted text is the standing
part: with feeds or topics it is given to the AI next to what is new; alone, each run is written
from it as before. What a run may cite is chosen here (`pick`): new items only, newest first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

MAX_FEEDS = 10
"""Feeds are read one after another within the job's time; ten slow ones already take minutes."""
MAX_TOPICS = 5
MAX_TOPIC_CHARS = 200
MAX_URL_CHARS = 2000
MAX_ITEMS = 6
"""Items one digest cites: a 320-character text can tell a handful; the AI would drop more at random."""

_SOURCE = re.compile(r'(?<!\S)(?P<kind>feed|kb):(?:"(?P<quoted>[^"]*)"|“(?P<curly>[^”]*)”|(?P<word>\S*))',
                     re.IGNORECASE)


@dataclass(frozen=True)
class Sources:
    """A digest's sources as read from its text."""

    feeds: tuple[str, ...]
    topics: tuple[str, ...]
    text: str
    """The pasted text, without the `feed:` and `kb:` words."""

    @property
    def news(self) -> bool:
        """True when runs look for something new (feeds or topics); pasted text alone is rewritten each time."""
        return bool(self.feeds or self.topics)

    def describe(self) -> str:
        """`2 feeds, knowledge base: parking, pasted text` for lists and confirmations."""
        parts = [f"{len(self.feeds)} feed{'' if len(self.feeds) == 1 else 's'}"] if self.feeds else []
        parts += [f"knowledge base: {', '.join(self.topics)}"] if self.topics else []
        parts += ["pasted text"] if self.text else []
        return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class Item:
    """One thing a digest may cite: a feed's entry or a knowledge document, with the text the AI reads."""

    key: str
    """A hash of the item's own key; equal across runs for the same story (see `item_key`)."""
    source: str
    """`feed` or `kb`."""
    origin: str
    """The feed's address or the topic it was found by."""
    title: str
    link: str | None
    published: datetime | None
    summary: str


def read_sources(body: str) -> Sources:
    """Split a digest's text into feeds, topics and the rest (the pasted text)."""
    feeds: list[str] = []
    topics: list[str] = []
    for match in _SOURCE.finditer(body):
        value = next((v for v in match.group("quoted", "curly", "word") if v is not None), "")
        if match.group("kind").lower() == "feed":
            feeds.append(value)
        else:
            topics.append(" ".join(value.split()))
    text = "\n".join(" ".join(line.split()) for line in _SOURCE.sub(" ", body).splitlines())
    return Sources(tuple(dict.fromkeys(feeds)), tuple(dict.fromkeys(topics)), re.sub(r"\n{3,}", "\n\n", text).strip())


def problems(sources: Sources) -> list[dict]:
    """What is wrong with the sources, each `{"field": "body", "message": …}`; empty when they can be used."""
    found = [{"field": "body", "message": message} for message in _feed_problems(sources.feeds)]
    for topic in sources.topics:
        if not topic:
            found.append({"field": "body", "message": "`kb:` needs a topic, e.g. `kb:parking` or "
                                                      "`kb:\"opening hours\"`."})
        elif len(topic) > MAX_TOPIC_CHARS:
            found.append({"field": "body", "message": f"The topic “{topic[:40]}…” is {len(topic)} characters; "
                                                      f"the limit is {MAX_TOPIC_CHARS}."})
    if len(sources.topics) > MAX_TOPICS:
        found.append({"field": "body", "message": f"{len(sources.topics)} topics: a digest takes at most "
                                                  f"{MAX_TOPICS}."})
    if not (sources.news or sources.text):
        found.append({"field": "body", "message": "Give the digest something to write from: `feed:<address>`, "
                                                  "`kb:<topic>` or text pasted here."})
    return found


def _feed_problems(feeds: tuple[str, ...]) -> Iterable[str]:
    if len(feeds) > MAX_FEEDS:
        yield f"{len(feeds)} feeds: a digest reads at most {MAX_FEEDS}."
    for url in feeds:
        why = feed_address_problem(url)
        if why and "@" in url:  # never repeat a password back
            yield f"A feed address {why}"
        elif why:
            yield f"`feed:{url[:80]}` {why}" if url else f"`feed:` {why}"


def feed_address_problem(url: str) -> str | None:
    """Why `url` cannot be a feed's address (its shape only: where it points is checked when it is read)."""
    if not url:
        return "needs an address, e.g. `feed:https://news.example.com/rss`."
    if len(url) > MAX_URL_CHARS:
        return f"is longer than {MAX_URL_CHARS} characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a web address."
    if parts.scheme.lower() not in ("http", "https"):
        return "is not a web address: it must start with https:// (or http://)."
    if not parts.hostname:
        return "has no host name."
    if parts.username is not None or parts.password is not None:
        return "has a user name or password in it; feeds that need a login are not supported."
    return None


def item_key(own_key: str) -> str:
    """The stored form of an item's key: fixed length, whatever the feed's guid looks like."""
    return hashlib.sha256(own_key.encode()).hexdigest()


def pick(items: Iterable[Item], used: set[str], limit: int = MAX_ITEMS) -> tuple[list[Item], list[Item]]:
    """(cited, passed over): items not in `used`, each story once, newest first; past `limit`, passed over.

    Undated items keep their feed's order after the dated ones.
    """
    seen, fresh = set(used), []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            fresh.append(item)
    fresh.sort(key=lambda item: item.published.timestamp() if item.published else float("-inf"), reverse=True)
    return fresh[:limit], fresh[limit:]

