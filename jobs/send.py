"""Send a confirmed batch: fast, within the sender's rate, and once per recipient.

A run claims its batch's pending recipients a group at a time (`multisms.claims`: one UPDATE
names the run) and keeps MULTI_SMS_CONCURRENCY requests to Twilio in flight; one writer
thread records the results in groups, so no send thread holds a database connection or waits
on one. The pacer (Redis) keeps every run of every worker under the sender's cap. A big batch
is shared: its first run queues helper runs (one per CHUNK recipients, at most MAX_RUNS) that
any worker takes; they all claim from the same batch, so N workers finish it close to N times
faster, and cancel, pause, progress and recovery work on the batch as a whole. While a run
works it keeps a heartbeat in Redis; if its process dies, `jobs.recovery` asks Twilio about
each claim it left before anything is sent again.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from jobs.send_writer import ResultWriter
from multisms import claims
from multisms.claims import Claimed, Outcome
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.delivery import find_accepted, finish_batch
from multisms.errors import GatewayError
from multisms.forget import ERASED, FORGOTTEN_NOTE
from multisms.gateway import SendResult, SmsGateway, make_gateway
from multisms.liveness import Heartbeat, new_identity
from multisms.models import Batch, Recipient, utcnow
from multisms.queues import SEND, enqueue, enqueue_progress, redis_connection
from multisms.quiet_hours import send_window
from multisms.ratelimit import SendPacer
from multisms.segments import analyze
from multisms.storage import get_batch, move_batch
from multisms.twilio_errors import BLOCKING, TWILIO_TO_RECIPIENT, describe, recipient_status_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
"""Tries per recipient for retryable errors (429, 5xx, timeouts), with exponential backoff and jitter."""
WATCH_SECONDS = 0.5
"""How often a run re-reads its batch's status: a cancel or pause stops the sends within about this long."""
BLOCKED_CHECK_SECONDS = 5
"""How often a run counts filtering reported later by status callbacks (its own refusals are counted at once)."""
CLAIM_GROUP = 40
"""Recipients claimed per statement. A run holds at most this many claimed-but-unsent recipients
beyond those in flight, so a crash leaves at most MULTI_SMS_CONCURRENCY + 2 × CLAIM_GROUP claims
per run for recovery to look up (one Twilio list request each)."""
CHUNK = 1000
"""Recipients per run of a big batch: a 10 000-recipient batch gets ten runs any worker may take."""
MAX_RUNS = 16


