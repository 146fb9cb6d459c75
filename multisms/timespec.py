"""Times people type: `at 2026-12-01 09:00`, `in 2h`, `every weekday at 9:00`, cron expressions.

Slack, the terminal chat and the REST API read times through these functions, so they all
understand the same words. Nothing here reads a clock: `now` is always an argument, which
keeps the rules testable (hypothesis) and lets tests move time at will. Every result is an
aware UTC datetime; local times are read in the zone given (the author's Slack zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from multisms.errors import TimeProblem

_REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)
"""Any fixed moment: a cron expression that has no occurrence after it has none at all."""
MAX_AHEAD = timedelta(days=366)
"""A send time further away than this is almost certainly a typo (wrong year)."""

_DURATION_PART = re.compile(r"(?<!\d)(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z])", re.I)
_DURATION = r"in\s+(?:\d+\s*(?:d|days?|h|hrs?|hours?|m|mins?|minutes?)\s*)+"
_DATE_TIME = r"(?:at\s+)?\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}"
_CLOCK = r"at\s+\d{1,2}:\d{2}"
_WHEN = re.compile(rf"^(?:{_DURATION}|{_DATE_TIME}|{_CLOCK}|now)$", re.I)
_SEND_CLAUSE = re.compile(r"(?:\s+|\s*\|\s*)(?P<when>in\s+\d+[dhm](?:\s*\d+[dhm])*|"
                          r"at\s+\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2})\s*$", re.I)
"""Only compact durations (`in 2h`, `in 1h30m`) and full dates end a send: `Meeting at 10:00` or
`see you in 2 hours` are message text, not send times."""
CLAUSE_WINDOW = 120
"""A send time is looked for in the message's last characters only: a regular expression over a
whole message with a long run of spaces takes quadratic time (seconds of web CPU)."""

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""Monday first, as people list them; cron numbers Sunday 0, Monday 1 … Saturday 6."""
_CRON_DAY = {name: (index + 1) % 7 for index, name in enumerate(DAYS)}
_DAY_ALIASES = {**{name: name for name in DAYS}, **{name[:3]: name for name in DAYS}, "tues": "tuesday",
                "thur": "thursday", "thurs": "thursday"}
_GROUPS = {"day": "*", "weekday": "1-5", "weekend": "0,6"}
_EVERY = re.compile(r"^(?:every\s+)?(?P<days>.+?)\s+at\s+(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?$", re.I)
_PLAIN_CRON = re.compile(r"^(?P<minute>\d{1,2}) (?P<hour>\d{1,2}) \* \* (?P<dow>\*|1-5|0,6|[0-6](?:,[0-6])*)$")


@dataclass(frozen=True)
class Schedule:
    """A repeating time: a cron expression, and the zone it is read in (None: the author's)."""

    cron: str
    zone: str | None = None


