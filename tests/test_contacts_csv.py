"""A team imports its people from a spreadsheet's CSV export, whatever the spreadsheet did to it."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multisms.contacts_csv import read_contacts_csv
from multisms.errors import CsvRejected


def people(result) -> dict[str, dict[str, str]]:
    return {contact.e164: dict(contact.fields) for contact in result.contacts}


def bad_lines(result) -> list[tuple[int, str, str]]:
    return [(row.line, row.value, row.reason) for row in result.invalid]


def test_a_polish_excel_export_imports_the_good_rows_and_names_the_bad_lines():
    polish_excel = (
        "Telefon;Imię\r\n"
        "+48 600 123 456;Łucja\r\n"
        "600 123 457;Zażółć Gęślą\r\n"
        "zadzwoń później;Ślimak\r\n"
        "+48 600 12;Źdźbło\r\n"
        ";Ćma\r\n"
        "0048 600 123 458;Ńandu\r\n"
    ).encode("cp1250")

    result = read_contacts_csv(polish_excel, default_region="PL")

    assert people(result) == {
        "+48600123456": {"Imię": "Łucja"},
        "+48600123457": {"Imię": "Zażółć Gęślą"},
        "+48600123458": {"Imię": "Ńandu"},
    }
    assert bad_lines(result) == [
        (4, "zadzwoń później", "not a phone number"),
        (5, "+48 600 12", "too short"),
        (6, "", "no phone number in column “Telefon”"),
    ]
    assert (result.encoding, result.delimiter, result.number_column) == ("Windows-1250", ";", "Telefon")
    assert result.rows_read == 6
    assert result.field_names == ("Imię",)


def test_a_utf8_file_with_a_byte_order_mark_keeps_its_first_header_clean():
    result = read_contacts_csv(codecs.BOM_UTF8 + "phone,name\n+48600123456,Łucja\n".encode(), default_region=None)

    assert result.headers == ("phone", "name")
    assert people(result) == {"+48600123456": {"name": "Łucja"}}
    assert result.encoding == "UTF-8 with BOM"


def test_plain_utf8_is_read_as_utf8():
    result = read_contacts_csv("phone,name\n+48600123456,Zoë 👋\n".encode(), default_region=None)

    assert people(result) == {"+48600123456": {"name": "Zoë 👋"}}
    assert result.encoding == "UTF-8"


def test_excels_unicode_text_export_is_utf16_with_tabs():
    unicode_text = "Nr telefonu\tImię\tMiasto\r\n+48 600 123 456\tŁucja\tŁódź\r\n".encode("utf-16")

    result = read_contacts_csv(unicode_text, default_region=None)

    assert people(result) == {"+48600123456": {"Imię": "Łucja", "Miasto": "Łódź"}}
    assert (result.encoding, result.delimiter, result.number_column) == ("UTF-16", "\t", "Nr telefonu")


def test_quoted_cells_keep_their_delimiters_and_line_breaks_and_lines_are_counted_as_rows():
    data = (
        'name;phone;address\n'
        '"Kowalski; Jan";+48600123456;"ul. Długa 1\nm. 2\n00-001 Warszawa"\n'
        '"Nowak ""Ewa""";+48 600 12;Krótka 3\n'
        'Ola;+48600123457;\n'
    ).encode()

    result = read_contacts_csv(data, default_region=None)

    assert people(result) == {
        "+48600123456": {"name": "Kowalski; Jan", "address": "ul. Długa 1\nm. 2\n00-001 Warszawa"},
        "+48600123457": {"name": "Ola"},
    }
    # the spreadsheet shows the three-line address as one row, so the bad row is row 3
    assert bad_lines(result) == [(3, "+48 600 12", "too short")]
    assert [contact.line for contact in result.contacts] == [2, 4]


def test_blank_rows_are_skipped_but_still_counted_as_rows():
    result = read_contacts_csv(b"phone\n\n+48600123456\n\n\nnope\n", default_region=None)

    assert list(people(result)) == ["+48600123456"]
    assert bad_lines(result) == [(6, "nope", "not a phone number")]
    assert result.rows_read == 2


