"""How fast one sender may send, shared by every worker through Redis.

Two rules per sender: a cap in segments per second (`MULTI_SMS_MPS`, or the carrier's
default for the kind of sender) and a minimum gap between two sends
(`MULTI_SMS_SEND_DELAY_SECONDS`). Both become one even spacing of the sender's messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import phonenumbers

from multisms.batches import MESSAGING_SERVICE_SID
from multisms.config import CONSOLE_SENDER, Settings

DEFAULT_MPS = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0, "messaging_service": 10.0,
               "alphanumeric": 10.0}
"""Segments per second Twilio allows by kind of sender (its documented defaults)."""


def sender_kind(sender: str) -> str:
    if MESSAGING_SERVICE_SID.match(sender):
        return "messaging_service"
    digits = sender.lstrip("+")
    if digits.isdigit() and len(digits) <= 6:
        return "short_code"
    if not sender.startswith("+"):
        return "alphanumeric"
    try:
        number = phonenumbers.parse(sender)
    except phonenumbers.NumberParseException:
        return "long_code"
    return "toll_free" if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE else "long_code"


def mps_for(sender: str, settings: Settings) -> float | None:
    """Segments per second for this sender; None means no limit (the console gateway)."""
    if sender == CONSOLE_SENDER or not settings.twilio_configured:
        return None
    return settings.multi_sms_mps or DEFAULT_MPS[sender_kind(sender)]


def estimated_seconds(segments: int, sender: str, settings: Settings) -> float:
    """How long sending `segments` segments takes at the sender's pace (for the preview)."""
    mps = mps_for(sender, settings)
    per_segment = 1 / mps if mps else 0.0
    gap = settings.multi_sms_send_delay_seconds
    return segments * per_segment if not gap else max(segments * per_segment, gap * max(segments - 1, 0))


PACE_MARGIN = 0.05
"""Sends are spaced 5 % wider than the cap allows, so scheduling jitter between the
reservation and the request cannot put more than the cap into any one second."""

_RESERVE = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now_us)
local after = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], after, 'PX', math.ceil((after - now_us) / 1000) + 1000)
return start - now_us
"""


class SendPacer:
    """Spaces one sender's messages evenly across every worker (GCRA, state in Redis).

    Each message reserves the next free slot on the sender's timeline, `segments / MPS`
    seconds long (at least `MULTI_SMS_SEND_DELAY_SECONDS`), and waits until its slot starts.
    The reservation is one atomic Lua call on Redis's clock, so workers on different machines
    agree. (`limits` was tried first: its windows are whole seconds and let bursts through.)
    """

    def __init__(self, connection, settings: Settings, sender: str):
        self.connection = connection
        self.key = f"multisms:pace:{sender}"
        mps = mps_for(sender, settings)
        self.seconds_per_segment = (1 + PACE_MARGIN) / mps if mps else 0.0
        self.gap = settings.multi_sms_send_delay_seconds
        self._reserve = connection.register_script(_RESERVE)

    def slot_length(self, segments: int) -> float:
        """Seconds of the sender's timeline one message of `segments` segments takes."""
        return max(self.seconds_per_segment * max(segments, 1), self.gap)

    def wait(self, segments: int, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Reserve a slot and sleep until it starts; False if `should_stop()` said stop first."""
        length = self.slot_length(segments)
        if not length:
            return True
        wait_us = int(self._reserve(keys=[self.key], args=[int(length * 1_000_000)]))
        deadline = time.monotonic() + wait_us / 1_000_000
        while (left := deadline - time.monotonic()) > 0:
            if should_stop():
                return False
            time.sleep(min(left, MAX_SLEEP_SECONDS))
        return True



MAX_SLEEP_SECONDS = 0.25
"""Waiting threads look up at least this often, so a cancel or pause is noticed quickly."""
