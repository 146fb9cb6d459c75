"""How fast one sender may send, shared by every worker through Redis.

Two rules per sender: a cap in segments per second (`MULTI_SMS_MPS`, or the carrier's
default for the kind of sender) and a minimum gap between two sends
(`MULTI_SMS_SEND_DELAY_SECONDS`). Both become one even spacing of the sender's messages.
"""

from __future__ import annotations

import time
import uuid
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


PACE_MARGIN = 0.03
"""Sends are spaced 3 % wider than the cap allows: the spare lets a send on schedule pass
the last check (WINDOW_GUARD) without being held."""

_RESERVE = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now_us)
local after = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], after, 'PX', math.ceil((after - now_us) / 1000) + 1000)
return start - now_us
"""

WINDOW_GUARD = 0.02
"""The last check counts the sends of the past second plus this much, for the moments between
that check and the request reaching Twilio. Sends on schedule (3 % spare) are never held by it."""

_ADMIT = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local window, cap, weight = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window)
local count = redis.call('ZCARD', KEYS[1])
if count + weight > cap then
  local leaving = redis.call('ZRANGE', KEYS[1], count + weight - cap - 1, count + weight - cap - 1, 'WITHSCORES')
  return math.max(tonumber(leaving[2]) + window - now_us, 1)
end
for i = 1, weight do
  redis.call('ZADD', KEYS[1], now_us, ARGV[4] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
return 0
"""


class SendPacer:
    """Spaces one sender's messages evenly across every worker (GCRA, state in Redis).

    Each message reserves the next free slot on the sender's timeline, `segments / MPS`
    seconds long (at least `MULTI_SMS_SEND_DELAY_SECONDS`), and waits until its slot starts.
    The reservation is one atomic Lua call on Redis's clock, so workers on different machines
    agree. (`limits` was tried first: its windows are whole seconds and let bursts through.)

    A thread can wake late from its slot (the GIL, a garbage collection, a busy core) and land
    next to the sends after it. So when the slot starts, a last check on a log of the sender's
    sends of the past second holds the message until that second has room for it.
    """

    def __init__(self, connection, settings: Settings, sender: str):
        self.connection = connection
        self.key = f"multisms:pace:{sender}"
        mps = mps_for(sender, settings)
        self.mps = mps
        self.seconds_per_segment = (1 + PACE_MARGIN) / mps if mps else 0.0
        self.gap = settings.multi_sms_send_delay_seconds
        self._reserve = connection.register_script(_RESERVE)
        self._admit = connection.register_script(_ADMIT)

    def slot_length(self, segments: int) -> float:
        """Seconds of the sender's timeline one message of `segments` segments takes."""
        return max(self.seconds_per_segment * max(segments, 1), self.gap)

    def wait(self, segments: int, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Reserve a slot and sleep until it starts; False if `should_stop()` said stop first."""
        length = self.slot_length(segments)
        if not length:
            return True
        wait_us = int(self._reserve(keys=[self.key], args=[int(length * 1_000_000)]))
        if not self._sleep(wait_us, should_stop):
            return False
        if not self.mps:
            return True
        cap = max(int(self.mps), 1)
        weight = min(max(segments, 1), cap)  # a message longer than a second's cap goes alone
        token = uuid.uuid4().hex
        while wait_us := int(self._admit(keys=[f"{self.key}:sent"],
                                         args=[int((1 + WINDOW_GUARD) * 1_000_000), cap, weight, token])):
            if not self._sleep(wait_us, should_stop):
                return False
        return True

    @staticmethod
    def _sleep(wait_us: int, should_stop: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + wait_us / 1_000_000
        while (left := deadline - time.monotonic()) > 0:
            if should_stop():
                return False
            time.sleep(min(left, MAX_SLEEP_SECONDS))
        return True



MAX_SLEEP_SECONDS = 0.25
"""Waiting threads look up at least this often, so a cancel or pause is noticed quickly."""