@pytest.mark.parametrize("header", [
    "Phone", " TELEFON ", "Nr. telefonu", "nr_telefonu", "Komórka", "KOMORKA", "mobile_number",
    "Telefon kontaktowy", "Phone (work)", "Numer", "MSISDN", "Tel.",
])
def test_the_number_column_is_recognised_by_its_usual_names(header):
    result = read_contacts_csv(f"Name,{header},Plate number\nAnna,+48600123456,WA 12345\n".encode(),
                               default_region=None)

    assert result.number_column == header.strip()
    assert people(result) == {"+48600123456": {"Name": "Anna", "Plate number": "WA 12345"}}


def test_when_two_columns_are_named_like_numbers_the_one_holding_numbers_wins():
    data = b"Mobile operator,Mobile phone\nPlay,+48600123456\nOrange,+48600123457\n"

    result = read_contacts_csv(data, default_region=None)

    assert result.number_column == "Mobile phone"
    assert people(result)["+48600123456"] == {"Mobile operator": "Play"}


def test_a_number_column_with_an_unusual_name_is_found_by_its_content():
    data = b"Driver,Kontakt,Plate\nAnna,+48 600 123 456,WA1\nPiotr,600123457,WB2\nOla,brak,WC3\n"

    result = read_contacts_csv(data, default_region="PL")

    assert result.number_column == "Kontakt"
    assert people(result) == {
        "+48600123456": {"Driver": "Anna", "Plate": "WA1"},
        "+48600123457": {"Driver": "Piotr", "Plate": "WB2"},
    }
    assert bad_lines(result) == [(4, "brak", "not a phone number")]


def test_a_number_column_without_any_header_is_found_by_its_content():
    result = read_contacts_csv(b"Name,\nAnna,+48600123456\nPiotr,+48600123457\n", default_region=None)

    assert (result.number_column, result.number_column_index) == ("", 1)
    assert people(result) == {"+48600123456": {"Name": "Anna"}, "+48600123457": {"Name": "Piotr"}}


def test_national_numbers_without_a_default_region_are_explained_not_silently_dropped():
    with pytest.raises(CsvRejected) as refused:
        read_contacts_csv(b"Name,Kontakt\nAnna,600123456\nPiotr,600123457\n", default_region=None)

    assert "none of the 2 rows has a valid phone number in column “Kontakt”" in str(refused.value)
    assert "DEFAULT_REGION" in str(refused.value)
    assert [row.line for row in refused.value.invalid] == [2, 3]


def test_a_file_without_a_header_line_is_refused_rather_than_losing_its_first_person():
    with pytest.raises(CsvRejected, match="Line 1 holds a phone number .* must be the header"):
        read_contacts_csv(b"+48600123456;Anna\n+48600123457;Piotr\n", default_region=None)


def test_a_file_without_any_number_column_is_refused_with_its_columns_named():
    with pytest.raises(CsvRejected, match="No phone number column found.*“Name”, “City”"):
        read_contacts_csv("Name,City\nAnna,Opole\nPiotr,Kraków\n".encode(), default_region=None)


def test_the_same_number_on_several_rows_becomes_one_contact_where_later_non_empty_cells_win():
    data = (
        b"phone,name,plate,team\n"
        b"+48 600 123 456,Anna,WA1,\n"
        b"+48600111222,Piotr,,\n"
        b"0048600123456,Ania,,blue\n"
        b"600-123-456,,WA9,\n"
    )

    result = read_contacts_csv(data, default_region="PL")

    assert people(result) == {
        "+48600123456": {"name": "Ania", "plate": "WA9", "team": "blue"},
        "+48600111222": {"name": "Piotr"},
    }
    assert result.duplicates == 2
    assert [contact.line for contact in result.contacts] == [2, 3]


