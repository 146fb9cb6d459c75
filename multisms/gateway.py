"""Where SMS leave the building: Twilio (official SDK) or, with no credentials, the console.

Both answer `send()` with a `SendResult` or raise `GatewayError`, so the send job neither
knows nor cares which one it talks to.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from multisms.batches import MESSAGING_SERVICE_SID
from multisms.config import Settings
from multisms.numbers import mask

log = logging.getLogger(__name__)

RETRYABLE_TWILIO_CODES = frozenset({20429, 20500, 20503})


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it took the message."""

    sid: str
    status: str
    segments: int | None = None
    body: str | None = None


class GatewayError(Exception):
    """The provider refused or could not be reached.

    `retryable` is True for rate limits, server errors and connection failures, where the
    same request may succeed later; `ambiguous` is True when the request may have reached
    the provider (a read timeout), so a resend must first check it was not delivered.
    """

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None,
                 retryable: bool = False, ambiguous: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retryable = retryable
        self.ambiguous = ambiguous


class SmsGateway(Protocol):
    def send(self, *, to: str, body: str, sender: str, status_callback: str | None = None) -> SendResult: ...

    def find_sent(self, *, to: str, sender: str, since: datetime) -> list[SendResult]: ...


class TwilioGateway:
    """The Twilio Messages API through the official SDK, with timeouts and a pooled session."""

    def __init__(self, settings: Settings, *, pool_size: int = 32):
        http_client = TwilioHttpClient(timeout=settings.twilio_timeout_seconds)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        http_client.session.mount("https://", adapter)
        http_client.session.mount("http://", adapter)
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
        self.validity_period = settings.multi_sms_validity_seconds
        if settings.twilio_api_base_url:
            self.client.api.base_url = settings.twilio_api_base_url.rstrip("/")

    def send(self, *, to: str, body: str, sender: str, status_callback: str | None = None) -> SendResult:
        params = {"to": to, "body": body, "validity_period": self.validity_period}
        if MESSAGING_SERVICE_SID.match(sender):
            params["messaging_service_sid"] = sender
        else:
            params["from_"] = sender
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except requests.Timeout as exc:
            raise GatewayError("Twilio did not answer in time", retryable=True, ambiguous=True) from exc
        except requests.ConnectionError as exc:
            raise GatewayError("Twilio could not be reached", retryable=True) from exc
        segments = int(message.num_segments) if message.num_segments else None
        return SendResult(sid=message.sid, status=message.status, segments=segments)

    def find_sent(self, *, to: str, sender: str, since: datetime) -> list[SendResult]:
        """Messages to `to` created since `since` (used before resending after a crash)."""
        params = {"to": to, "date_sent_after": since}
        if not MESSAGING_SERVICE_SID.match(sender):
            params["from_"] = sender
        try:
            found = self.client.messages.list(**params, page_size=20, limit=20)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except requests.RequestException as exc:
            raise GatewayError("Twilio could not be reached", retryable=True) from exc
        return [SendResult(sid=m.sid, status=m.status, body=m.body) for m in found]


class ConsoleGateway:
    """No Twilio configured: print the SMS (number masked) and report it as sent."""

    def send(self, *, to: str, body: str, sender: str, status_callback: str | None = None) -> SendResult:
        sid = "CONSOLE" + uuid.uuid4().hex[:26]
        log.info("console SMS %s to %s from %s: %s", sid, mask(to), sender, body)
        return SendResult(sid=sid, status="sent")

    def find_sent(self, *, to: str, sender: str, since: datetime) -> list[SendResult]:
        return []


def make_gateway(settings: Settings) -> SmsGateway:
    """Twilio when its credentials are set, else the console."""
    return TwilioGateway(settings) if settings.twilio_configured else ConsoleGateway()


def _classify(exc: TwilioRestException) -> GatewayError:
    retryable = exc.status == 429 or exc.status >= 500 or exc.code in RETRYABLE_TWILIO_CODES
    return GatewayError(exc.msg or str(exc), code=exc.code, http_status=exc.status, retryable=retryable)
