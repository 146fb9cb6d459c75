"""Times people type: send times, schedules in words or cron, occurrences across DST; quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from multisms.quiet_hours import QuietHours, deferred_until, plan
from multisms.timespec import (
    DAYS,
    TimeProblem,
    describe,
    latest_run,
    next_run,
    parse_instant,
    parse_schedule,
    resolve,
    split_send_time,
)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
WEEKDAY_NUMBERS = {name: index for index, name in enumerate(DAYS)}  # Python: Monday 0 … Sunday 6
ZONES = ["Europe/Warsaw", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC", "Asia/Kolkata"]


def test_a_send_time_at_the_end_of_a_message_is_split_off_and_read_in_the_authors_zone():
    assert split_send_time("Stand-up moved at 2026-12-01 09:00") == ("Stand-up moved", "at 2026-12-01 09:00")
    assert split_send_time("Hello | in 1h30m") == ("Hello", "in 1h30m")
    # everyday phrases stay message text
    for text in ("Meeting at 10:00", "See you in 2 hours", "in 2h", "Doors open in 2h."):
        assert split_send_time(text) == (text, None)
    assert resolve("at 2026-12-01 09:00", now=NOW, zone="Europe/Warsaw") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert resolve("in 1h30m", now=NOW, zone="UTC") == NOW + timedelta(minutes=90)
    assert resolve("in 2 hours 5 minutes", now=NOW, zone="UTC") == NOW + timedelta(minutes=125)
    assert resolve("in 1d", now=NOW, zone="UTC") == NOW + timedelta(days=1)
    assert resolve("at 9:00", now=NOW, zone="Europe/Warsaw") == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert resolve("now", now=NOW, zone="UTC") == NOW


@pytest.mark.parametrize(("text", "problem"), [
    ("at 2026-11-01 09:00", "already passed"),
    ("at 2029-01-01 09:00", "more than a year away"),
    ("at 2026-13-01 09:00", "write it like 2026-12-01 09:00"),
    ("at 25:00", "not a time of day"),
    ("in 99999999999d", "more than a year away"),
    ("at 9999-12-31 23:30", "more than a year away"),
])
def test_impossible_send_times_are_refused_with_the_reason(text, problem):
    with pytest.raises(TimeProblem, match=problem):
        resolve(text, now=NOW, zone="Europe/Warsaw")


def test_api_times_need_an_offset_and_a_future():
    assert parse_instant("2026-12-01T09:00:00+01:00", now=NOW) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_instant("2026-12-01T08:00:00Z", now=NOW) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(TimeProblem, match="needs a UTC offset"):
        parse_instant("2026-12-01T09:00:00", now=NOW)
    with pytest.raises(TimeProblem, match="already passed"):
        parse_instant("2026-11-01T09:00:00Z", now=NOW)
    with pytest.raises(TimeProblem, match="ISO 8601"):
        parse_instant("tomorrow", now=NOW)
    with pytest.raises(TimeProblem, match="out of range"):
        parse_instant("9999-12-31T23:59:59-01:00", now=NOW)


@pytest.mark.parametrize(("text", "cron", "zone"), [
    ("every weekday at 9:00", "0 9 * * 1-5", None),
    ("every day at 18:30 Europe/London", "30 18 * * *", "Europe/London"),
    ("every monday at 10:00", "0 10 * * 1", None),
    ("every mon, wed and fri at 7", "0 7 * * 1,3,5", None),
    ("daily at 6:05 UTC", "5 6 * * *", "UTC"),
    ("0 9 * * 1-5", "0 9 * * 1-5", None),
    ("*/15 8-17 * * 1-5 Asia/Tokyo", "*/15 8-17 * * 1-5", "Asia/Tokyo"),
])
def test_schedules_in_words_or_cron(text, cron, zone):
    schedule = parse_schedule(text)
    assert (schedule.cron, schedule.zone) == (cron, zone)


@pytest.mark.parametrize("text", ["every blursday at 9:00", "every day at 24:00", "sometimes", "61 9 * * *",
                                  "0 0 31 2 *",
                                  "every day at 9:00 Mars/Olympus"])
def test_schedules_that_make_no_sense_are_refused(text):
    with pytest.raises(TimeProblem):
        parse_schedule(text)


def test_occurrences_keep_the_local_time_across_daylight_saving_changes():
    # Warsaw moves from CEST (+2) to CET (+1) on 25 Oct 2026: 09:00 local stays 09:00 local
    first = next_run("0 9 * * *", "Europe/Warsaw", datetime(2026, 10, 23, 12, 0, tzinfo=UTC))
    second = next_run("0 9 * * *", "Europe/Warsaw", first)
    assert (first.hour, second.hour) == (7, 8)
    assert latest_run("0 9 * * *", "Europe/Warsaw", second) == second
    assert latest_run("0 9 * * *", "Europe/Warsaw", second - timedelta(seconds=1)) == first


day_sets = st.sets(st.sampled_from(DAYS), min_size=1, max_size=7)


@settings(max_examples=150, deadline=None)
@given(days=day_sets, hour=st.integers(0, 23).filter(lambda h: h not in (2, 3)), minute=st.integers(0, 59),
       zone=st.sampled_from(ZONES), start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)))
def test_every_named_schedule_runs_on_those_days_at_that_time(days, hour, minute, zone, start):
    """Written in words, read back as cron: every occurrence is on a named day, at the named time, in order;
    and the words `describe` gives read back as the same cron."""
    text = f"every {', '.join(sorted(days, key=DAYS.index))} at {hour}:{minute:02d}"
    cron = parse_schedule(text).cron
    assert croniter.is_valid(cron) and parse_schedule(describe(cron)).cron == cron
    moment = start.replace(tzinfo=UTC)
    for _ in range(8):
        later = next_run(cron, zone, moment)
        local = later.astimezone(ZoneInfo(zone))
        assert later > moment and local.weekday() in {WEEKDAY_NUMBERS[d] for d in days}
        assert (local.hour, local.minute) == (hour, minute)
        moment = later


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)),
       number=st.sampled_from(["+48600100001", "+12025550123", "+81312345678", "+15005550006", "+79161234567",
                               "+61412345678"]))
def test_quiet_hours_never_drop_and_never_release_into_the_night(moment, number):
    """A deferred number's release time is in the future, within two days, and it is daytime there then
    in every zone of the number's region that has a common daytime."""
    window = QuietHours.parse("21:00-08:00")
    now = moment.replace(tzinfo=UTC)
    until = deferred_until(number, window, now)
    if until is None:
        return
    assert now < until <= now + timedelta(hours=48)
    assert deferred_until(number, window, until) is None


