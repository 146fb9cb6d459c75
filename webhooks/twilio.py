"""`/twilio/*`: Twilio's webhooks. Every route is signed: `@twilio_signed` checks
`X-Twilio-Signature` with the SDK's `RequestValidator` over the public URL Twilio called,
`PUBLIC_BASE_URL` + path. Without `PUBLIC_BASE_URL` the routes answer 503 naming it: a
signature checked against a URL the caller chose (the Host header) proves little.
"""

from __future__ import annotations

import functools
import logging

from flask import Blueprint, Response, abort, request
from redis.exceptions import RedisError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from multisms import delivery, keywords, optouts
from multisms.numbers import mask, parse_number
from multisms.queues import RECEIVE_INBOUND, SHOW_REPLY_STATUS, enqueue, enqueue_progress
from multisms.storage import apply_delivery_status, get_batch, record_inbound
from multisms.twilio_errors import TWILIO_TO_RECIPIENT, describe
from webhooks import resources

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")

SEEN_SECONDS = 7 * 24 * 3600
"""How long a MessageSid is remembered: Twilio's retries come within minutes."""



UNVERIFIABLE = ("PUBLIC_BASE_URL is not set, so Twilio's signatures cannot be checked against the URL Twilio "
                "called. Set it to this app's public https address.")


def public_url(base: str) -> str:
    """The URL Twilio signed: `PUBLIC_BASE_URL` + path (+ query)."""
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def twilio_signed(view):
    """Refuse (403) any request not signed with our Twilio auth token; nothing is logged but the path.
    503 while PUBLIC_BASE_URL is unset (Twilio configured) or Twilio is not configured at all."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        settings = resources.settings()
        if settings.webhooks_unverifiable:
            return Response(UNVERIFIABLE, status=503, mimetype="text/plain")
        token = settings.twilio_auth_token
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(
                public_url(settings.public_base_url or ""), request.form, signature):
            log.warning("refused unsigned or forged Twilio request to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


@bp.post("/status")
@twilio_signed
def status():
    """A StatusCallback: move the recipient and message forward; duplicates and late ones change nothing.
    Slack is brought up to date by a job: the batch's message, or a texted thread reply's reaction."""
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
    reply = delivery.thread_reply(session, sid) if recipient is None else None
    session.commit()
    if reply is not None:
        enqueue(resources.redis(), SHOW_REPLY_STATUS, reply)
        return "", 204
    if recipient is None:
        log.info("status %s for unknown message %s", twilio_status, sid)
        return "", 204
    log.info("status %s for batch=%s to=%s", twilio_status, recipient.batch_id, mask(recipient.number_normalized))
    if get_batch(session, recipient.batch_id).slack_channel:
        enqueue_progress(resources.redis(), recipient.batch_id)
    return "", 204


@bp.post("/inbound")
@twilio_signed
def inbound():
    """An incoming SMS. Only what cannot wait happens here: the signature, idempotency (a Redis key per
    MessageSid), STOP/START honoured at once; storing it and everything after is a job
    (`jobs.inbound.receive`). Answers within milliseconds: empty TwiML, or the help text for HELP/INFO.
    """
    form = request.form
    sid, sender, body, to = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", ""), form.get("To", "")
    number = parse_number(sender).e164 or sender
    if not sid or not number:
        return _twiml(None)
    keyword = keywords.classify(body)
    if keyword in ("opt_out", "opt_in"):  # honoured before anything else, and twice is harmless
        session = resources.db()
        if keyword == "opt_out":
            optouts.add(session, number, "stop_keyword")
        else:
            optouts.remove(session, number)
        session.commit()
    log.info("inbound %s from %s keyword=%s", sid, mask(number), keyword)
    try:
        if not resources.redis().set(f"multisms:inbound:{sid}", 1, nx=True, ex=SEEN_SECONDS):
            return _twiml(None)  # Twilio retried: already taken
        enqueue(resources.redis(), RECEIVE_INBOUND, sid, number, to, body, keyword, job_id=f"inbound-{sid}")
    except RedisError:  # keep the text: stored now, so it is in the history even if nobody is told
        redis_failed(sid, number, to, body)
    return _twiml(resources.settings().inbound_help_text if keyword == "help" else None)


def redis_failed(sid: str, number: str, to: str, body: str) -> None:
    session = resources.db()
    record_inbound(session, sid=sid, from_number=number, to_number=to, body=body)
    session.commit()
    log.error("inbound %s from %s stored but not followed up: Redis is unavailable", sid, mask(number))


def _twiml(reply: str | None) -> Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(str(response), mimetype="text/xml")
