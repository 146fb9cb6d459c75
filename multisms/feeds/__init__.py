"""News feeds for digests: fetched safely (`fetch`) and read into items (`parse`).

A job calls `fetch_feed(url, settings)` then `parse_feed(fetched.data, fetched.url,
content_type=fetched.content_type)`; both raise `multisms.errors.FeedError` with the reason.
"""

from multisms.feeds.fetch import FeedFetch, fetch_feed
from multisms.feeds.parse import Feed, FeedItem, parse_feed

__all__ = ["Feed", "FeedFetch", "FeedItem", "fetch_feed", "parse_feed"]
