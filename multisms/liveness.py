"""Proof of life for a running send job, kept in Redis.

A send job refreshes two short-lived keys while it runs: one for its identity (which
`claimed_by` on each recipient names) and one for the batch. When the process dies the keys
lapse within `WORKER_HEARTBEAT_SECONDS`, and recovery knows the claims and the batch are orphaned.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

log = logging.getLogger(__name__)

BEATS_PER_TTL = 5
"""A heartbeat is refreshed five times per lifetime, so one slow beat never lets it lapse."""


def new_identity() -> str:
    """Host, process and a random part: unique per job run, readable in the database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def alive_key(identity: str) -> str:
    return f"multisms:alive:{identity}"


def owner_key(batch_id: int) -> str:
    return f"multisms:batch-owner:{batch_id}"


def is_alive(connection, identity: str | None) -> bool:
    return bool(identity) and bool(connection.exists(alive_key(identity)))


def batch_has_owner(connection, batch_id: int) -> bool:
    return bool(connection.exists(owner_key(batch_id)))


class Heartbeat:
    """Context manager: beats in a daemon thread while the block runs, deletes the keys after."""

    def __init__(self, connection, identity: str, batch_id: int, ttl: float):
        self.connection = connection
        self.identity = identity
        self.batch_id = batch_id
        self.ttl_ms = max(int(ttl * 1000), 1000)
        self.beat = ttl / BEATS_PER_TTL
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{batch_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.beat * 2)
        self.connection.delete(alive_key(self.identity))
        owner = self.connection.get(owner_key(self.batch_id))
        if owner is not None and owner.decode() == self.identity:  # another run of a big batch may hold it now
            self.connection.delete(owner_key(self.batch_id))

    def _run(self) -> None:
        while not self._stop.wait(self.beat):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - Redis blip: keep beating; recovery double-checks before acting
                log.warning("heartbeat for batch %s missed (Redis unavailable)", self.batch_id)

    def _beat(self) -> None:
        pipe = self.connection.pipeline()
        pipe.set(alive_key(self.identity), self.batch_id, px=self.ttl_ms)
        pipe.set(owner_key(self.batch_id), self.identity, px=self.ttl_ms)
        pipe.execute()