def zone_of(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The named IANA zone; `TimeProblem` for a name that is not one."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise TimeProblem(f"“{name}” is not a time zone I know; use a name like Europe/Warsaw or UTC.") from exc


def split_send_time(message: str) -> tuple[str, str | None]:
    """`Hello at 2026-12-01 09:00` → (`Hello`, `at 2026-12-01 09:00`); no time at the end → (message, None).

    A message that should end with such words ends with a full stop instead, and is sent as written.
    """
    text = message.rstrip()
    match = _SEND_CLAUSE.search(text, max(len(text) - CLAUSE_WINDOW, 0))
    if not match or not text[: match.start()].strip():
        return message, None
    return text[: match.start()].rstrip(" |\t\n"), " ".join(match.group("when").split())


def is_send_time(text: str) -> bool:
    return bool(_WHEN.match(" ".join(text.split())))


def resolve(when: str, *, now: datetime, zone: str) -> datetime:
    """The UTC moment meant by `in 2h`, `at 2026-12-01 09:00`, `at 9:00` (the next 9:00) or `now`."""
    text = " ".join(when.split()).lower()
    if text == "now":
        return now
    if text.startswith("in "):
        minutes = sum(int(n) * {"d": 1440, "h": 60, "m": 1}[unit[0]] for n, unit in _DURATION_PART.findall(text))
        if not minutes:
            raise TimeProblem("Say how long to wait, e.g. `in 30m` or `in 2h`.")
        return check_ahead(now + timedelta(minutes=min(minutes, MAX_AHEAD.days * 1440 + 1)), now)
    tz = zone_of(zone)
    text = text.removeprefix("at ").strip()
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        clock = _clock(text)
        local_now = now.astimezone(tz)
        moment = datetime.combine(local_now.date(), clock, tzinfo=tz)
        if moment <= local_now:
            moment = datetime.combine(local_now.date() + timedelta(days=1), clock, tzinfo=tz)
        return moment.astimezone(UTC)
    try:
        local = datetime.strptime(text.replace("t", " "), "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise TimeProblem(f"I can't read “{when}” as a date and time; write it like 2026-12-01 09:00.") from exc
    try:
        moment = local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError as exc:
        raise TimeProblem("That is more than a year away; check the year.") from exc
    return check_ahead(moment, now)


def check_ahead(moment: datetime, now: datetime) -> datetime:
    """`moment` when it lies in the future and within a year, else `TimeProblem` saying which."""
    if moment <= now:
        raise TimeProblem(f"That time has already passed ({moment:%Y-%m-%d %H:%M} UTC): pick a later one.")
    if moment - now > MAX_AHEAD:
        raise TimeProblem("That is more than a year away; check the year.")
    return moment


def parse_instant(value: str, *, now: datetime) -> datetime:
    """ISO 8601 with an offset (`2026-12-01T09:00:00+01:00`, `…Z`) → UTC, in the future (REST API)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise TimeProblem("`scheduled_at` must be ISO 8601, e.g. 2026-12-01T09:00:00+01:00.") from exc
    if moment.tzinfo is None:
        raise TimeProblem("`scheduled_at` needs a UTC offset (e.g. +01:00 or Z): without one the time is ambiguous.")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 shifted past the calendar's ends
        raise TimeProblem("`scheduled_at` is out of range: pick a time within the next year.") from exc
    return check_ahead(moment, now)


def parse_schedule(text: str) -> Schedule:
    """`every weekday at 9:00`, `every day at 18:30 Europe/London`, `every mon, wed at 10`, or a cron
    expression (`0 9 * * 1-5`), optionally followed by a time zone name."""
    words = " ".join(text.split())
    zone = None
    head, _, last = words.rpartition(" ")
    if head and ("/" in last or last.upper() == "UTC"):
        zone_of(last)
        words, zone = head, ("UTC" if last.upper() == "UTC" else last)
    every = _EVERY.match(words)
    if every:
        return Schedule(_cron_of(every.group("days"), every.group("hour"), every.group("minute") or "0"), zone)
    if len(words.split(" ")) == 5 and croniter.is_valid(words):
        try:
            croniter(words, _REFERENCE).get_next(datetime)
        except CroniterError as exc:
            raise TimeProblem(f"`{words}` never comes round (e.g. 31 February): check the day and month.") from exc
        return Schedule(words, zone)
    raise TimeProblem(f"I can't read “{text.strip()[:60]}” as a schedule. Try `every weekday at 9:00`, "
                      "`every day at 18:30`, `every monday at 10:00` or a cron expression like `0 9 * * 1-5`.")


def describe(cron: str) -> str:
    """A cron expression in words when it is one of the simple kinds (`every weekday at 09:00`)."""
    match = _PLAIN_CRON.match(cron)
    if not match or int(match.group("hour")) > 23 or int(match.group("minute")) > 59:
        return f"cron `{cron}`"
    at = f"{int(match.group('hour')):02d}:{int(match.group('minute')):02d}"
    dow = match.group("dow")
    group = {value: name for name, value in _GROUPS.items()}.get(dow)
    if group:
        return f"every {group} at {at}"
    numbers = {int(n) for n in dow.split(",")}
    names = [name for name in DAYS if _CRON_DAY[name] in numbers]
    return f"every {', '.join(names)} at {at}"


def next_run(cron: str, zone: str, after: datetime) -> datetime:
    """The first occurrence strictly after `after`, computed in local time (DST-aware), as UTC."""
    local = after.astimezone(zone_of(zone))
    return croniter(cron, local).get_next(datetime).astimezone(UTC)


def latest_run(cron: str, zone: str, at: datetime) -> datetime:
    """The last occurrence at or before `at`, as UTC."""
    local = (at + timedelta(microseconds=1)).astimezone(zone_of(zone))
    return croniter(cron, local).get_prev(datetime).astimezone(UTC)


def local_label(moment: datetime, zone: str | None) -> str:
    """`Tue 1 Dec 2026, 09:00 (Europe/Warsaw)`: how a person reads a send time."""
    name = zone or "UTC"
    local = moment.astimezone(zone_of(name))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({name})"


def _cron_of(days_text: str, hour: str, minute: str) -> str:
    clock = _clock(f"{hour}:{minute}")
    words = [w for w in re.split(r"[\s,]+", days_text.lower()) if w and w != "and"]
    if words == ["daily"]:
        words = ["day"]
    if len(words) == 1 and words[0].rstrip("s") in _GROUPS:
        dow = _GROUPS[words[0].rstrip("s")]
    else:
        names = [_day_name(word) for word in words]
        if not names or None in names:
            raise TimeProblem(f"“{days_text}” is not a day I know: say `day`, `weekday`, `weekend` or day names "
                              "like `monday, thursday`.")
        numbers = sorted({_CRON_DAY[name] for name in names}, key=lambda n: (n - 1) % 7)
        dow = "*" if len(numbers) == 7 else ",".join(str(n) for n in numbers)
    return f"{clock.minute} {clock.hour} * * {dow}"


def _day_name(word: str) -> str | None:
    for candidate in (word, word.rstrip("s")):
        if candidate in _DAY_ALIASES:
            return _DAY_ALIASES[candidate]
    return None


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    if hour > 23 or minute > 59:
        raise TimeProblem(f"{text} is not a time of day; use 00:00–23:59.")
    return time(hour, minute)
