"""Download one feed: checked addresses only, a few redirects, bounded in time and in size.

Why our own client: a general HTTP client resolves the name again when it connects (so the
address that was checked need not be the one reached), follows redirects anywhere and reads
whatever it is sent. Here each hop is checked by `addresses`, the connection goes to the
checked IP (TLS still verifies the certificate against the URL's host name), and the body is
read in pieces until FEED_MAX_BYTES, all within FEED_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from urllib3 import HTTPConnectionPool, HTTPResponse, HTTPSConnectionPool, Timeout
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from multisms.config import Settings
from multisms.errors import FeedError
from multisms.feeds.addresses import Resolver, checked_addresses

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
"""A feed that moved once or twice is normal; a longer chain is a misconfiguration or a trick."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
REQUEST_HEADERS = {
    "User-Agent": "multisms-feeds/1.0",
    "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    "Accept-Encoding": "gzip, deflate",
}


@dataclass(frozen=True)
class FeedFetch:
    """What a feed's address answered: the body, where it finally came from, and its type."""

    data: bytes
    url: str
    content_type: str | None


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    host_header: str
    path: str


class _Clock:
    """One deadline for the whole fetch; each wait gets only the time that is left."""

    def __init__(self, url: str, seconds: float):
        self.url, self.seconds = url, seconds
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise self.expired()
        return left

    def expired(self) -> FeedError:
        return FeedError(self.url, f"timed out after {self.seconds:g} s")


def fetch_feed(url: str, settings: Settings, *, resolver: Resolver | None = None) -> FeedFetch:
    """GET `url` safely and return its body; raises `FeedError` saying why it could not.

    `resolver` replaces `socket.getaddrinfo` (tests map names to addresses with it).
    """
    clock = _Clock(url, settings.feed_timeout_seconds)
    location = url
    for hop in range(MAX_REDIRECTS + 1):
        with _refused_on_the_way(url, location, hop):
            target = _target(url, location)
            addresses = checked_addresses(url, target.host, target.port,
                                          allowed=settings.feed_allowed_destinations, resolver=resolver)
        with _translated_errors(target, clock), _response(target, addresses, clock) as response:
            if response.status in REDIRECT_STATUSES:
                location = _redirect_location(url, target, response)
                continue
            if response.status != 200:
                raise FeedError(url, f"{target.host} answered {response.status} {response.reason or ''}".rstrip())
            data = _read_capped(url, response, settings.feed_max_bytes, clock)
        log.info("feed from %s: %d bytes after %d redirect(s)", target.host, len(data), hop)
        return FeedFetch(data, target.url, response.headers.get("Content-Type"))
    raise FeedError(url, f"more than {MAX_REDIRECTS} redirects")


@contextmanager
def _refused_on_the_way(url: str, location: str, hop: int) -> Iterator[None]:
    """A refusal on a redirect hop says where the feed tried to send us."""
    try:
        yield
    except FeedError as exc:
        if hop == 0:
            raise
        raise FeedError(url, f"it redirects to {location}, and {exc.reason}") from exc


def _target(url: str, location: str) -> _Target:
    try:
        parts = urlsplit(location)
        port = parts.port
        host = (parts.hostname or "").rstrip(".")
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except (ValueError, UnicodeError) as exc:
        raise FeedError(url, f"{location} is not a valid web address") from exc
    if parts.scheme not in ("http", "https"):
        raise FeedError(url, f"only http and https feeds can be read, not {parts.scheme or 'a bare path'}")
    if not host:
        raise FeedError(url, f"{location} has no host name")
    if parts.username is not None or parts.password is not None:
        raise FeedError(url, "feed addresses with a user name or password are not supported")
    name = f"[{host}]" if ":" in host else host
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(location, parts.scheme, host, port or default_port,
                   f"{name}:{port}" if port else name, path)


@contextmanager
def _response(target: _Target, addresses: list[str], clock: _Clock) -> Iterator[HTTPResponse]:
    """The response from the first checked address that takes the connection."""
    for index, address in enumerate(addresses):
        pool = _pool(target, address)
        try:
            try:
                response = pool.urlopen("GET", target.path, headers={**REQUEST_HEADERS, "Host": target.host_header},
                                        timeout=Timeout(connect=clock.left(), read=clock.left()),
                                        retries=False, redirect=False, preload_content=False,
                                        assert_same_host=False)
            except NewConnectionError:
                if index + 1 == len(addresses):
                    raise
                continue
            try:
                yield response
            finally:
                response.close()  # never drain: the rest of an over-long body stays unread
            return
        finally:
            pool.close()


def _pool(target: _Target, address: str) -> HTTPConnectionPool:
    if target.scheme == "https":
        return HTTPSConnectionPool(address, target.port, maxsize=1, retries=False, cert_reqs="CERT_REQUIRED",
                                   server_hostname=target.host, assert_hostname=target.host)
    return HTTPConnectionPool(address, target.port, maxsize=1, retries=False)


def _redirect_location(url: str, target: _Target, response: HTTPResponse) -> str:
    location = response.headers.get("Location")
    if not location:
        raise FeedError(url, f"{target.host} answered {response.status} without saying where to")
    return urljoin(target.url, location.strip())


def _read_capped(url: str, response: HTTPResponse, limit: int, clock: _Clock) -> bytes:
    """Read at most `limit` bytes (after gzip), piece by piece, each wait bounded by the deadline."""
    body = bytearray()
    while True:
        _wait_at_most(response, clock.left())
        piece = response.read1(min(CHUNK_BYTES, limit + 1 - len(body)))
        if not piece:
            return bytes(body)
        body += piece
        if len(body) > limit:
            raise FeedError(url, f"bigger than {_size(limit)}")


def _wait_at_most(response: HTTPResponse, seconds: float) -> None:
    connection = response.connection
    if connection is not None and connection.sock is not None:
        connection.sock.settimeout(seconds)


@contextmanager
def _translated_errors(target: _Target, clock: _Clock) -> Iterator[None]:
    """urllib3's and the socket's errors, as reasons a person can act on."""
    url = clock.url
    try:
        yield
    except NewConnectionError as exc:  # before timeouts: urllib3 makes it a kind of timeout
        raise FeedError(url, f"could not connect to {target.host}:{target.port}") from exc
    except (Urllib3Timeout, TimeoutError) as exc:
        raise clock.expired() from exc
    except SSLError as exc:
        raise FeedError(url, f"no secure connection to {target.host} ({_first_line(exc)})") from exc
    except (HTTPError, OSError) as exc:
        raise FeedError(url, f"the connection to {target.host} broke off ({_first_line(exc)})") from exc


def _first_line(exc: Exception) -> str:
    cause = exc
    while cause.__context__ is not None and not str(cause):
        cause = cause.__context__
    return (str(cause) or type(cause).__name__).splitlines()[0][:200]


def _size(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g} MB"
    if limit >= 1000:
        return f"{limit / 1000:g} KB"
    return f"{limit} bytes"
