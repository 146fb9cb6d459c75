"""`/twilio/*`: Twilio's webhooks. Every route is signed: `@twilio_signed` checks
`X-Twilio-Signature` with the SDK's `RequestValidator` over the public URL Twilio called.
"""

from __future__ import annotations

import functools
import logging

from flask import Blueprint, abort, request
from twilio.request_validator import RequestValidator

from multisms.numbers import mask
from multisms.queues import enqueue_progress
from multisms.storage import apply_delivery_status, get_batch
from multisms.twilio_errors import TWILIO_TO_RECIPIENT, describe
from webhooks import resources

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")



def public_url() -> str:
    """The URL Twilio signed: `PUBLIC_BASE_URL` + path (+ query), else the URL as the proxy saw it."""
    base = resources.settings().public_base_url
    if not base:
        return request.url
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def twilio_signed(view):
    """Refuse (403) any request not signed with our Twilio auth token; nothing is logged but the path."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        token = resources.settings().twilio_auth_token
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
            log.warning("refused unsigned or forged Twilio request to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


@bp.post("/status")
@twilio_signed
def status():
    """A StatusCallback: move the recipient and message forward; duplicates and late ones change nothing."""
    sid = request.form.get("MessageSid", "")
    twilio_status = request.form.get("MessageStatus", "")
    status_name = TWILIO_TO_RECIPIENT.get(twilio_status)
    if not sid or status_name is None:
        return "", 204
    code = request.form.get("ErrorCode")
    error_code = int(code) if code and code.isdigit() else None
    session = resources.db()
    recipient = apply_delivery_status(session, sid, status_name, error_code,
                                      describe(error_code) if error_code else None)
    session.commit()
    if recipient is None:
        log.info("status %s for unknown message %s", twilio_status, sid)
        return "", 204
    log.info("status %s for batch=%s to=%s", twilio_status, recipient.batch_id, mask(recipient.number_normalized))
    if get_batch(session, recipient.batch_id).slack_channel:
        enqueue_progress(resources.redis(), recipient.batch_id)
    return "", 204
