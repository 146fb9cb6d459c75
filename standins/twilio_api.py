"""Twilio Programmable Messaging stand-in (2010-04-01 Messages API).

Why: bulk-SMS code must be tested against Twilio's real wire format, auth,
error JSON, 429/5xx and timeouts, through the real ``twilio`` SDK.

Pointing the real SDK at it (checked against twilio 9.13 source)::

    client = twilio.rest.Client(sid, token, environment={})
    client.api.base_url = standin.base_url   # == standin.attach(client)

``Domain.absolute_url`` reads ``self.base_url`` on every request,
``client.messages`` is ``client.api.account.messages`` and list pages follow
``next_page_uri`` through the same domain, so that one attribute redirects
all Messages traffic (other domains, e.g. ``client.messaging``, are not
redirected).  ``Client.get_hostname`` rewrites the host when an edge/region is
set (also from TWILIO_EDGE/TWILIO_REGION), so ``attach`` clears both.
``TwilioHttpClient`` mounts its tuned adapter (pool size, ``max_retries``) on
``https://`` only; ``attach`` mounts the same adapter on ``http://``.
``standin.client(timeout=5)`` does all of this with a real TwilioHttpClient.

Message timeline (as Twilio documents it): a created message is ``queued`` (``accepted``
with a Messaging Service, ``from`` still null) with ``date_sent: null`` for ``queue_seconds``;
then it is ``sent`` with a ``date_sent`` (a Messaging Service message gets a pool number as
``from``); ``receipt_seconds`` later the carrier's receipt makes it ``delivered`` (or what
``undeliverable()`` set), or never when ``receipt_seconds`` is None, as with carriers that
send no receipts. A message still queued after its ``ValidityPeriod`` fails with 30001.
The list filters ``DateSent``, ``DateSent>`` and ``DateSent<`` select on ``date_sent``, so a
queued message never matches them; ``date_created`` is always set and has no filter.

Hung requests (``hang_next``): with ``accept=True`` (default) the message is
recorded *before* the hang, as when Twilio accepted it but the response never
arrived; a client that retries after its timeout then creates a duplicate.
With ``accept=False`` nothing is recorded and, if the client still waits, the
answer is 503 (code 20503).
"""
from __future__ import annotations

import base64
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from .server import Request, Response, StandIn, json_response

API_VERSION = "2010-04-01"
_LIST = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
_ONE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")

ERRORS = {  # default messages, as Twilio words them
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    30007: "Message filtered",
}

_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
           "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = set("^{}\\[~]|€\f")  # cost two septets each


def num_segments(body: str) -> int:
    """GSM-7: 160 / 153 per part; anything else (e.g. Polish ą, ł) is UCS-2: 70 / 67."""
    if all(c in _GSM or c in _GSM_EXT for c in body):
        units, single, multi = len(body) + sum(c in _GSM_EXT for c in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)


