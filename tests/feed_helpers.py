"""Helpers for feed tests: a resolver that answers from a mapping, and a log of what the process asked
of the network (Python's `socket.connect` / `socket.getaddrinfo` audit events), so a test can show
that a refused address was never even connected to."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def resolving(mapping: dict[str, list[str]], calls: list | None = None):
    """A resolver with getaddrinfo's shape that answers from `mapping` (and notes each question)."""
    def resolve(host, port, *_):
        if calls is not None:
            calls.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in mapping[host]]
    return resolve


class _SocketLog:
    recording: list | None = None
    installed = False

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.recording is not None and event == "socket.connect":
            cls.recording.append(("connect", args[1]))
        elif cls.recording is not None and event == "socket.getaddrinfo":
            cls.recording.append(("getaddrinfo", args[0]))


@contextmanager
def recorded_sockets() -> Iterator[list]:
    """Inside the block, every connect and name lookup of this process is appended to the list it gives."""
    if not _SocketLog.installed:  # audit hooks cannot be removed; this one only records while asked to
        sys.addaudithook(_SocketLog.hook)
        _SocketLog.installed = True
    _SocketLog.recording = []
    try:
        yield _SocketLog.recording
    finally:
        _SocketLog.recording = None


def connects(log: list) -> list:
    return [target for event, target in log if event == "connect"]
