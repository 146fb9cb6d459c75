"""One SMS outside a batch (a team reply from Slack, an auto-reply, an AI answer).

Every such send goes through `send_single`, so opt-outs are enforced at send time, the body
is checked, and the message is recorded in `messages`, exactly as for batch sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from multisms.batches import validate_batch
from multisms.config import Settings
from multisms.db import session_scope
from multisms.errors import GatewayError
from multisms.gateway import SmsGateway, make_gateway
from multisms.numbers import NumberEntry, mask
from multisms.optouts import is_opted_out
from multisms.storage import record_message
from multisms.twilio_errors import TWILIO_TO_RECIPIENT, describe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """Whether the SMS went out, and a short reason to show in Slack either way."""

    sent: bool
    detail: str
    sid: str | None = None
    message_id: int | None = None
    """The `messages` row of a text that went out."""


def send_single(settings: Settings, to: str, body: str, *, gateway: SmsGateway | None = None,
                slack: tuple[str, str] | None = None) -> Outcome:
    """Send `body` to `to` unless they opted out or the body cannot be sent. `slack` is the (channel, ts) of
    the thread reply it texts, kept with the message so its delivery status can be shown there."""
    with session_scope(settings.database_url) as session:
        if is_opted_out(session, to):
            return Outcome(False, "not sent: this number has opted out (replied STOP)")
    check = validate_batch(body, [NumberEntry(to, e164=to)], sender=settings.default_sender, max_recipients=1)
    if not check.ok:
        return Outcome(False, "not sent: " + " ".join(p["message"] for p in check.problems))
    gateway = gateway or make_gateway(settings)
    try:
        result = gateway.send(to=to, body=body, sender=check.sender, status_callback=settings.status_callback_url)
    except GatewayError as exc:
        reason = describe(exc.code, exc.message)
        log.warning("single SMS to %s failed: %s", mask(to), reason)
        with session_scope(settings.database_url) as session:
            record_message(session, direction="outbound", from_number=check.sender, to_number=to, body=body,
                           status="failed", error_code=exc.code, slack=slack)
        return Outcome(False, f"not sent: {reason}")
    with session_scope(settings.database_url) as session:
        message = record_message(session, direction="outbound", from_number=check.sender, to_number=to, body=body,
                                 status=TWILIO_TO_RECIPIENT.get(result.status, "queued"), sid=result.sid, slack=slack)
        session.flush()
        return Outcome(True, "sent", result.sid, message.id)
