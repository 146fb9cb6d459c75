"""Where SMS leave the building: Twilio (official SDK) or, with no credentials, the console.

Both answer `send()` with a `SendResult` or raise `GatewayError`, so the send job neither
knows nor cares which one it talks to. The look-ups (`find_sent`, `recent`, `fetch`) are how
recovery and the delivery poller learn what Twilio did with a message whose answer we lost
or whose status callback never came.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
from multisms.errors import GatewayError
from multisms.numbers import mask

log = logging.getLogger(__name__)

RETRYABLE_TWILIO_CODES = frozenset({20429, 20500, 20503})
LOOKUP_PAGE_SIZE = 50
"""Messages per page when looking for one number's messages: one page nearly always suffices."""
LOOKUP_MAX_PAGES = 20
"""A claim whose number got more than 1000 messages since is not guessed at: recovery retries later."""
POLL_PAGE_SIZE = 1000
"""Twilio's largest page: the delivery poller reads a sender's recent messages a thousand at a time."""


@dataclass(frozen=True)
class SendResult:
    """What the provider says about a message: when it took it, or when we looked it up."""

    sid: str
    status: str
    segments: int | None = None
    body: str | None = None
    error_code: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Listing:
    """Messages from a paged look-up, and whether the pages reached back as far as asked."""

    messages: list[SendResult]
    complete: bool
    pages: int


class SmsGateway(Protocol):
    def send(self, *, to: str, body: str, sender: str, status_callback: str | None = None,
             validity_seconds: int | None = None) -> SendResult: ...

    def find_sent(self, *, to: str, sender: str, since: datetime) -> list[SendResult]: ...

    def recent(self, *, sender: str, since: datetime, max_pages: int) -> Listing: ...

    def fetch(self, sid: str) -> SendResult | None: ...


class TwilioGateway:
    """The Twilio Messages API through the official SDK, with timeouts and a pooled session."""

    def __init__(self, settings: Settings):
        http_client = TwilioHttpClient(timeout=settings.twilio_timeout_seconds)
        session = http_client.session
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(settings.multi_sms_concurrency, 4))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
        self.validity_period = settings.multi_sms_validity_seconds
        if settings.twilio_api_base_url:
            self.client.api.base_url = settings.twilio_api_base_url.rstrip("/")
        # Proxy and CA settings from the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE…) are read once
        # here instead of on every request: at hundreds of sends a second that lookup is a fifth of
        # the SDK's CPU time.
        found = session.merge_environment_settings(self.client.api.base_url, {}, None, None, None)
        session.proxies.update(found["proxies"] or {})
        session.verify = found["verify"]
        session.trust_env = False

    def send(self, *, to: str, body: str, sender: str, status_callback: str | None = None,
             validity_seconds: int | None = None) -> SendResult:
        params = {"to": to, "body": body, "validity_period": validity_seconds or self.validity_period}
        if MESSAGING_SERVICE_SID.match(sender):
            params["messaging_service_sid"] = sender
        else:
            params["from_"] = sender
        if status_callback:
            params["status_callback"] = status_callback
        with _translated_errors():
            message = self.client.messages.create(**params)
        segments = int(message.num_segments) if message.num_segments else None
        return SendResult(sid=message.sid, status=message.status, segments=segments)

    def find_sent(self, *, to: str, sender: str, since: datetime) -> list[SendResult]:
        """Every message to `to` from `sender` that Twilio created at or after `since`, whatever its
        status. No `DateSent` filter: a message still in Twilio's queue has no date_sent, and it is
        exactly the one a crash leaves behind. Raises a retryable `GatewayError` if the answer would
        need more than `LOOKUP_MAX_PAGES` pages."""
        params = {"to": to, "page_size": LOOKUP_PAGE_SIZE}
        if not MESSAGING_SERVICE_SID.match(sender):
            params["from_"] = sender
        listing = self._created_since(params, sender, since, LOOKUP_MAX_PAGES)
        if not listing.complete:
            raise GatewayError(f"more than {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} messages to {mask(to)} since "
                               "the claim; not guessing which is ours", retryable=True)
        return listing.messages

    def recent(self, *, sender: str, since: datetime, max_pages: int) -> Listing:
        """The sender's messages created since `since`, newest first, a thousand a page."""
        params = {"page_size": POLL_PAGE_SIZE}
        if not MESSAGING_SERVICE_SID.match(sender):
            params["from_"] = sender
        return self._created_since(params, sender, since, max_pages)

    def fetch(self, sid: str) -> SendResult | None:
        """One message by SID; None when Twilio does not know it."""
        try:
            with _translated_errors():
                return _result(self.client.messages(sid).fetch())
        except GatewayError as exc:
            if exc.http_status == 404:
                return None
            raise

    def _created_since(self, params: dict, sender: str, since: datetime, max_pages: int) -> Listing:
        """Walk the list newest first until a message created before `since`; a Messaging Service's
        messages are told apart by their service SID (their `from` is the pool number Twilio chose)."""
        service = sender if MESSAGING_SERVICE_SID.match(sender) else None
        found: list[SendResult] = []
        with _translated_errors():
            page = self.client.messages.page(**params)
            for pages in range(1, max_pages + 1):
                for message in page:
                    if message.date_created < since:
                        return Listing(found, True, pages)
                    if service is None or message.messaging_service_sid == service:
                        found.append(_result(message))
                if pages == max_pages:
                    break
                page = page.next_page()
                if page is None:
                    return Listing(found, True, pages)
        return Listing(found, False, max_pages)


class ConsoleGateway:
    """No Twilio configured: print the SMS (number masked) and report it as sent."""

    def send(self, *, to: str, body: str, sender: str, status_callback: str | None = None,
             validity_seconds: int | None = None) -> SendResult:
        sid = "CONSOLE" + uuid.uuid4().hex[:26]
        log.info("console SMS %s to %s from %s: %s", sid, mask(to), sender, body)
        return SendResult(sid=sid, status="sent")

    def find_sent(self, *, to: str, sender: str, since: datetime) -> list[SendResult]:
        return []

    def recent(self, *, sender: str, since: datetime, max_pages: int) -> Listing:
        return Listing([], True, 0)

    def fetch(self, sid: str) -> SendResult | None:
        return None


def make_gateway(settings: Settings) -> SmsGateway:
    """Twilio when its credentials are set, else the console."""
    return TwilioGateway(settings) if settings.twilio_configured else ConsoleGateway()


@contextmanager
def _translated_errors() -> Iterator[None]:
    """The SDK's and requests' exceptions as `GatewayError`, classified for retrying."""
    try:
        yield
    except TwilioRestException as exc:
        raise _classify(exc) from exc
    except requests.Timeout as exc:
        raise GatewayError("Twilio did not answer in time", retryable=True, ambiguous=True) from exc
    except requests.ConnectionError as exc:
        raise GatewayError("Twilio could not be reached", retryable=True) from exc
    except requests.RequestException as exc:
        raise GatewayError(f"Twilio's answer could not be read ({type(exc).__name__})", retryable=True) from exc


def _result(message) -> SendResult:
    code = int(message.error_code) if message.error_code else None
    return SendResult(sid=message.sid, status=message.status, body=message.body, error_code=code,
                      created_at=message.date_created)


def _classify(exc: TwilioRestException) -> GatewayError:
    retryable = exc.status == 429 or exc.status >= 500 or exc.code in RETRYABLE_TWILIO_CODES
    return GatewayError(exc.msg or str(exc), code=exc.code, http_status=exc.status, retryable=retryable)