def twilio_error(code: int, status: int, message: str | None = None, headers=None, **fmt) -> Response:
    text = message or ERRORS.get(code, "Error").format(**{"to": "", "path": "", **fmt})
    body = {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return json_response(body, status, headers)


def _country(number: str) -> str:
    for prefix, cc in (("+48", "PL"), ("+44", "GB"), ("+49", "DE"), ("+1", "US")):
        if number.startswith(prefix):
            return cc
    return ""


def _parse_rfc2822(value: str | None) -> datetime | None:
    return parsedate_to_datetime(value) if value else None


def _parse_when(value: str, upper: bool) -> datetime | None:
    """'YYYY-MM-DD' (whole day, inclusive) or ISO-8601 datetime; None if unparsable."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if upper else day
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except ValueError:
        return None


class TwilioStandIn(StandIn):
    """Local Twilio Messages API; ``latency`` delays creates only (see module docstring)."""

    def __init__(self, account_sid: str = "AC" + "0" * 31 + "1", auth_token: str = "standin-token",
                 latency: float = 0.0):
        super().__init__(latency)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.service_from = "+15005550006"  # sender reported in callbacks for MG-only messages
        self.pool = ("+15017122661", "+15017122662", "+15017122663")  # a Messaging Service's numbers
        self.queue_seconds = 0.0
        """How long a created message waits in Twilio's queue (status queued/accepted, date_sent null)."""
        self.receipt_seconds: float | None = None
        """After leaving the queue, when the carrier's receipt arrives; None: never (status stays sent)."""
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # tz-aware; tests may pin it
        self._expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._init_state()

    def _init_state(self) -> None:
        self.messages: list[dict] = []  # accepted messages (wire JSON), in order
        self.create_forms: dict[str, dict] = {}  # sid -> form as posted (StatusCallback, ValidityPeriod...)
        self.create_attempts = 0
        self._by_sid: dict[str, tuple[datetime, dict]] = {}
        self._counts: Counter = Counter()
        self._fail: dict[str, tuple[int, int, str | None]] = {}
        self._undeliverable: dict[str, int] = {}
        self._pinned: set[str] = set()  # sids whose status a test set by hand: the timeline leaves them
        self.list_calls = 0
        self.fetch_calls = 0
        self.arrivals: list[float] = []  # wall clock (time.time) when each create request arrived
        self.accepted: list[tuple[str, float]] = []  # (to, wall clock) when each message was accepted

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._init_state()

    # -- SDK wiring ---------------------------------------------------------
    def attach(self, client: Any) -> Any:
        """Redirect an existing ``twilio.rest.Client``'s Messages traffic here."""
        client.api.base_url = self.base_url
        client.edge = client.region = None
        session = getattr(client.http_client, "session", None)
        if session is not None:
            session.mount("http://", session.get_adapter("https://"))
        return client

    def client(self, timeout: float = 5.0, **http_kwargs) -> Any:
        """A real ``twilio.rest.Client`` with a real ``TwilioHttpClient(timeout=...)``."""
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client
        http = TwilioHttpClient(timeout=timeout, **http_kwargs)
        return self.attach(Client(self.account_sid, self.auth_token, http_client=http, environment={}))

    # -- fault injection ----------------------------------------------------
    def fail_number(self, to: str, code: int = 21211, status: int = 400, message: str | None = None) -> None:
        """Every create to ``to`` answers Twilio error ``code`` (until reset)."""
        with self.lock:
            self._fail[to] = (code, status, message)

    def undeliverable(self, to: str, code: int = 30003) -> None:
        """The carrier's receipt for messages to ``to`` says undelivered with ``code``."""
        with self.lock:
            self._undeliverable[to] = code

    def rate_limit_next(self, n: int = 1) -> None:
        self.arm("rate_limit", n)

    def server_error_next(self, n: int = 1, status: int = 500) -> None:
        self.arm("server_error", n, status=status)

    def hang_next(self, n: int, seconds: float, accept: bool = True) -> None:
        self.arm("hang", n, seconds=seconds, accept=accept)

    # -- recording / helpers for tests ----------------------------------------
    def sent_to(self, number: str) -> int:
        with self.lock:
            return self._counts[number]

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> dict:
        """Advance a stored message (e.g. 'delivered', 'failed'); date_sent is set when sent."""
        with self.lock:
            msg = self._by_sid[sid][1]
            self._pinned.add(sid)
            msg.update(status=status, error_code=error_code, date_updated=format_datetime(self.clock()))
            if status in ("sent", "delivered", "undelivered") and not msg["date_sent"]:
                msg["date_sent"] = msg["date_updated"]
            return msg

    def status_callback_form(self, message: dict | str, status: str, error_code: int | None = None) -> dict:
        """The form Twilio POSTs to StatusCallback for ``message`` (dict or sid)."""
        msg = self._by_sid[message][1] if isinstance(message, str) else message
        form = {"MessageSid": msg["sid"], "SmsSid": msg["sid"], "AccountSid": msg["account_sid"],
                "From": msg["from"] or self.service_from, "To": msg["to"], "MessageStatus": status,
                "SmsStatus": status, "ApiVersion": API_VERSION}
        if msg.get("messaging_service_sid"):
            form["MessagingServiceSid"] = msg["messaging_service_sid"]
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        return form

    def inbound_form(self, from_: str, to: str, body: str, sid: str | None = None) -> dict:
        """The form Twilio POSTs to a number's incoming-SMS webhook."""
        sid = sid or "SM" + uuid.uuid4().hex
        return {"ToCountry": _country(to), "ToState": "", "SmsMessageSid": sid, "NumMedia": "0",
                "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received",
                "FromCity": "", "Body": body, "FromCountry": _country(from_), "To": to, "ToZip": "",
                "NumSegments": str(num_segments(body)), "MessageSid": sid, "AccountSid": self.account_sid,
                "From": from_, "ApiVersion": API_VERSION}

    # -- HTTP ---------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path == "/_standin/stats":  # for a bench driving this stand-in in another process
            return self._stats()
        if req.header("authorization") != self._expected_auth:
            return twilio_error(20003, 401, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        m_list, m_one = _LIST.match(req.path), _ONE.match(req.path)
        account = (m_list or m_one).group(1) if (m_list or m_one) else None
        if account != self.account_sid:
            return twilio_error(20404, 404, path=req.path)
        if m_list and req.method == "POST":
            return self._create(req)
        if m_list and req.method == "GET":
            return self._list(req)
        if m_one and req.method == "GET":
            with self.lock:
                self.fetch_calls += 1
                found = self._by_sid.get(m_one.group(2))
                if found:
                    self._advance(*found)
            return json_response(found[1]) if found else twilio_error(20404, 404, path=req.path)
        return twilio_error(20404, 404, path=req.path)

    def _stats(self) -> Response:
        with self.lock:
            lookups = sum(1 for r in self.requests if r.method == "GET" and r.path.endswith("/Messages.json")
                          and "To" in r.query)
            return json_response({"arrivals": self.arrivals, "accepted": self.accepted, "list_calls": self.list_calls,
                                  "lookups": lookups, "create_attempts": self.create_attempts})

    def _create(self, req: Request) -> Response:
        with self.lock:
            self.create_attempts += 1
            self.arrivals.append(time.time())
        self.sleep(self.latency)
        if self.take("rate_limit") is not None:
            return twilio_error(20429, 429, headers={"Retry-After": "1"})
        fault = self.take("server_error")
        if fault is not None:
            return twilio_error(20500, fault["status"])
        hang = self.take("hang")
        if hang is not None:
            with self.lock:
                self.observed["hang, accepted" if hang["accept"] else "hang, not accepted"] += 1
        f = req.form
        to, from_, service = f.get("To"), f.get("From"), f.get("MessagingServiceSid")
        if not to:
            error = twilio_error(21604, 400)
        elif not from_ and not service:
            error = twilio_error(21603, 400)
        elif not f.get("Body") and not f.get("MediaUrl") and not f.get("ContentSid"):
            error = twilio_error(21602, 400)
        else:
            with self.lock:
                failure = self._fail.get(to)
            error = twilio_error(failure[0], failure[1], failure[2], to=to) if failure else None
            if failure:
                with self.lock:
                    self.observed["permanent error"] += 1
        if error is not None:
            if hang is not None:
                self.sleep(hang["seconds"])
            return error
        if hang is not None and not hang["accept"]:
            self.sleep(hang["seconds"])
            return twilio_error(20503, 503)
        msg = self._store(f, to, from_, service)
        if hang is not None:
            self.sleep(hang["seconds"])
        return json_response(msg, 201, {"Twilio-Request-Id": "RQ" + uuid.uuid4().hex})

    def _advance(self, created: datetime, msg: dict) -> None:
        """Move a message along its timeline (queued → sent → receipt) as of now; caller holds the lock."""
        if msg["sid"] in self._pinned or msg["status"] in ("delivered", "undelivered", "failed"):
            return
        now = self.clock()
        validity = float(self.create_forms[msg["sid"]].get("ValidityPeriod") or 36000)
        if self.queue_seconds >= validity and now >= created + timedelta(seconds=validity):
            failed_at = format_datetime(created + timedelta(seconds=validity))
            msg.update(status="failed", error_code=30001, error_message="Queue overflow", date_updated=failed_at)
            return
        left = created + timedelta(seconds=self.queue_seconds)
        if now < left or self.queue_seconds >= validity:
            return
        if msg["status"] in ("queued", "accepted"):
            sender = msg["from"] or self.pool[sum(map(ord, msg["to"])) % len(self.pool)]
            msg.update(status="sent", date_sent=format_datetime(left), date_updated=format_datetime(left), **{
                "from": sender})
        if self.receipt_seconds is None:
            return
        receipt = left + timedelta(seconds=self.receipt_seconds)
        if now >= receipt:
            code = self._undeliverable.get(msg["to"])
            msg.update(status="undelivered" if code else "delivered", error_code=code,
                       date_updated=format_datetime(receipt))

    def _store(self, f: dict, to: str, from_: str | None, service: str | None) -> dict:
        now = self.clock()
        sid = "SM" + uuid.uuid4().hex
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        body = f.get("Body", "")
        msg = {"account_sid": self.account_sid, "api_version": API_VERSION, "body": body,
               "date_created": format_datetime(now), "date_sent": None, "date_updated": format_datetime(now),
               "direction": "outbound-api", "error_code": None, "error_message": None, "from": from_,
               "messaging_service_sid": service, "num_media": "0", "num_segments": str(num_segments(body)),
               "price": None, "price_unit": "USD", "sid": sid, "status": "accepted" if service else "queued",
               "subresource_uris": {"media": base + "/Media.json"}, "to": to, "uri": base + ".json"}
        with self.lock:
            self.accepted.append((to, time.time()))
            self.messages.append(msg)
            self.create_forms[sid] = dict(f)
            self._by_sid[sid] = (now, msg)
            self._counts[to] += 1
        return msg

    def _list(self, req: Request) -> Response:
        q = req.query
        lower = upper = day = None
        for key, value in q.items():
            if key.startswith("DateSent>"):
                lower = _parse_when(value, upper=False)
            elif key.startswith("DateSent<"):
                upper = _parse_when(value, upper=True)
            elif key == "DateSent":
                day = (_parse_when(value[:10], False), _parse_when(value[:10], True))
        dated = lower is not None or upper is not None or day is not None
        with self.lock:
            self.list_calls += 1
            for created, m in self._by_sid.values():
                self._advance(created, m)
            rows = []
            for created, m in self._by_sid.values():
                sent = _parse_rfc2822(m["date_sent"])
                if q.get("To") and m["to"] != q["To"] or q.get("From") and m["from"] != q["From"]:
                    continue
                if dated and (sent is None or lower is not None and sent < lower or upper is not None and sent > upper
                              or day is not None and not day[0] <= sent <= day[1]):
                    continue  # DateSent selects on date_sent: a message still queued has none
                rows.append((created, m))
        rows.sort(key=lambda r: r[0], reverse=True)  # Twilio lists newest first
        size = max(1, min(int(q.get("PageSize") or 50), 1000))
        page = int(q.get("Page") or 0)
        items = [m for _, m in rows[page * size:(page + 1) * size]]
        filters = {k: v for k, v in q.items() if k not in ("Page", "PageSize", "PageToken")}
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

        def uri(p: int) -> str:
            extra = {"PageToken": f"PA{p}"} if p else {}
            return path + "?" + urlencode({**filters, "PageSize": size, "Page": p, **extra})

        has_next = len(rows) > (page + 1) * size
        return json_response({
            "messages": items, "page": page, "page_size": size, "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if has_next else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None, "uri": uri(page),
            "start": page * size, "end": page * size + max(len(items) - 1, 0)})
