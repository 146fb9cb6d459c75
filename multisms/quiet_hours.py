"""Quiet hours: nobody is texted at night, in *their* local time.

A number's time zones come from its region (`phonenumbers.timezone`). A number whose region
spans several zones is treated conservatively: it is quiet while it is quiet in any of them,
and it may be texted once it is daytime in all of them. Deferred recipients are sent later,
never dropped. Pure: no clock (times are arguments), no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
LOOKAHEAD = timedelta(hours=48)


@dataclass(frozen=True)
class QuietHours:
    """A daily window such as 21:00–08:00 (it may wrap past midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        match = _WINDOW.match(text or "")
        if not match:
            raise ValueError(f"QUIET_HOURS must look like 21:00-08:00, not {text!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
            raise ValueError(f"QUIET_HOURS must be two different times of day (00:00–23:59), not {text!r}")
        return cls(time(h1, m1), time(h2, m2))

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@lru_cache(maxsize=4096)
def zones_for(number: str) -> tuple[ZoneInfo, ...]:
    """The time zones of an E.164 number's region; () when unknown (such numbers are not held back)."""
    try:
        names = phone_zones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return ()
    zones = []
    for name in names:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return tuple(zones)


def deferred_until(number: str, window: QuietHours, now: datetime) -> datetime | None:
    """When `number` may be texted, if it may not be now; None when it may.

    The first moment, from now on, when the window is over in all of the number's zones; if
    they never agree (a region spanning most of the globe), the moment the fewest are quiet.
    """
    zones = zones_for(number)
    if not zones:
        return None
    candidates = sorted({now, *_window_ends(window, zones, now)})
    best = min(candidates, key=lambda moment: (_quiet_count(window, zones, moment), moment))
    return None if best == now else best


def plan(numbers: Iterable[str], window: QuietHours | None, at: datetime) -> dict[str, datetime]:
    """number → when it may be texted, for the numbers that are in quiet hours at `at`."""
    if window is None:
        return {}
    held = {number: deferred_until(number, window, at) for number in numbers}
    return {number: until for number, until in held.items() if until is not None}


MIN_VALIDITY = timedelta(minutes=1)
"""A message that would have less than this before the recipient's quiet hours waits for morning."""


def next_quiet_start(number: str, window: QuietHours, now: datetime) -> datetime | None:
    """The first moment after `now` when quiet hours begin in one of the number's zones (None: unknown zone)."""
    starts = []
    for zone in zones_for(number):
        local = now.astimezone(zone)
        for offset in range(3):
            start = datetime.combine(local.date() + timedelta(days=offset), window.start, tzinfo=zone).astimezone(UTC)
            if start > now:
                starts.append(start)
                break
    return min(starts, default=None)


def send_window(number: str, window: QuietHours | None, now: datetime,
                validity: timedelta) -> tuple[timedelta | None, datetime | None]:
    """Decide at the moment of sending: `(validity, None)` to send now with at most that
    `ValidityPeriod` (so a message stuck in Twilio's queue expires before the recipient's night),
    or `(None, until)` to hold the recipient back until `until`."""
    if window is None:
        return validity, None
    held = deferred_until(number, window, now)
    if held is not None:
        return None, held
    start = next_quiet_start(number, window, now)
    if start is None:
        return validity, None
    left = start - now
    if left < MIN_VALIDITY:
        return None, deferred_until(number, window, start) or start
    return min(validity, left), None


def _quiet_count(window: QuietHours, zones: tuple[ZoneInfo, ...], moment: datetime) -> int:
    return sum(window.contains(moment.astimezone(zone).time()) for zone in zones)


def _window_ends(window: QuietHours, zones: tuple[ZoneInfo, ...], now: datetime) -> set[datetime]:
    """Every moment in the next two days when the window ends in one of the zones."""
    ends = set()
    for zone in zones:
        local = now.astimezone(zone)
        for offset in range(3):
            end = datetime.combine(local.date() + timedelta(days=offset), window.end, tzinfo=zone).astimezone(UTC)
            if now < end <= now + LOOKAHEAD:
                ends.add(end)
    return ends
