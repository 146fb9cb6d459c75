"""Send a confirmed batch: fast, within the sender's rate, and once per recipient.

A pool of `MULTI_SMS_CONCURRENCY` threads drains the batch's pending recipients. Each
recipient is claimed in the database (`pending → sending`, one conditional UPDATE naming
this run) before it is sent, so two workers can never both send it. The pacer (Redis) keeps
every worker together under the sender's segments-per-second cap. While the job runs it
keeps a heartbeat in Redis; if the process dies, `jobs.recovery` sees it lapse and
reconciles what this run had claimed.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from jobs.liveness import Heartbeat, new_identity
from multisms import optouts
from multisms.config import Settings, get_settings
from multisms.db import session_scope
from multisms.delivery import find_accepted, finish_batch, record_sent
from multisms.gateway import GatewayError, SendResult, SmsGateway, make_gateway
from multisms.models import Recipient, utcnow
from multisms.numbers import mask
from multisms.queues import enqueue_progress, redis_connection
from multisms.quiet_hours import send_window
from multisms.ratelimit import SendPacer
from multisms.segments import analyze
from multisms.storage import (
    advance_recipient,
    claim_recipient,
    defer_claim,
    get_batch,
    move_batch,
    record_message,
    release_claim,
)
from multisms.twilio_errors import BLOCKING, OPTED_OUT, describe, recipient_status_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
"""Tries per recipient for retryable errors (429, 5xx, timeouts), with exponential backoff and jitter."""
WATCH_SECONDS = 0.5
"""How often a run re-reads its batch: a cancel or pause stops the sends within about this long."""


class Deferred(Exception):
    """The recipient's quiet hours begin before the message could go out: it waits until `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"deferred until {until.isoformat()}")
        self.until = until


def send_batch(batch_id: int) -> dict:
    """Send every pending recipient of the batch once. Safe to run again, or twice at once."""
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
        pending = session.scalars(
            select(Recipient.id).where(Recipient.batch_id == batch_id, Recipient.status == "pending",
                                       Recipient.due_by(utcnow()))
            .order_by(Recipient.id)
        ).all()
    with Heartbeat(connection, run.identity, batch_id, settings.worker_heartbeat_seconds):
        run.send_all(list(pending))
    outcome = finish_batch(settings, batch_id)
    if run.from_slack:
        enqueue_progress(connection, batch_id, final=True)
    return outcome


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

    def __post_init__(self):
        self.pacer = SendPacer(self.connection, self.settings, self.sender)
        self._stopped = threading.Event()
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def send_all(self, recipient_ids: list[int]) -> None:
        work = iter(recipient_ids)
        threads = max(1, min(self.settings.multi_sms_concurrency, len(recipient_ids)))
        with ThreadPoolExecutor(threads, thread_name_prefix=f"batch-{self.batch_id}") as pool:
            for future in [pool.submit(self._drain, work) for _ in range(threads)]:
                future.result()

    def _drain(self, work) -> None:
        while not self.stopped():
            with self._lock:
                recipient_id = next(work, None)
            if recipient_id is None:
                return
            self.send_one(recipient_id)

    def stopped(self) -> bool:
        """True once the batch is no longer `processing` (cancelled, paused): checked every 0.5 s."""
        if self._stopped.is_set():
            return True
        now = time.monotonic()
        if now - self._checked_at >= WATCH_SECONDS:
            self._checked_at = now
            with session_scope(self.settings.database_url) as session:
                if get_batch(session, self.batch_id).status != "processing":
                    self._stopped.set()
            if not self._stopped.is_set():
                self._pause_if_blocked()  # also counts filtering reported later by status callbacks
        return self._stopped.is_set()

    def send_one(self, recipient_id: int) -> None:
        with session_scope(self.settings.database_url) as session:
            if not claim_recipient(session, recipient_id, self.identity):
                return
            row = session.get(Recipient, recipient_id)
            to, text = row.number_normalized, row.body or self.body
            if optouts.is_opted_out(session, to):  # STOP may arrive after the batch was created
                advance_recipient(session, recipient_id, "opted_out", error_message="opted out before sending")
                return
        segments = self.segments if text == self.body else max(analyze(text).segments, 1)
        try:
            result = self._send_with_retries(to, text, segments)
        except GatewayError as exc:
            self._record_failure(recipient_id, to, text, exc)
            return
        except Deferred as deferral:
            with session_scope(self.settings.database_url) as session:
                defer_claim(session, recipient_id, self.identity, deferral.until)
            return
        if result is None:  # stopped while waiting for the rate limit: give the claim back
            with session_scope(self.settings.database_url) as session:
                release_claim(session, recipient_id, self.identity)
            return
        record_sent(self.settings, self.batch_id, recipient_id, sender=self.sender, to=to, body=text, result=result)
        if self.from_slack:
            enqueue_progress(self.connection, self.batch_id)

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

    def _record_failure(self, recipient_id: int, to: str, text: str, exc: GatewayError) -> None:
        status = recipient_status_for(exc.code)
        reason = describe(exc.code, exc.message)
        log.warning("send failed batch=%s to=%s code=%s: %s", self.batch_id, mask(to), exc.code, reason)
        with session_scope(self.settings.database_url) as session:
            advance_recipient(session, recipient_id, status, error_code=exc.code, error_message=reason)
            record_message(session, direction="outbound", from_number=self.sender, to_number=to, body=text,
                           status="failed", error_code=exc.code, batch_id=self.batch_id, recipient_id=recipient_id)
            if exc.code in OPTED_OUT:
                optouts.add(session, to, "twilio_21610")
        if exc.code in BLOCKING:
            self._pause_if_blocked()

    def _pause_if_blocked(self) -> None:
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
