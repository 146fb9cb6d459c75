"""A person asks to be forgotten: their contact and texts go, the record that something was sent stays,
and no later import brings them back without saying so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from multisms import claims, controls, optouts
from multisms.db import session_scope
from multisms.errors import ForgetKeyUnusable, SendInFlight
from multisms.forget import forget, unforget
from multisms.models import ForgottenNumber, Message, Recipient, utcnow
from multisms.queues import enqueue_send, redis_connection
from multisms.storage import apply_delivery_status, batch_counts, record_inbound
from tests.contact_helpers import import_file, members, send_now, stored

ANNA, BOB = "+48600100001", "+48600100002"
PEOPLE = f"phone,name,Plate\n{ANNA},Anna,WA 1234\n{BOB},Bob,KR 777\n"


@pytest.fixture
def settings(configure):
    return configure(DEFAULT_REGION="PL", SECRET_KEY="test-secret-key")


def forget_number(settings, number: str):
    with session_scope(settings.database_url) as session:
        return forget(session, settings, number)


def test_forgetting_erases_the_persons_data_and_texts_but_keeps_what_was_sent_and_their_opt_out(
        settings, twilio_api, run_jobs):
    import_file(settings, "drivers", PEOPLE)
    batch_id = send_now(settings, "list:drivers", "Hi {name}, your car {plate} is ready")
    run_jobs()
    with session_scope(settings.database_url) as session:
        record_inbound(session, sid="SM" + "1" * 32, from_number=ANNA, to_number="+15005550006", body="I moved away")
        optouts.add(session, ANNA, "stop_keyword")
        before = batch_counts(session, [batch_id])[batch_id].by_status

    report = forget_number(settings, "600 100 001")

    assert report.to_dict() == {"number": "+48••••••001", "contact_removed": True, "lists_left": 1,
                                "messages_blanked": 2, "recipients_blanked": 1, "cancelled": 0, "opted_out": True}
    assert set(members(settings, "drivers")) == {BOB}
    recipients = stored(settings, batch_id)
    assert (recipients[ANNA].status, recipients[ANNA].body, recipients[ANNA].name) == ("queued", "", None)
    assert (recipients[BOB].body, recipients[BOB].name) == ("Hi Bob, your car KR 777 is ready", "Bob")
    with session_scope(settings.database_url) as session:
        texts = {(m.direction, m.to_number if m.direction == "outbound" else m.from_number): m.body
                 for m in session.scalars(select(Message))}
        assert batch_counts(session, [batch_id])[batch_id].by_status == before
        assert optouts.is_opted_out(session, ANNA)
        (tombstone,) = session.scalars(select(ForgottenNumber)).all()
    assert texts == {("outbound", ANNA): "", ("inbound", ANNA): "",
                     ("outbound", BOB): "Hi Bob, your car KR 777 is ready"}
    assert "600100001" not in f"{tombstone.digest}{tombstone.key_id}"


def test_a_forgotten_number_is_not_imported_again_silently_until_it_is_unforgotten(settings):
    import_file(settings, "drivers", PEOPLE)
    forget_number(settings, ANNA)

    report = import_file(settings, "drivers", PEOPLE)

    assert (report.imported, report.unchanged) == (0, 1)
    assert report.to_dict()["forgotten"] == [{
        "line": 2, "number": "+48••••••001",
        "reason": "forgotten on request: unforget the number first to import it again"}]
    assert set(members(settings, "drivers")) == {BOB}

    with session_scope(settings.database_url) as session:
        assert unforget(session, settings, "+48 600 100 001") is True
        assert unforget(session, settings, "+48 600 100 001") is False
    again = import_file(settings, "drivers", PEOPLE)
    assert (again.imported, again.forgotten) == (1, ())
    assert members(settings, "drivers")[ANNA][0] == "Anna"


def test_texts_not_yet_sent_to_a_forgotten_number_never_go_out_not_even_on_retry(settings, twilio_api, run_jobs):
    import_file(settings, "drivers", PEOPLE)
    waiting = send_now(settings, "list:drivers", "Hi {name}")
    failed = send_now(settings, f"{ANNA} {BOB}", "Road closed")
    with session_scope(settings.database_url) as session:  # only the second batch is sent for now
        session.query(Recipient).filter_by(batch_id=waiting).update({"not_before": utcnow() + timedelta(days=1)})
    run_jobs()
    with session_scope(settings.database_url) as session:
        sid = session.scalar(select(Recipient.sid).where(Recipient.batch_id == failed,
                                                         Recipient.number_normalized == ANNA))
        apply_delivery_status(session, sid, "undelivered", 30003, "unreachable handset")

    assert forget_number(settings, ANNA).cancelled == 1
    with session_scope(settings.database_url) as session:
        assert controls.retry(session, failed) == 1
    enqueue_send(redis_connection(settings), failed)
    run_jobs()

    assert twilio_api.sent_to(ANNA) == 1
    assert (stored(settings, waiting)[ANNA].status, stored(settings, waiting)[ANNA].error_message) == (
        "cancelled", "forgotten on request")
    assert (stored(settings, failed)[ANNA].status, stored(settings, failed)[ANNA].error_message) == (
        "cancelled", "forgotten on request")


def test_a_number_being_sent_this_moment_is_forgotten_a_moment_later(settings):
    batch_id = send_now(settings, ANNA, "Hi")
    with session_scope(settings.database_url) as session:
        assert len(claims.claim_group(session, batch_id, "worker-1", 10, utcnow())) == 1

    with pytest.raises(SendInFlight, match=r"A text to \+48••••••001 is being sent right now"):
        forget_number(settings, ANNA)


def test_without_a_key_nothing_is_forgotten_and_the_setting_is_named(configure):
    settings = configure(DEFAULT_REGION="PL")
    import_file(settings, "drivers", PEOPLE)

    with pytest.raises(ForgetKeyUnusable, match="set FORGET_KEY"):
        forget_number(settings, ANNA)
    assert set(members(settings, "drivers")) == {ANNA, BOB}


def test_a_changed_key_stops_imports_instead_of_letting_forgotten_numbers_back(configure):
    settings = configure(DEFAULT_REGION="PL", SECRET_KEY="the-first-key")
    import_file(settings, "drivers", PEOPLE)
    forget_number(settings, ANNA)

    rotated = configure(SECRET_KEY="a-rotated-key")
    with pytest.raises(ForgetKeyUnusable, match="1 forgotten number was hashed with another key"):
        import_file(rotated, "drivers", PEOPLE)
    assert set(members(rotated, "drivers")) == {BOB}
    with pytest.raises(ForgetKeyUnusable, match="with a key that is no longer set: set FORGET_KEY"):
        import_file(configure(SECRET_KEY=None), "drivers", PEOPLE)

    pinned = configure(FORGET_KEY="the-first-key")
    assert [row["number"] for row in import_file(pinned, "drivers", PEOPLE).to_dict()["forgotten"]] == [
        "+48••••••001"]