class Deferred(Exception):
    """The recipient's quiet hours begin before the message could go out: it waits until `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"deferred until {until.isoformat()}")
        self.until = until


def send_batch(batch_id: int, helper: bool = False) -> dict:
    """Send the batch's pending recipients once each. Safe to run again, or many times at once:
    `helper` runs join a batch another run started and never queue runs of their own."""
    settings = get_settings()
    connection = redis_connection(settings)
    with session_scope(settings.database_url) as session:
        batch = get_batch(session, batch_id)
        if batch.status == "pending":
            move_batch(session, batch, "processing")
        elif batch.status != "processing":
            return {"batch_id": batch_id, "skipped": batch.status}
        run = BatchRun(settings=settings, gateway=make_gateway(settings), connection=connection,
                       batch_id=batch_id, sender=batch.sender, body=batch.body, segments=max(batch.segments, 1),
                       from_slack=batch.slack_channel is not None)
        waiting = session.scalar(select(func.count()).select_from(Recipient).where(
            Recipient.batch_id == batch_id, Recipient.status == "pending", Recipient.due_by(utcnow()))) or 0
    if not helper:
        for _ in range(min(math.ceil(waiting / CHUNK), MAX_RUNS) - 1):
            enqueue(connection, SEND, batch_id, True, job_id=f"send-batch-{batch_id}-{uuid.uuid4().hex[:8]}")
    with Heartbeat(connection, run.identity, batch_id, settings.worker_heartbeat_seconds):
        run.send_all()
    outcome = finish_batch(settings, batch_id)
    if run.from_slack:
        enqueue_progress(connection, batch_id, final=True)
    return {**outcome, "sent_by_this_run": run.sent}


@dataclass
class BatchRun:
    """One execution of a batch's send; its `identity` is what `claimed_by` records."""

    settings: Settings
    gateway: SmsGateway
    connection: object
    batch_id: int
    sender: str
    body: str
    segments: int
    from_slack: bool
    identity: str = field(default_factory=new_identity)
    started_at: datetime = field(default_factory=utcnow)
    sent: int = 0

    def __post_init__(self):
        self.pacer = SendPacer(self.connection, self.settings, self.sender)
        self._stopped = threading.Event()
        self._checked_at = 0.0
        self._blocked_checked_at = time.monotonic()
        self._lock = threading.Lock()
        self.writer = ResultWriter(self.settings, self.connection, batch_id=self.batch_id, sender=self.sender,
                                   worker=self.identity, from_slack=self.from_slack, stop=self._stopped)

    def send_all(self) -> None:
        """Claim in groups on this thread, send on MULTI_SMS_CONCURRENCY threads, write on one more."""
        threads = max(1, self.settings.multi_sms_concurrency)
        work: queue.Queue[Claimed | None] = queue.Queue(maxsize=CLAIM_GROUP)
        self.writer.start()
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix=f"batch-{self.batch_id}") as pool:
                senders = [pool.submit(self._send_loop, work) for _ in range(threads)]
                try:
                    self._claim_loop(work)
                finally:
                    for _ in senders:
                        work.put(None)
                for future in senders:
                    future.result()
        finally:
            self.writer.close()

    def _claim_loop(self, work: queue.Queue) -> None:
        while not self.stopped():
            with session_scope(self.settings.database_url) as session:
                group = claims.claim_group(session, self.batch_id, self.identity, CLAIM_GROUP, utcnow())
            if not group:
                return
            for claimed in group:
                if claimed.opted_out:  # STOP may arrive after the batch was created
                    self.writer.add(Outcome(claimed.recipient_id, claimed.number, self._text(claimed), "opted_out",
                                            error_message="opted out before sending"))
                elif claimed.body == ERASED:  # the number was forgotten on request: a retry must not text it
                    self.writer.add(Outcome(claimed.recipient_id, claimed.number, ERASED, "cancelled",
                                            error_message=FORGOTTEN_NOTE))
                else:
                    work.put(claimed)

    def _send_loop(self, work: queue.Queue) -> None:
        while (claimed := work.get()) is not None:
            if self.stopped():
                self.writer.release(claimed.recipient_id)
                continue
            self.send_one(claimed)

    def stopped(self) -> bool:
        """True once the batch is no longer `processing` (cancelled, paused): checked every 0.5 s."""
        if self._stopped.is_set():
            return True
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < WATCH_SECONDS:
                return False
            self._checked_at = now
        with session_scope(self.settings.database_url) as session:
            if session.scalar(select(Batch.status).where(Batch.id == self.batch_id)) != "processing":
                self._stopped.set()
        if not self._stopped.is_set() and now - self._blocked_checked_at >= BLOCKED_CHECK_SECONDS:
            self._blocked_checked_at = now
            self.pause_if_blocked()  # filtering reported later by status callbacks counts too
        return self._stopped.is_set()

    def send_one(self, claimed: Claimed) -> None:
        text = self._text(claimed)
        segments = self.segments if text == self.body else max(analyze(text).segments, 1)
        try:
            result = self._send_with_retries(claimed.number, text, segments)
        except GatewayError as exc:
            reason = describe(exc.code, exc.message)
            log.warning("send failed batch=%s code=%s: %s", self.batch_id, exc.code, reason)
            self.writer.add(Outcome(claimed.recipient_id, claimed.number, text, recipient_status_for(exc.code),
                                    error_code=exc.code, error_message=reason))
            if exc.code in BLOCKING:  # rare, and a pause must not wait for the next group write
                self.writer.flush()
                self.pause_if_blocked()
            return
        except Deferred as deferral:
            self.writer.release(claimed.recipient_id, until=deferral.until)
            return
        if result is None:  # stopped while waiting for the rate limit: give the claim back
            self.writer.release(claimed.recipient_id)
            return
        with self._lock:
            self.sent += 1
        self.writer.add(Outcome(claimed.recipient_id, claimed.number, text,
                                TWILIO_TO_RECIPIENT.get(result.status, "queued"), sid=result.sid))

    def _send_with_retries(self, to: str, text: str, segments: int) -> SendResult | None:
        """Send, retrying 429/5xx/timeouts; after a timeout, look the message up before sending again.

        Quiet hours are checked when the rate limit lets the message go, not when the batch started:
        a recipient whose night begins first is deferred (`Deferred`), and the message's
        ValidityPeriod ends before that night, so it cannot arrive in it from Twilio's queue.
        """
        state = {"ambiguous": False, "since": utcnow()}

        def attempt() -> SendResult | None:
            if state["ambiguous"]:
                found = find_accepted(self.settings, self.gateway, to=to, sender=self.sender, body=text,
                                      since=state["since"])
                if found:
                    return found
            if not self.pacer.wait(segments, self.stopped):
                return None
            validity, until = send_window(to, self.settings.quiet_window, utcnow(),
                                          timedelta(seconds=self.settings.multi_sms_validity_seconds))
            if validity is None:
                raise Deferred(until)
            try:
                return self.gateway.send(to=to, body=text, sender=self.sender,
                                         status_callback=self.settings.status_callback_url,
                                         validity_seconds=int(validity.total_seconds()))
            except GatewayError as exc:
                state["ambiguous"] = state["ambiguous"] or exc.ambiguous
                raise

        retrying = Retrying(
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_exponential(multiplier=0.5, max=8) + wait_random(0, 0.5),
            retry=retry_if_exception(lambda exc: isinstance(exc, GatewayError) and exc.retryable),
            reraise=True,
        )
        return retrying(attempt)

    def pause_if_blocked(self) -> None:
        """Too many opt-out/filtering errors since this run started: pause and say why."""
        threshold = self.settings.multi_sms_pause_threshold
        with session_scope(self.settings.database_url) as session:
            blocked = session.scalar(select(func.count()).select_from(Recipient).where(
                Recipient.batch_id == self.batch_id, Recipient.error_code.in_(BLOCKING),
                Recipient.updated_at >= self.started_at))
            batch = get_batch(session, self.batch_id)
            if blocked < threshold or batch.status != "processing":
                return
            move_batch(session, batch, "paused", error=(
                f"Paused after {blocked} messages were refused as spam-filtered (30007), from an unregistered "
                "sender (30034) or opted out (21610). Check the message and sender, then resume."))
        self._stopped.set()
        log.warning("batch %s paused after %s blocked sends", self.batch_id, blocked)

    def _text(self, claimed: Claimed) -> str:
        return claimed.body or self.body
