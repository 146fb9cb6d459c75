"""Which addresses a feed may come from: public ones, plus the pairs FEED_ALLOWED_HOSTS lists.

Why: feed URLs are typed in Slack, and the worker that fetches them sits next to the database,
Redis and the cloud's metadata service. Every address a name resolves to is checked (one bad
answer refuses the name, so a DNS answer cannot smuggle in an internal address), and the caller
connects to an address returned here, never to the name again.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from multisms.errors import FeedError

Resolver = Callable[..., list]
"""`socket.getaddrinfo` or anything with its signature and answer shape (tests map names to addresses)."""

IPAddress = IPv4Address | IPv6Address

SHARED = ip_network("100.64.0.0/10")
"""Carrier-grade NAT space: not public, and not in `ipaddress`'s private list either."""

NAT64 = ip_network("64:ff9b::/96")
"""IPv6 addresses that carry an IPv4 address a NAT64 gateway would connect to."""

_KINDS = (
    (lambda ip: ip.is_unspecified, "an unspecified address"),
    (lambda ip: ip.is_loopback, "a loopback address"),
    (lambda ip: ip.is_link_local, "a link-local address"),
    (lambda ip: ip.is_multicast, "a multicast address"),
    (lambda ip: ip in SHARED, "a shared (carrier-grade NAT) address"),
    (lambda ip: ip.is_reserved, "a reserved address"),
    (lambda ip: ip.is_private, "a private address"),
    (lambda ip: not ip.is_global, "not a public address"),
)


def checked_addresses(url: str, host: str, port: int, *, allowed: frozenset[tuple[str, int]],
                      resolver: Resolver | None = None) -> list[str]:
    """The addresses to connect to for `host:port`, every one checked.

    Raises `FeedError` naming the first address that is not public, unless `(host, port)` is
    one of the `allowed` pairs (then its addresses are used as they resolve).
    """
    literal = _literal(host)
    addresses = [literal] if literal else _resolve(url, host, port, resolver or socket.getaddrinfo)
    if (host, port) not in allowed:
        for address in addresses:
            kind = non_public_kind(address)
            if kind and literal:
                raise FeedError(url, f"{host} is {kind}")
            if kind:
                raise FeedError(url, f"{host} resolves to {_shown(address)}, {kind}")
    return [str(address) for address in addresses]


def non_public_kind(address: IPAddress) -> str | None:
    """Why `address` is not a public one ("a private address"), or None when it is public.

    An IPv6 address that carries an IPv4 one is judged by the IPv4 address it reaches.
    """
    reached = _embedded_ipv4(address) or address
    return next((words for test, words in _KINDS if test(reached)), None)


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address (each reaches IPv4)."""
    if address.version == 4:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _shown(address: IPAddress) -> str:
    """IPv4-mapped addresses the way people write them (Python 3.11 prints ::ffff:a00:5)."""
    mapped = getattr(address, "ipv4_mapped", None)
    return f"::ffff:{mapped}" if mapped else str(address)


def _literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def _resolve(url: str, host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        answers = resolver(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FeedError(url, f"{host} could not be found ({_words(exc)})") from exc
    addresses = list(dict.fromkeys(ip_address(sockaddr[0].split("%")[0]) for *_, sockaddr in answers))
    if not addresses:
        raise FeedError(url, f"{host} could not be found (no address)")
    return addresses


def _words(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
