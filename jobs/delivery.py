"""The delivery poller's pass, run from every worker's maintenance loop (one worker at a time).

Status callbacks can be missing (PUBLIC_BASE_URL unset) or lost; `multisms.delivery.poll_statuses`
asks Twilio instead. This wrapper keeps it to one pass at a time across workers and brings Slack up
to date: the messages of the batches it moved, the reactions of the thread replies it moved.
"""

from __future__ import annotations

import logging

from multisms.config import Settings
from multisms.db import session_scope
from multisms.delivery import PollReport, poll_statuses
from multisms.gateway import SmsGateway
from multisms.models import Batch
from multisms.queues import SHOW_REPLY_STATUS, enqueue, enqueue_progress

log = logging.getLogger(__name__)

LOCK_KEY = "multisms:delivery-poll"
LOCK_SECONDS = 120


def poll_pass(settings: Settings, connection, gateway: SmsGateway) -> PollReport | None:
    """One poll of accepted messages whose status is not final yet; None when another worker is polling."""
    if not settings.twilio_configured:
        return None
    if not connection.set(LOCK_KEY, 1, nx=True, ex=LOCK_SECONDS):
        return None
    try:
        report = poll_statuses(settings, gateway)
    finally:
        connection.delete(LOCK_KEY)
    if report.changed:
        log.info("delivery poll: %s of %s messages moved on (%s list calls, %s fetches)",
                 report.changed, report.checked, report.list_calls, report.fetches)
    with session_scope(settings.database_url) as session:
        followed = [batch_id for batch_id in report.batches if session.get(Batch, batch_id).slack_channel]
    for batch_id in followed:
        enqueue_progress(connection, batch_id)
    for message_id in report.replies:
        enqueue(connection, SHOW_REPLY_STATUS, message_id)
    return report
