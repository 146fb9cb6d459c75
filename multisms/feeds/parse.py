"""Feed bytes → items a digest can cite: plain text, UTC times, and a key that stays the same.

feedparser only ever gets a byte stream: given a string it would fetch URLs or open local
files by itself. It does not expand external entities (only plain-text ones are kept).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.sax import SAXParseException

import feedparser

from multisms.errors import FeedError
from multisms.feeds.text import html_to_text, shorten

TITLE_MAX_CHARS = 300
SUMMARY_MAX_CHARS = 600
"""Enough for the AI to know what an item says; a full article would crowd out the others."""

_TOLERATED_XML_ERRORS = frozenset({"undefined entity"})
"""HTML entities such as &nbsp; in RSS are common and harmless; feedparser reads those feeds fine."""


@dataclass(frozen=True)
class FeedItem:
    """One entry; `key` is its guid, else its link, else a hash of title and time (stable across runs)."""

    key: str
    title: str
    link: str | None
    published: datetime | None
    summary: str


@dataclass(frozen=True)
class Feed:
    title: str
    items: list[FeedItem]


def parse_feed(data: bytes, url: str, *, content_type: str | None = None) -> Feed:
    """Read an RSS or Atom document fetched from `url`; raises `FeedError` when it is not one.

    `url` resolves relative links; `content_type` (the response header) may name the charset.
    """
    headers = {"content-location": url, **({"content-type": content_type} if content_type else {})}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    problem = _not_a_feed(parsed, data)
    if problem:
        raise FeedError(url, problem)
    items = [_item(entry) for entry in parsed.entries if _worth_keeping(entry)]
    return Feed(title=_text(parsed.feed, "title", TITLE_MAX_CHARS) or urlsplit(url).hostname or url, items=items)


def _not_a_feed(parsed, data: bytes) -> str | None:
    error = parsed.get("bozo_exception")
    if not parsed.get("version"):
        if _looks_like_html(data):
            return "not a feed: that address is a web page; use the site's RSS or Atom link"
        return f"not a feed: {_describe(error) if error else 'no RSS or Atom content'}"
    if isinstance(error, SAXParseException) and error.getMessage() not in _TOLERATED_XML_ERRORS:
        return f"not a valid feed: {_describe(error)}"
    return None


def _looks_like_html(data: bytes) -> bool:
    start = data[:1024].lstrip().lower()
    return start.startswith(b"<!doctype html") or b"<html" in start


def _describe(error: Exception) -> str:
    if isinstance(error, SAXParseException):
        return f"{error.getMessage()} at line {error.getLineNumber()}, column {error.getColumnNumber()}"
    return str(error) or type(error).__name__


def _worth_keeping(entry) -> bool:
    return bool(entry.get("title") or entry.get("link") or entry.get("summary"))


def _item(entry) -> FeedItem:
    published = _utc(entry.get("published_parsed") or entry.get("updated_parsed"))
    title = _text(entry, "title", TITLE_MAX_CHARS)
    summary = _text(entry, "summary", SUMMARY_MAX_CHARS) or _content(entry)
    link = entry.get("link") if _is_web_link(entry.get("link")) else None
    return FeedItem(key=_key(entry, published), title=title or "Untitled", link=link,
                    published=published, summary=summary)


def _key(entry, published: datetime | None) -> str:
    guid = (entry.get("id") or "").strip()
    link = (entry.get("link") or "").strip()
    if guid or link:
        return guid or link
    stamp = published.isoformat() if published else ""
    return hashlib.sha256(f"{(entry.get('title') or '').strip()}\n{stamp}".encode()).hexdigest()


def _text(node, field: str, limit: int) -> str:
    """A text field as plain text; feedparser says in `<field>_detail` whether it holds HTML."""
    value = node.get(field) or ""
    detail = node.get(f"{field}_detail") or {}
    if detail.get("type") == "text/plain":
        return shorten(value, limit)
    return html_to_text(value, limit)


def _content(entry) -> str:
    contents = entry.get("content") or []
    return html_to_text(contents[0].get("value", ""), SUMMARY_MAX_CHARS) if contents else ""


def _is_web_link(link: str | None) -> bool:
    return bool(link) and urlsplit(link).scheme in ("http", "https")


def _utc(parsed_time) -> datetime | None:
    """feedparser hands times over as UTC `struct_time`s; a date it could not read is None."""
    return datetime(*parsed_time[:6], tzinfo=UTC) if parsed_time else None
