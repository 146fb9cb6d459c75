"""After a send, the team downloads what happened to each person and opens it in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from multisms import optouts
from multisms.db import session_scope
from multisms.errors import NotFound
from multisms.models import Recipient
from multisms.reports import batch_report_csv, failures_csv
from multisms.storage import apply_delivery_status
from tests.contact_helpers import import_file, send_now

DELIVERED, UNDELIVERED, WRONG, REFUSED, STOPPED = (f"+4860010000{i}" for i in range(1, 6))
PEOPLE = (
    "phone,name\n"
    f'{DELIVERED},"=HYPERLINK(""http://evil.example"",""click"")"\n'
    f"{UNDELIVERED},@SUM(A1)\n"
    f"{WRONG},-2+3\n"
    f"{REFUSED},Łucja\n"
    f"{STOPPED},+Stop\n"
)
HEADER = ["Number", "Name", "Status", "Error code", "Error message", "Sent at (UTC)", "Delivered at (UTC)",
          "Segments"]


@pytest.fixture
def settings(configure):
    return configure(DEFAULT_REGION="PL")


@pytest.fixture
def finished_batch(settings, twilio_api, run_jobs) -> int:
    """Five people: delivered, undelivered, a wrong number, refused by Twilio, opted out before the send."""
    import_file(settings, "everyone", PEOPLE)
    with session_scope(settings.database_url) as session:
        optouts.add(session, STOPPED, "stop_keyword")
    twilio_api.fail_number(WRONG, 21211)
    twilio_api.fail_number(REFUSED, 21999, message=f"The 'To' number {REFUSED} cannot receive this message")
    batch_id = send_now(settings, "list:everyone", "Dzień dobry {name}, your shift starts at 6:00")
    run_jobs()
    with session_scope(settings.database_url) as session:
        sids = dict(session.execute(select(Recipient.number_normalized, Recipient.sid)
                                    .where(Recipient.batch_id == batch_id)).all())
        apply_delivery_status(session, sids[DELIVERED], "delivered", None, None)
        apply_delivery_status(session, sids[UNDELIVERED], "undelivered", 30003, "unreachable handset")
    return batch_id


def read(report: bytes) -> list[list[str]]:
    assert report.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(report[3:].decode("utf-8"))))


def test_the_report_lists_every_recipient_with_its_final_status_and_opens_safely(settings, finished_batch,
                                                                                  twilio_api):
    with session_scope(settings.database_url) as session:
        rows = read(batch_report_csv(session, finished_batch, masked=False))

    assert rows[0] == HEADER
    by_number = {row[0]: row for row in rows[1:]}
    assert list(by_number) == [f"'{DELIVERED}", f"'{UNDELIVERED}", f"'{WRONG}", f"'{REFUSED}", f"'{STOPPED}"]
    assert [row[1:5] for row in rows[1:]] == [
        ["'=HYPERLINK(\"http://evil.example\",\"click\")", "delivered", "", ""],
        ["'@SUM(A1)", "undelivered", "30003", "unreachable handset"],
        ["'-2+3", "invalid", "21211", "not a valid phone number"],
        ["Łucja", "failed", "21999", f"Unable to create record: The 'To' number {REFUSED} cannot receive this message"],
        ["'+Stop", "opted_out", "", ""],
    ]
    delivered, undelivered = by_number[f"'{DELIVERED}"], by_number[f"'{UNDELIVERED}"]
    assert delivered[5] and delivered[6] >= delivered[5]
    assert undelivered[5] and undelivered[6] == ""
    billed = {message["to"]: message["num_segments"] for message in twilio_api.messages}
    assert (delivered[7], undelivered[7]) == (billed[DELIVERED], billed[UNDELIVERED]) == ("2", "1")  # per own text
    assert [row[5:] for row in rows[3:]] == [["", "", ""]] * 3  # never accepted by Twilio: nothing billed
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_a_copy_for_the_channel_masks_numbers_even_inside_twilios_messages(settings, finished_batch):
    with session_scope(settings.database_url) as session:
        report = batch_report_csv(session, finished_batch, masked=True)

    rows = read(report)
    assert [row[0] for row in rows[1:]] == ["'+48••••••001", "'+48••••••002", "'+48••••••003", "'+48••••••004",
                                           "'+48••••••005"]
    assert rows[4][4] == "Unable to create record: The 'To' number +48••••••004 cannot receive this message"
    assert b"60010000" not in report


def test_the_thread_summary_gets_only_the_failures_masked(settings, finished_batch, twilio_api, run_jobs):
    with session_scope(settings.database_url) as session:
        failures = read(failures_csv(session, finished_batch))

    assert failures[0] == HEADER
    assert [(row[0], row[2]) for row in failures[1:]] == [
        ("'+48••••••002", "undelivered"), ("'+48••••••003", "invalid"), ("'+48••••••004", "failed")]

    clean = send_now(settings, DELIVERED, "All good")
    run_jobs()
    with session_scope(settings.database_url) as session:
        assert failures_csv(session, clean) is None
        with pytest.raises(NotFound, match="No batch #999"):
            batch_report_csv(session, 999, masked=True)
