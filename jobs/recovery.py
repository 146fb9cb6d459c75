"""Take over what a dead worker left behind: claims stuck in `sending`, batches with no owner.

Runs when a worker starts and then every few seconds from its maintenance loop (see
`jobs.worker`). The guarantee it keeps: a recipient is sent again only after the run that
claimed it is confirmed dead (its heartbeat lapsed on two looks, seconds apart) and Twilio's
Message list shows no message with this recipient's text to this number created since the
claim, whatever its status (`multisms.delivery.find_accepted`). A message Twilio did accept is
adopted (its SID and status recorded), never sent twice.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from multisms import claims
from multisms.config import Settings
from multisms.db import session_scope
from multisms.delivery import find_accepted, finish_batch, record_sent
from multisms.errors import GatewayError
from multisms.gateway import SmsGateway
from multisms.liveness import BEATS_PER_TTL, batch_has_owner, is_alive
from multisms.models import Recipient, utcnow
from multisms.queues import enqueue_send, get_queue
from multisms.storage import batch_counts, cancel_pending, get_batch, unfinished_batches

log = logging.getLogger(__name__)

LOCK_SECONDS = 60


def recover(settings: Settings, connection, gateway: SmsGateway) -> dict:
    """One recovery pass; only one worker at a time runs it (Redis lock)."""
    if not connection.set("multisms:recovery", 1, nx=True, ex=LOCK_SECONDS):
        return {"skipped": "another worker is recovering"}
    try:
        adopted, released = reconcile_stuck_claims(settings, connection, gateway)
        restarted = restart_orphaned_batches(settings, connection)
    finally:
        connection.delete("multisms:recovery")
    if adopted or released or restarted:
        log.warning("recovery: adopted %s sent messages, released %s claims, restarted batches %s",
                    adopted, released, restarted)
    return {"adopted": adopted, "released": released, "restarted": restarted}


def reconcile_stuck_claims(settings: Settings, connection, gateway: SmsGateway) -> tuple[int, int]:
    """For each claim of a dead run: adopt the message Twilio accepted, or release the claim."""
    with session_scope(settings.database_url) as session:
        claimed_before = utcnow() - timedelta(seconds=settings.worker_heartbeat_seconds)
        stuck = [(r.id, r.claimed_by) for r in claims.stuck(session, claimed_before)]
    owners = {owner for _, owner in stuck if not is_alive(connection, owner)}
    if not owners:
        return 0, 0
    # a Redis blip can hide one beat; a dead run misses both looks
    time.sleep(2 * settings.worker_heartbeat_seconds / BEATS_PER_TTL)
    dead = {owner for owner in owners if not is_alive(connection, owner)}
    adopted = released = 0
    for recipient_id, owner in stuck:
        if owner not in dead:
            continue
        try:
            if _adopt_if_accepted(settings, gateway, recipient_id):
                adopted += 1
                continue
        except GatewayError as exc:
            log.warning("recovery: cannot check Twilio for recipient %s yet: %s", recipient_id, exc.message)
            continue
        with session_scope(settings.database_url) as session:
            released += claims.release(session, owner, [recipient_id])
            batch = get_batch(session, session.get(Recipient, recipient_id).batch_id)
            if batch.status == "cancelled":
                cancel_pending(session, batch.id)
    return adopted, released


def restart_orphaned_batches(settings: Settings, connection) -> list[int]:
    """Queue again every confirmed batch that has work left and nobody sending it."""
    waiting_jobs = set(get_queue("sms", connection).job_ids)
    restarted = []
    with session_scope(settings.database_url) as session:
        batches = [(b.id, b.status) for b in unfinished_batches(session)]
        counts = batch_counts(session, [batch_id for batch_id, _ in batches])
    for batch_id, status in batches:
        if batch_has_owner(connection, batch_id) or any(j.startswith(f"send-batch-{batch_id}-") for j in waiting_jobs):
            continue
        by_status = counts[batch_id].by_status
        if by_status.get("pending") or status == "pending":
            enqueue_send(connection, batch_id)
            restarted.append(batch_id)
        elif status == "processing" and not by_status.get("sending"):
            finish_batch(settings, batch_id)
    return restarted


def _adopt_if_accepted(settings: Settings, gateway: SmsGateway, recipient_id: int) -> bool:
    with session_scope(settings.database_url) as session:
        recipient = session.get(Recipient, recipient_id)
        batch = get_batch(session, recipient.batch_id)
        to, sender, body, since = recipient.number_normalized, batch.sender, recipient.body or batch.body, \
            recipient.claimed_at
        batch_id = recipient.batch_id
    accepted = find_accepted(settings, gateway, to=to, sender=sender, body=body, since=since)
    if accepted is None:
        return False
    record_sent(settings, batch_id, recipient_id, sender=sender, to=to, body=body, result=accepted)
    return True