def test_cells_are_trimmed_and_columns_without_a_header_are_not_fields():
    result = read_contacts_csv(b" phone , name ,\n +48600123456 ,  Anna  , stray\n", default_region=None)

    assert result.headers == ("phone", "name", "")
    assert people(result) == {"+48600123456": {"name": "Anna"}}


def test_a_spreadsheet_that_turned_numbers_into_scientific_notation_says_how_to_fix_it():
    result = read_contacts_csv(b"phone\n+48600123456\n4.86001E+11\n", default_region="PL")

    [(line, value, reason)] = bad_lines(result)
    assert (line, value) == (3, "4.86001E+11")
    assert "format the column as Text" in reason


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "The file is empty"),
    (b"\n\n", "The file is empty"),
    (b"phone,name\n", "no rows below it"),
    (b"\nphone\n+48600123456\n", "Line 1 is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
    (b"phone,name\n+48600123456,caf\x98\n", r"not readable as Windows-1250 \(byte 28 is 0x98\)"),
    (b'phone,name\n+48600123456,"Anna\n+48600123457,Piotr\n', "Line 2 is not valid CSV"),
    (b"Phone,Name,NAME\n+48600123456,Anna,Ania\n", r"Columns 2 \(“Name”\) and 3 \(“NAME”\) have the same name"),
    (b"phone\nnope\n", "the only row has no valid phone number in column “phone” \\(line 2: not a phone number\\)"),
])
def test_files_that_cannot_be_imported_are_refused_with_the_reason(data, reason):
    with pytest.raises(CsvRejected, match=reason):
        read_contacts_csv(data, default_region=None)


def test_a_refused_file_lists_every_bad_row_for_the_preview():
    with pytest.raises(CsvRejected) as refused:
        read_contacts_csv(b"phone\nx\ny\nz\nw\n", default_region=None)

    assert [row.to_dict() for row in refused.value.invalid] == [
        {"line": line, "value": value, "reason": "not a phone number"}
        for line, value in [(2, "x"), (3, "y"), (4, "z"), (5, "w")]
    ]
    assert "line 2" in str(refused.value) and "line 5" not in str(refused.value)


def test_the_report_says_how_the_file_was_read():
    result = read_contacts_csv("Telefon;Imię\n+48600123456;Łucja\nx;Ola\n".encode("cp1250"), default_region=None)

    assert result.to_dict() == {
        "rows_read": 2,
        "valid_count": 1,
        "invalid": [{"line": 3, "value": "x", "reason": "not a phone number"}],
        "duplicates": 0,
        "headers": ["Telefon", "Imię"],
        "number_column": "Telefon",
        "fields": ["Imię"],
        "encoding": "Windows-1250",
        "delimiter": "semicolon",
    }


NUMBERS = [f"+4860012{n:04d}" for n in range(3400, 3600)]
POLISH_TEXT = st.text(alphabet="aąbcćeęlłnńoóśzźżAĄŁŻ ,;\t\"'\n-", max_size=20).map(str.strip)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(st.sampled_from(NUMBERS), POLISH_TEXT, POLISH_TEXT), min_size=1, max_size=15,
                  unique_by=lambda row: row[0]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1250"]),
)
def test_whatever_a_spreadsheet_writes_comes_back_as_written(rows, delimiter, encoding):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Imię", "Telefon", "Uwagi"])
    writer.writerows([(name, number, note) for number, name, note in rows])

    result = read_contacts_csv(out.getvalue().encode(encoding), default_region=None)

    expected = {number: {key: value for key, value in (("Imię", name), ("Uwagi", note)) if value}
                for number, name, note in rows}
    assert people(result) == expected
    assert result.delimiter == delimiter
    assert result.invalid == ()


@given(st.binary(max_size=300))
def test_any_bytes_give_contacts_or_a_reason(data):
    try:
        result = read_contacts_csv(data, default_region="PL")
    except CsvRejected as refused:
        assert str(refused)
    else:
        assert result.contacts
        assert all(row.line >= 2 and row.reason for row in result.invalid)
