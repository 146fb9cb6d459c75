"""Quiet hours: recipients in their local night are deferred (not dropped) and sent when it ends.

A batch scheduled for 21:00 UTC: 22:00 in Warsaw and 06:00 in Tokyo (both inside 21:00–08:00),
16:00 in New York (outside). The clock is moved with time-machine: the due-work pass, the send
job (which checks quiet hours again at each send) and the Twilio stand-in all see it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from jobs.scheduling import due_work
from multisms.config import get_settings
from multisms.delivery import poll_statuses
from multisms.gateway import make_gateway
from tests.schedule_helpers import WARSAW, batch_of, waiting_until
from tests.send_helpers import create_batch, recipient
from tests.slack_helpers import button_values, text_of

WARSAW_NUMBER, NEW_YORK, TOKYO = "+48600100001", "+12025550123", "+81312345678"


def eight_am(zone: str, after: datetime) -> datetime:
    local = after.astimezone(ZoneInfo(zone))
    day = local.date() + timedelta(days=1 if local.hour >= 8 else 0)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def sent(twilio_api) -> list[str]:
    return sorted(m["to"] for m in twilio_api.messages)


def test_quiet_hours_defer_night_recipients_and_send_them_when_their_night_ends(
        make_slack, twilio_api, redis_conn, run_jobs):
    slack = make_slack(QUIET_HOURS="21:00-08:00")
    settings = get_settings()
    evening = (datetime.now(UTC) + timedelta(days=2)).replace(hour=21, minute=0, second=0, microsecond=0)
    tokyo_morning, warsaw_morning = eight_am("Asia/Tokyo", evening), eight_am("Europe/Warsaw", evening)

    preview = slack.command(f"send {WARSAW_NUMBER}, {NEW_YORK}, {TOKYO} | Quarterly results are out "
                            f"at {evening.astimezone(WARSAW):%Y-%m-%d %H:%M}")
    assert "2 recipients of 3 will be in quiet hours (21:00–08:00 their time)" in text_of(preview)
    assert f"by <!date^{int(warsaw_morning.timestamp())}^" in text_of(preview)  # until when, at the latest
    batch_id = int(button_values(preview)["confirm_batch"])
    slack.click("confirm_batch", batch_id)

    with time_machine.travel(evening, tick=True):
        assert due_work(settings, redis_conn, now=evening)["started"] == [batch_id]
        run_jobs()
    assert sent(twilio_api) == [NEW_YORK]  # afternoon in New York: sent now
    assert waiting_until(settings, batch_id) == {WARSAW_NUMBER: warsaw_morning, TOKYO: tokyo_morning}
    assert due_work(settings, redis_conn, now=evening + timedelta(seconds=30))["parked"] == [batch_id]
    batch = batch_of(settings, batch_id)
    assert (batch.status, batch.scheduled_at) == ("scheduled", tokyo_morning)  # waits, nobody polls it

    assert due_work(settings, redis_conn, now=tokyo_morning - timedelta(seconds=1))["started"] == []
    with time_machine.travel(tokyo_morning, tick=True):
        assert due_work(settings, redis_conn, now=tokyo_morning)["started"] == [batch_id]
        run_jobs()
    assert sent(twilio_api) == sorted([NEW_YORK, TOKYO])
    due_work(settings, redis_conn, now=tokyo_morning + timedelta(seconds=30))
    assert batch_of(settings, batch_id).scheduled_at == warsaw_morning

    with time_machine.travel(warsaw_morning, tick=True):
        assert due_work(settings, redis_conn, now=warsaw_morning)["started"] == [batch_id]
        run_jobs()
    assert sent(twilio_api) == sorted([NEW_YORK, TOKYO, WARSAW_NUMBER])  # everyone, once
    assert batch_of(settings, batch_id).status == "completed"
    assert {form["ValidityPeriod"] for form in twilio_api.create_forms.values()} == {"14400"}


def test_without_quiet_hours_nobody_waits(slack, twilio_api, settings, redis_conn, run_jobs):
    preview = slack.command(f"send {WARSAW_NUMBER}, {TOKYO} | Now")
    assert "quiet hours" not in text_of(preview)
    slack.click("confirm_batch", int(button_values(preview)["confirm_batch"]))
    run_jobs()
    assert sent(twilio_api) == sorted([WARSAW_NUMBER, TOKYO])


def new_york(day: datetime, hour: int, minute: int = 0, second: int = 0) -> datetime:
    local = day.astimezone(ZoneInfo("America/New_York"))
    return local.replace(hour=hour, minute=minute, second=second, microsecond=0).astimezone(UTC)


def test_a_message_can_never_reach_a_phone_inside_its_quiet_hours(configure, twilio_api, run_jobs):
    settings = configure(QUIET_HOURS="21:00-08:00", PUBLIC_BASE_URL=None)
    day = datetime.now(UTC) + timedelta(days=3)
    seven_pm = new_york(day, 19)
    batch_id = create_batch(settings, [NEW_YORK], body="Your order is ready")
    twilio_api.queue_seconds = 3 * 3600  # Twilio's queue for this sender is backed up for hours
    with time_machine.travel(seven_pm, tick=True):
        run_jobs()
    [form] = twilio_api.create_forms.values()
    assert 7100 < int(form["ValidityPeriod"]) <= 7200  # what is left before 21:00 in New York, not the usual 4 h

    with time_machine.travel(new_york(day, 21, 0, 5), tick=True):
        poll_statuses(settings, make_gateway(settings))
    late = recipient(settings, batch_id, NEW_YORK)
    assert (late.status, late.error_code) == ("failed", 30001)  # Twilio dropped it rather than text at night


def test_a_recipient_whose_night_begins_before_the_send_waits_for_morning(configure, twilio_api, run_jobs):
    settings = configure(QUIET_HOURS="21:00-08:00")
    day = datetime.now(UTC) + timedelta(days=3)
    with time_machine.travel(new_york(day, 20, 58), tick=True):  # confirmed while a text was still fine
        batch_id = create_batch(settings, [NEW_YORK], body="Reminder: pick-up tomorrow")
    with time_machine.travel(new_york(day, 20, 59, 30), tick=True):  # the worker gets to it 30 s before 21:00
        run_jobs()
    assert twilio_api.messages == []
    waiting = recipient(settings, batch_id, NEW_YORK)
    assert (waiting.status, waiting.not_before) == ("pending", new_york(day + timedelta(days=1), 8))
