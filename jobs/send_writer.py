"""The one thread of a send run that writes to the database: outcomes and given-back claims, in groups.

Send threads hand their results here and go straight back to Twilio; every WRITE_EVERY seconds
(or WRITE_MAX results) the group is written in one transaction (`multisms.claims.record`). A
result that is not written yet when the process dies is a claim still in `sending`, which
recovery resolves by asking Twilio, so delaying the write never risks a second text.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import datetime

from tenacity import Retrying, stop_after_attempt, wait_exponential

from multisms import claims, optouts
from multisms.claims import Outcome
from multisms.config import Settings
from multisms.db import session_scope
from multisms.queues import enqueue_progress
from multisms.twilio_errors import OPTED_OUT

log = logging.getLogger(__name__)

WRITE_EVERY = 0.05
"""Seconds between group writes while results come in."""
WRITE_MAX = 200
"""Results that trigger a write at once."""
WRITE_ATTEMPTS = 5
"""A database blip is retried; if the write still fails the run stops and recovery takes over."""


class ResultWriter:
    """Collects a run's outcomes, released claims and deferrals; writes them in groups on its own thread."""

    def __init__(self, settings: Settings, connection, *, batch_id: int, sender: str, worker: str,
                 from_slack: bool, stop: threading.Event):
        self.settings, self.connection = settings, connection
        self.batch_id, self.sender, self.worker, self.from_slack = batch_id, sender, worker, from_slack
        self.stop = stop
        """Set when a write fails for good: the run stops taking claims."""
        self._outcomes: list[Outcome] = []
        self._released: dict[datetime | None, list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"batch-{batch_id}-writer", daemon=True)
        self.failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)
            full = len(self._outcomes) >= WRITE_MAX
        if full:
            self._wake.set()

    def release(self, recipient_id: int, *, until: datetime | None = None) -> None:
        """Give a claim back: not sent (stopped), or held until `until` (quiet hours)."""
        with self._lock:
            self._released[until].append(recipient_id)

    def close(self) -> None:
        """Write what is left and stop; raises if the last write failed (the run's claims stay for recovery)."""
        self._closing.set()
        self._wake.set()
        self._thread.join()
        if self.failure is not None:
            raise self.failure

    def _loop(self) -> None:
        while True:
            self._wake.wait(WRITE_EVERY)
            self._wake.clear()
            closing = self._closing.is_set()
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - kept for close(), which re-raises it in the job
                self.failure = exc
                self.stop.set()
                log.error("batch %s: results could not be written (%s); recovery will check Twilio",
                          self.batch_id, type(exc).__name__)
                return
            if closing:
                return

    def flush(self) -> None:
        """Write what has been collected now (the writer thread does this every WRITE_EVERY seconds)."""
        with self._writing:
            self._write()

    def _write(self) -> None:
        with self._lock:
            outcomes, self._outcomes = self._outcomes, []
            released, self._released = self._released, defaultdict(list)
        if not outcomes and not released:
            return
        for attempt in Retrying(stop=stop_after_attempt(WRITE_ATTEMPTS), wait=wait_exponential(0.1, max=2),
                                reraise=True):
            with attempt, session_scope(self.settings.database_url) as session:
                claims.record(session, self.batch_id, self.sender, outcomes)
                for until, ids in released.items():
                    claims.release(session, self.worker, ids, until=until)
                for outcome in outcomes:
                    if outcome.error_code in OPTED_OUT:
                        optouts.add(session, outcome.number, "twilio_21610")
        if self.from_slack and any(outcome.sent for outcome in outcomes):
            enqueue_progress(self.connection, self.batch_id)
