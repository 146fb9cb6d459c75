"""Sending to lists, with texts written for each person: `send list:kierowcy | Cześć {imię|}`.

The preview (`intake.check`) is what Slack, REST and the panel show; the send job sends what it stored.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.scheduling import due_work
from multisms import intake, optouts, reminders
from multisms.contacts import delete_contact
from multisms.db import session_scope
from multisms.errors import BatchRejected
from multisms.models import utcnow
from multisms.timespec import parse_schedule
from tests.contact_helpers import LUCJA, NANDU, POLISH_EXCEL, ZAZOLC, import_file, send_now, stored

STRANGER = "+48600999001"
"""A pasted number that is no contact."""


@pytest.fixture
def settings(configure):
    return configure(DEFAULT_REGION="PL")


def preview(settings, numbers: str, body: str = "Hello", **kwargs):
    with session_scope(settings.database_url) as session:
        return intake.check(session, settings, body=body, numbers=numbers, **kwargs)


def sent_texts(twilio_api) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for message in twilio_api.messages:
        texts.setdefault(message["to"], []).append(message["body"])
    return texts


def test_each_person_on_the_list_gets_their_own_text_once(settings, twilio_api, run_jobs):
    import_file(settings, "Kierowcy", POLISH_EXCEL)

    batch_id = send_now(settings, f"list:kierowcy {STRANGER}", "Cześć {imię|}! Jutro zmiana o 6:00.")
    run_jobs()

    assert sent_texts(twilio_api) == {
        LUCJA: ["Cześć Łucja! Jutro zmiana o 6:00."],
        ZAZOLC: ["Cześć Zażółć Gęślą! Jutro zmiana o 6:00."],
        NANDU: ["Cześć Ńandu! Jutro zmiana o 6:00."],
        STRANGER: ["Cześć ! Jutro zmiana o 6:00."],
    }
    recipients = stored(settings, batch_id)
    assert {number: (row.body, row.name) for number, row in recipients.items()} == {
        LUCJA: ("Cześć Łucja! Jutro zmiana o 6:00.", "Łucja"),
        ZAZOLC: ("Cześć Zażółć Gęślą! Jutro zmiana o 6:00.", "Zażółć Gęślą"),
        NANDU: ("Cześć Ńandu! Jutro zmiana o 6:00.", "Ńandu"),
        STRANGER: ("Cześć ! Jutro zmiana o 6:00.", None),
    }
    assert {row.status for row in recipients.values()} == {"queued"}


def test_the_preview_shows_an_example_the_longest_text_segments_in_all_and_the_cost(settings):
    import_file(settings, "Kierowcy", POLISH_EXCEL)

    shown = preview(settings, "list:Kierowcy", "Cześć {imię|}! Jutro zmiana o 6:00.").to_dict()

    assert shown["ok"] and shown["personalized"] and shown["lists"] == ["Kierowcy"]
    assert shown["example"]["body"] == "Cześć Łucja! Jutro zmiana o 6:00."
    assert shown["example"]["number"] == "+48••••••456"
    assert shown["longest"]["body"] == "Cześć Zażółć Gęślą! Jutro zmiana o 6:00."
    assert (shown["encoding"], shown["encodings"]) == ("UCS-2", {"UCS-2": 3})
    assert shown["total_segments"] == 3 and shown["cost"] == pytest.approx(3 * settings.multi_sms_price_per_segment)
    assert shown["valid_count"] == 3 and shown["recipients"] == [LUCJA, ZAZOLC, NANDU]


def test_a_list_and_pasted_numbers_that_overlap_send_once_per_number(settings, twilio_api, run_jobs):
    import_file(settings, "drivers", "phone,name\n+48600100001,Anna\n+48600100002,Bob\n")
    import_file(settings, "office", "phone,name\n+48600100002,Bob\n+48600100003,Cezary\n")

    validation = preview(settings, "+48 600 100 002, list:drivers list:OFFICE +48600100001 list:drivers",
                         "Hi {name}")
    assert validation.ok and validation.duplicates == ()
    assert validation.recipients == ("+48600100002", "+48600100001", "+48600100003")
    assert validation.spellings["+48600100002"] == "+48 600 100 002"

    send_now(settings, "+48 600 100 002, list:drivers list:OFFICE +48600100001 list:drivers", "Hi {name}")
    run_jobs()
    assert sent_texts(twilio_api) == {"+48600100001": ["Hi Anna"], "+48600100002": ["Hi Bob"],
                                      "+48600100003": ["Hi Cezary"]}


def test_an_opted_out_contact_is_skipped_and_not_counted_against_the_limit(configure, twilio_api, run_jobs):
    settings = configure(DEFAULT_REGION="PL", MULTI_SMS_MAX_RECIPIENTS="2")
    import_file(settings, "drivers", "phone,name\n+48600100001,Anna\n+48600100002,Bob\n+48600100003,Cezary\n")
    with session_scope(settings.database_url) as session:
        optouts.add(session, "+48600100002", "stop_keyword")

    validation = preview(settings, "list:drivers", "Hi {name}")
    assert validation.ok and validation.opted_out == ("+48600100002",)
    assert validation.recipients == ("+48600100001", "+48600100003")

    batch_id = send_now(settings, "list:drivers", "Hi {name}")
    run_jobs()
    assert sent_texts(twilio_api) == {"+48600100001": ["Hi Anna"], "+48600100003": ["Hi Cezary"]}
    assert stored(settings, batch_id)["+48600100002"].status == "opted_out"

    over = preview(settings, "list:drivers +48600100004", "Hi {name|there}")
    assert [problem["message"] for problem in over.problems] == [
        "3 unique numbers; the limit is 2 per batch (MULTI_SMS_MAX_RECIPIENTS). Split the list into smaller batches."]


def test_an_unknown_placeholder_is_refused_in_the_preview_and_nothing_is_stored(settings):
    import_file(settings, "Kierowcy", POLISH_EXCEL)

    validation = preview(settings, "list:kierowcy", "Cześć {imie}!")

    assert not validation.ok
    assert [(p["field"], p["kind"], p["message"]) for p in validation.problems] == [
        ("body", "unknown_field", "Unknown field {imie}: no contact or CSV column has it. Did you mean {Imię}?")]
    with session_scope(settings.database_url) as session, pytest.raises(BatchRejected, match="Unknown field"):
        intake.submit(session, validation, created_by="test", confirmed=True)


def test_a_field_a_pasted_number_lacks_is_named_unless_there_is_a_fallback(settings):
    import_file(settings, "drivers", "phone,name,Plate\n+48600100001,Anna,WA 1234\n")

    missing = preview(settings, f"list:drivers {STRANGER}", "{name}, your car {plate} is ready")
    fallback = preview(settings, STRANGER, "{name|Driver}, your car {plate|} is ready")

    assert [p["message"] for p in missing.problems] == [
        "{name} has no value for 1 recipient (+48••••••001; 1 of them is a number without a contact): "
        "fill it in, or add a fallback like {name|…}.",
        "{plate} has no value for 1 recipient (+48••••••001; 1 of them is a number without a contact): "
        "fill it in, or add a fallback like {plate|…}."]
    assert fallback.ok and [text.body for text in fallback.texts] == ["Driver, your car  is ready"]


def test_each_rendered_text_must_fit_twilios_1600_characters(settings):
    import_file(settings, "drivers", f"phone,name,Note\n+48600100001,Anna,short\n+48600100002,Bob,{'x' * 1600}\n")

    validation = preview(settings, "list:drivers", "Hi {name}: {note}")

    assert [p["message"] for p in validation.problems] == [
        "1 recipient (+48••••••002) would get more than 1600 characters (up to 1608): "
        "shorten the text or the field values."]


def test_an_unknown_list_is_named_with_the_closest_one(settings):
    import_file(settings, "Night shift", "phone\n+48600100001\n")

    validation = preview(settings, "list:nightshift +48600100002")
    quoted = preview(settings, "list:“night SHIFT”", "Hi")

    assert [(p["field"], p["message"]) for p in validation.problems] == [
        ("lists", "No list named “nightshift”. Did you mean “Night shift”?")]
    assert quoted.ok and quoted.recipients == ("+48600100001",)


def test_a_list_with_no_one_left_says_so(settings):
    import_file(settings, "volunteers", "phone\n+48600100001\n")
    with session_scope(settings.database_url) as session:
        delete_contact(session, settings, "+48600100001")

    assert [p["message"] for p in preview(settings, "list:volunteers").problems] == [
        "No one to send to: list “volunteers” has no members yet. Import contacts, or add numbers."]


def test_an_ai_written_text_keeps_its_braces(settings):
    validation = preview(settings, STRANGER, "Menu {today}: soup", template=False)

    assert validation.ok and not validation.personalized and validation.own_texts == {}


def test_double_braces_write_braces(settings, twilio_api, run_jobs):
    import_file(settings, "drivers", "phone,name\n+48600100001,Anna\n")

    send_now(settings, "list:drivers", "{{{name}}}: code {{A7}}")
    run_jobs()

    assert sent_texts(twilio_api) == {"+48600100001": ["{Anna}: code {A7}"]}


def test_a_plain_text_is_stored_once_for_the_batch_as_before(settings):
    batch_id = send_now(settings, "+48600100001 +48600100002", "Same for all")

    assert {row.body for row in stored(settings, batch_id).values()} == {None}


def test_a_reminder_to_a_list_reaches_whoever_is_on_it_at_each_run(settings, twilio_api, redis_conn, run_jobs):
    import_file(settings, "drivers", "phone,name\n+48600100001,Anna\n")
    now = utcnow()
    with session_scope(settings.database_url) as session:
        reminder = reminders.create(session, settings, kind="reminder", schedule=parse_schedule("every day at 7:00"),
                                    zone="Europe/Warsaw", body="Good morning {name|}", numbers='list:"drivers"',
                                    sender=None, created_by="slack:U1", slack_channel=None, now=now)
        first = reminder.next_run_at

    due_work(settings, redis_conn, now=first + timedelta(seconds=1))
    run_jobs()
    import_file(settings, "drivers", "phone,name\n+48600100002,Bob\n")
    with session_scope(settings.database_url) as session:
        second = reminders.get_reminder(session, reminder.id).next_run_at
    due_work(settings, redis_conn, now=second + timedelta(seconds=1))
    run_jobs()

    assert sent_texts(twilio_api) == {"+48600100001": ["Good morning Anna", "Good morning Anna"],
                                      "+48600100002": ["Good morning Bob"]}
