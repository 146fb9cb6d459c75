"""The per-sender pacer on real Redis: segments counted, every worker sharing one budget."""

from __future__ import annotations

import threading
import time

import pytest

from multisms.ratelimit import SendPacer, estimated_seconds, mps_for, sender_kind


def test_a_three_segment_message_uses_three_times_the_budget(configure, redis_conn):
    settings = configure(MULTI_SMS_MPS="10")
    one_segment = SendPacer(redis_conn, settings, "+15005550006")
    three_segments = SendPacer(redis_conn, settings, "+15005550007")
    assert three_segments.slot_length(3) == pytest.approx(3 * one_segment.slot_length(1))


def test_a_batch_with_three_segments_takes_three_times_as_long(configure, redis_conn):
    settings = configure(MULTI_SMS_MPS="20")
    started = time.monotonic()
    pacer = SendPacer(redis_conn, settings, "+15005550006")
    for _ in range(5):
        pacer.wait(1)
    one = time.monotonic() - started
    started = time.monotonic()
    pacer = SendPacer(redis_conn, settings, "+15005550008")
    for _ in range(5):
        pacer.wait(3)
    three = time.monotonic() - started
    assert one == pytest.approx(4 * 1.03 / 20, abs=0.05)
    assert three == pytest.approx(3 * one, abs=0.1)


def test_two_workers_share_one_senders_budget(configure, redis_conn):
    settings = configure(MULTI_SMS_MPS="5")
    workers = [SendPacer(redis_conn, settings, "+15005550006") for _ in range(2)]
    sent_at: list[float] = []
    lock = threading.Lock()

    def send(pacer: SendPacer) -> None:
        for _ in range(5):
            pacer.wait(1)
            with lock:
                sent_at.append(time.monotonic())

    threads = [threading.Thread(target=send, args=(pacer,)) for pacer in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    sent_at.sort()
    assert len(sent_at) == 10
    assert sent_at[5] - sent_at[0] >= 1.0  # evenly spaced: 5 gaps of 1.03/5 s
    assert max(sum(1 for t in sent_at if start <= t < start + 1) for start in sent_at) <= 5


def test_send_delay_is_a_minimum_gap_between_sends(configure, redis_conn):
    settings = configure(MULTI_SMS_SEND_DELAY_SECONDS="0.3")
    pacer = SendPacer(redis_conn, settings, "+15005550006")
    started = time.monotonic()
    for _ in range(4):
        pacer.wait(1)
    assert time.monotonic() - started >= 0.85


def test_waiting_stops_when_asked(configure, redis_conn):
    settings = configure(MULTI_SMS_MPS="1")
    pacer = SendPacer(redis_conn, settings, "+15005550006")
    assert pacer.wait(1)
    started = time.monotonic()
    assert pacer.wait(1, should_stop=lambda: True) is False  # the next slot is a second away
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(("sender", "kind", "mps"), [
    ("+15005550006", "long_code", 1.0),
    ("+18005550100", "toll_free", 3.0),
    ("12345", "short_code", 100.0),
    ("MG" + "0" * 32, "messaging_service", 10.0),
    ("ACME", "alphanumeric", 10.0),
])
def test_default_rate_by_kind_of_sender(configure, sender, kind, mps):
    settings = configure(MULTI_SMS_MPS=None)
    assert sender_kind(sender) == kind
    assert mps_for(sender, settings) == mps


def test_estimate_follows_the_rate(configure):
    settings = configure(MULTI_SMS_MPS="10")
    assert estimated_seconds(250, "+15005550006", settings) == 25
    assert mps_for("CONSOLE", configure(TWILIO_ACCOUNT_SID=None)) is None


def test_threads_that_wake_late_from_their_slots_still_keep_every_second_under_the_cap(configure, redis_conn):
    settings = configure(MULTI_SMS_MPS="5")
    pacer = SendPacer(redis_conn, settings, "+15005550006")
    sent_at = []
    for _ in range(7):
        redis_conn.delete(pacer.key)  # every slot long past: as if each thread woke late, all at the same moment
        assert pacer.wait(1)
        sent_at.append(time.monotonic())
    assert max(sum(1 for t in sent_at if start <= t < start + 1) for start in sent_at) <= 5
    assert sent_at[5] - sent_at[0] >= 1.0


def test_a_message_longer_than_a_seconds_cap_still_goes(configure, redis_conn):
    settings = configure(MULTI_SMS_MPS="1")
    pacer = SendPacer(redis_conn, settings, "+15005550006")
    started = time.monotonic()
    assert pacer.wait(3)
    assert time.monotonic() - started < 0.5
