"""A team keeps its people in lists: imports them from a spreadsheet, looks at them, removes them.

Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from multisms import optouts
from multisms.contacts import delete_contact, delete_list, list_lists, list_members
from multisms.db import session_scope
from multisms.errors import CsvRejected, InvalidListName, NotFound
from multisms.models import Contact, ContactList, ListMember, Message
from tests.contact_helpers import LUCJA, NANDU, POLISH_EXCEL, ZAZOLC, import_file, members, send_now, stored


@pytest.fixture
def settings(configure):
    return configure(DEFAULT_REGION="PL", SECRET_KEY="test-secret-key")


def counts(settings) -> tuple[int, int, int]:
    """(contacts, lists, memberships) stored."""
    with session_scope(settings.database_url) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Contact, ContactList, ListMember))


def test_a_polish_excel_export_imports_the_good_rows_and_names_the_three_bad_lines(settings):
    report = import_file(settings, "Kierowcy", POLISH_EXCEL)

    assert (report.imported, report.updated, report.duplicates) == (3, 0, 0)
    assert [row.to_dict() for row in report.invalid] == [
        {"line": 4, "value": "zadzwoń później", "reason": "not a phone number"},
        {"line": 5, "value": "+48 600 12", "reason": "too short"},
        {"line": 6, "value": "", "reason": "no phone number in column “Telefon”"},
    ]
    assert report.to_dict()["encoding"] == "Windows-1250" and report.to_dict()["delimiter"] == "semicolon"
    assert members(settings, "kierowcy") == {
        LUCJA: ("Łucja", {"Imię": "Łucja"}, False),
        ZAZOLC: ("Zażółć Gęślą", {"Imię": "Zażółć Gęślą"}, False),
        NANDU: ("Ńandu", {"Imię": "Ńandu"}, False),
    }


def test_a_dry_run_reports_the_same_and_stores_nothing(settings):
    preview = import_file(settings, "Kierowcy", POLISH_EXCEL, dry_run=True)

    assert (preview.imported, len(preview.invalid), preview.dry_run) == (3, 3, True)
    assert counts(settings) == (0, 0, 0)
    assert import_file(settings, "Kierowcy", POLISH_EXCEL).imported == 3


def test_a_refused_file_stores_nothing_not_even_the_list(settings):
    with pytest.raises(CsvRejected, match="Nothing to import"):
        import_file(settings, "Kierowcy", "phone,name\nsoon,Anna\n600,Bob\n")
    assert counts(settings) == (0, 0, 0)


def test_a_file_over_the_import_limit_is_refused_naming_the_setting(configure):
    settings = configure(DEFAULT_REGION="PL", CONTACTS_IMPORT_MAX_ROWS="5")
    rows = "".join(f"+48600100{i:03d},Person {i}\n" for i in range(6))

    with pytest.raises(CsvRejected, match=r"6 rows; one import takes at most 5 \(CONTACTS_IMPORT_MAX_ROWS\)"):
        import_file(settings, "drivers", "phone,name\n" + rows)
    assert counts(settings) == (0, 0, 0)
    assert import_file(settings, "drivers", "phone,name\n" + rows[: rows.index("\n", 100) + 1]).imported == 5


def test_importing_again_updates_people_without_erasing_what_the_new_file_leaves_empty(settings):
    import_file(settings, "drivers", "phone,Name,Plate\n+48600100001,Anna,WA 1234\n+48600100002,Bob,KR 777\n")

    report = import_file(settings, "Drivers", "Phone,name,Shift\n+48600100001,Anna Nowak,\n"
                                              "+48600100002,Bob,night\n+48600100003,Cezary,day\n")

    assert (report.list_name, report.imported, report.updated, report.unchanged) == ("drivers", 1, 2, 0)
    assert members(settings, "DRIVERS") == {
        "+48600100001": ("Anna Nowak", {"name": "Anna Nowak", "Plate": "WA 1234"}, False),
        "+48600100002": ("Bob", {"name": "Bob", "Plate": "KR 777", "Shift": "night"}, False),
        "+48600100003": ("Cezary", {"name": "Cezary", "Shift": "day"}, False),
    }
    again = import_file(settings, "drivers", "Phone,name,Shift\n+48600100003,Cezary,day\n")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)


def test_one_person_in_two_lists_is_one_contact(settings):
    import_file(settings, "drivers", "phone,first name,last name\n+48600100001,Anna,Nowak\n")
    report = import_file(settings, "Night shift", "phone,first name\n+48600100001,Anna\n")

    assert (report.imported, report.updated) == (0, 1)  # joined a list: an update of an existing contact
    assert counts(settings) == (1, 2, 2)
    assert members(settings, "night shift")["+48600100001"][0] == "Anna Nowak"


def test_lists_show_their_members_and_who_opted_out(settings):
    import_file(settings, "drivers", "phone,name\n" + "".join(f"+48600100{i:03d},P{i}\n" for i in range(5)))
    import_file(settings, "office", "phone,name\n+48600200001,Olga\n")
    with session_scope(settings.database_url) as session:
        optouts.add(session, "+48600100003", "stop_keyword")

    with session_scope(settings.database_url) as session:
        shown = [(summary.name, summary.members, summary.opted_out) for summary in list_lists(session)]
        page, total = list_members(session, "Drivers", limit=2, offset=2)

    assert shown == [("drivers", 5, 1), ("office", 1, 0)]
    assert total == 5
    assert [(member.number, member.name, member.opted_out) for member in page] == [
        ("+48600100002", "P2", False), ("+48600100003", "P3", True)]
    assert page[1].to_dict(masked=True)["number"] == "+48••••••003"


def test_removing_a_list_or_a_contact_leaves_what_was_sent_to_them(settings, run_jobs, twilio_api):
    import_file(settings, "drivers", "phone,name\n+48600100001,Anna\n+48600100002,Bob\n")
    batch_id = send_now(settings, "list:drivers", "Hi {name}")
    run_jobs()

    with session_scope(settings.database_url) as session:
        removed = delete_list(session, "DRIVERS")
        delete_contact(session, settings, "600 100 001")

    assert (removed.name, removed.members) == ("drivers", 2)
    assert counts(settings) == (1, 0, 0)  # Bob stays a contact, in no list
    sent = stored(settings, batch_id)
    assert {number: (row.status, row.body, row.name) for number, row in sent.items()} == {
        "+48600100001": ("queued", "Hi Anna", "Anna"), "+48600100002": ("queued", "Hi Bob", "Bob")}
    with session_scope(settings.database_url) as session:
        assert sorted(session.scalars(select(Message.body))) == ["Hi Anna", "Hi Bob"]
        with pytest.raises(NotFound, match="No list named “drivers”"):
            list_members(session, "drivers", limit=10)
        with pytest.raises(NotFound, match=r"No contact with the number \+48••••••001"):
            delete_contact(session, settings, "+48600100001")


@pytest.mark.parametrize("name, reason", [
    ("  ", "Give the list a name"),
    ('Night "shift"', "cannot contain '\"'"),
    ("a|b", "cannot contain '|'"),
    ("x" * 101, "101 characters; the limit is 100"),
])
def test_a_list_name_that_list_tokens_could_not_spell_is_refused(settings, name, reason):
    with pytest.raises(InvalidListName, match=reason):
        import_file(settings, name, "phone\n+48600100001\n")
    assert counts(settings) == (0, 0, 0)


def test_ten_thousand_rows_import_and_a_second_import_changes_nothing(settings):
    rows = "".join(f"+48600{100000 + i:06d};Person {i};{'day' if i % 2 else 'night'}\n" for i in range(10_000))
    data = ("Telefon;Imię;Zmiana\n" + rows).encode("cp1250")

    first = import_file(settings, "everyone", data)
    second = import_file(settings, "everyone", data)

    assert (first.imported, first.updated, len(first.invalid)) == (10_000, 0, 0)
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 10_000)
    assert counts(settings) == (10_000, 1, 10_000)
    with session_scope(settings.database_url) as session:
        (everyone,) = list_lists(session)
        page, _ = list_members(session, "everyone", limit=1, offset=9_999)
    assert everyone.members == 10_000
    assert (page[0].number, page[0].name, page[0].fields["Zmiana"]) == ("+48600109999", "Person 9999", "day")
