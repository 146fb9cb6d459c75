"""What Twilio's error codes mean for a recipient: one place, used by the send job, callbacks and retry."""

from __future__ import annotations

INVALID_NUMBER = frozenset({21211, 21217, 21401, 21407, 21612, 21614})
"""The number itself cannot receive SMS (not valid, not mobile, not routable)."""
OPTED_OUT = frozenset({21610})
"""The recipient replied STOP to this sender."""
FILTERED = frozenset({30007, 30034})
"""Carrier filtering (spam) or an unregistered A2P 10DLC sender: the content or sender needs attention."""
PERMANENT = INVALID_NUMBER | OPTED_OUT | frozenset({21408, 30004, 30005, 30006})
"""Errors a retry cannot fix; recipients with them are never retried."""
BLOCKING = OPTED_OUT | FILTERED
"""A burst of these pauses a batch instead of burning through the list."""

TWILIO_TO_RECIPIENT = {
    "accepted": "queued", "queued": "queued", "scheduled": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "cancelled",
}
"""Twilio's message statuses → ours (Twilio's `sending` is still "queued" at the carrier for us)."""

DESCRIPTIONS = {
    21211: "not a valid phone number",
    21408: "sending to this region is not enabled on the Twilio account",
    21610: "the recipient has opted out (replied STOP)",
    21612: "Twilio cannot route to this number",
    21614: "not a mobile number",
    21608: "trial account: the number is not verified",
    30001: "queue overflow: the message expired before it could be sent",
    30003: "unreachable handset",
    30004: "message blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "carrier filtered it as spam",
    30008: "unknown delivery error",
    30034: "sender not registered for A2P 10DLC",
}


def describe(code: int | None, fallback: str | None = None) -> str:
    """A short reason a person can act on."""
    if code is None:
        return fallback or "unknown error"
    return DESCRIPTIONS.get(code) or fallback or f"Twilio error {code}"


def recipient_status_for(code: int | None) -> str:
    """The final recipient status a send error leads to."""
    if code in INVALID_NUMBER:
        return "invalid"
    if code in OPTED_OUT:
        return "opted_out"
    return "failed"