def test_quiet_hours_are_read_in_each_recipients_own_time_zone():
    window = QuietHours.parse("21:00-08:00")
    evening_in_warsaw = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 22:00 Warsaw, 16:00 New York, 06:00 Tokyo
    held = plan(["+48600100001", "+12025550123", "+81312345678"], window, evening_in_warsaw)
    assert held == {"+48600100001": datetime(2026, 12, 2, 7, 0, tzinfo=UTC),   # 08:00 in Warsaw
                    "+81312345678": datetime(2026, 12, 1, 23, 0, tzinfo=UTC)}  # 08:00 in Tokyo
    # a region spanning many zones (+1 500: Guam to Hawaii) waits until it is daytime in all of them
    assert deferred_until("+15005550006", window, datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 12, 1, 22, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="21:00-08:00"):
        QuietHours.parse("9pm-8am")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.lists(st.sampled_from(["*", "1-5", "0", "9", "*/5", "60", "mon", "at", "every",
                                                         "day", "9:00", "UTC", "Europe/Warsaw", "٣"]),
                                        min_size=1, max_size=7).map(" ".join))
def test_any_schedule_text_is_a_schedule_or_a_clear_problem(text):
    try:
        schedule = parse_schedule(text)
    except TimeProblem as exc:
        assert str(exc)
    else:
        assert croniter.is_valid(schedule.cron)
        next_run(schedule.cron, schedule.zone or "UTC", NOW)


def test_a_long_run_of_spaces_before_or_instead_of_a_send_time_is_read_in_one_pass():
    assert split_send_time("Hello" + " " * 100_000 + "in 2h") == ("Hello", "in 2h")
    assert split_send_time("Hello" + " " * 100_000 + "there") == ("Hello" + " " * 100_000 + "there", None)
