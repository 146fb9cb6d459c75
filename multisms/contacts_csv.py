"""Contacts from a spreadsheet's CSV export: decode, find the number column, check every row.

Pure (stdlib and `multisms.numbers`): Slack, REST and the panel read files through
`read_contacts_csv` and differ only in where the bytes come from and where contacts go.

- Line numbers are rows as a spreadsheet shows them: the header is line 1, a quoted cell
  with line breaks stays one row, and blank rows count (the sheet shows them) but are skipped.
- Duplicates (the same E.164 on several rows) merge into one contact at its first row:
  a later row's non-empty cells win (the later row is usually the correction), and an
  empty cell never erases a value.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from multisms.errors import CsvRejected
from multisms.numbers import NumberEntry, mask, parse_number
from multisms.personalize import field_key

DELIMITERS = ",;\t"
SNIFF_SAMPLE_CHARS = 16_384
"""Text shown to `csv.Sniffer`: a few hundred rows decide the delimiter as well as the whole file."""
CONTENT_SAMPLE_ROWS = 50
"""Rows parsed to find an unnamed number column: enough to be sure, cheap next to the import."""
MOSTLY = 0.5
"""Share of sampled rows that must look like phone numbers for a column to be the number column."""
PROBLEMS_IN_MESSAGE = 3

NUMBER_HEADERS = frozenset({
    "number", "numer", "nr", "numero", "msisdn", "e164", "e 164", "sms", "to", "phonenumber", "cellphone",
    "nr tel", "nr telefonu", "numer telefonu", "nr komorki", "numer komorki", "komorka", "handy", "movil",
    "celular", "portable",
})
"""Header names (as `_header_key` spells them) that mean "the phone number" on their own."""
NUMBER_HEADER_WORDS = frozenset({
    "phone", "telephone", "tel", "telefon", "telefono", "mobile", "cell", "cellphone", "msisdn", "komorka",
})
"""A header starting with one of these is a number column too: `Phone (work)`, `Telefon kontaktowy`."""

_PHONE_LIKE = re.compile(r"^[\d\s+\-().\/]+$")
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?E\+?\d+$", re.IGNORECASE)
_HEADER_PUNCTUATION = re.compile(r"[\s_\-./#:()]+")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class CsvContact:
    """One person from the file: number, other columns (header as written → non-empty value), first line."""

    e164: str
    fields: Mapping[str, str]
    line: int


@dataclass(frozen=True)
class InvalidRow:
    """A row that cannot become a contact: its line, the number cell as written, and why."""

    line: int
    value: str
    reason: str

    def to_dict(self) -> dict:
        return {"line": self.line, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class CsvImport:
    """What a file holds, and how it was read (so a preview can say "semicolons, Windows-1250")."""

    contacts: tuple[CsvContact, ...]
    invalid: tuple[InvalidRow, ...]
    duplicates: int
    """Rows merged into an earlier row with the same number."""
    headers: tuple[str, ...]
    number_column: str
    """The number column's header as written (may be empty when it was found by content)."""
    number_column_index: int
    encoding: str
    delimiter: str
    rows_read: int
    """Data rows in the file (blank rows not counted): what a caller's row cap applies to."""

    @property
    def field_names(self) -> tuple[str, ...]:
        """The columns that became contact fields: what `{field}` placeholders may name."""
        return tuple(name for index, name in enumerate(self.headers) if name and index != self.number_column_index)

    def to_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "valid_count": len(self.contacts),
            "invalid": [row.to_dict() for row in self.invalid],
            "duplicates": self.duplicates,
            "headers": list(self.headers),
            "number_column": self.number_column,
            "fields": list(self.field_names),
            "encoding": self.encoding,
            "delimiter": _DELIMITER_NAMES[self.delimiter],
        }


def read_contacts_csv(data: bytes, *, default_region: str | None) -> CsvImport:
    """Read a whole CSV file into contacts, naming each bad row.

    Numbers follow the batch rules (`00` prefix, `default_region` for numbers without `+`).
    Raises `CsvRejected` when nothing usable comes out: not text, no header, no number
    column, no rows, or no row with a valid number (its `invalid` then lists them all).
    """
    text, encoding = decode_csv(data)
    delimiter = sniff_delimiter(text)
    rows = _read_rows(text, delimiter)
    header = _checked_header(rows, delimiter)
    data_rows = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(row)]
    if not data_rows:
        raise CsvRejected("The file has a header but no rows below it: add one person per line.")
    column = _number_column(header, [row for _, row in data_rows], default_region)
    contacts, invalid, duplicates = _collect(data_rows, header, column, default_region)
    if not contacts:
        raise CsvRejected(_nothing_usable(len(data_rows), _column_label(header, column), invalid), tuple(invalid))
    return CsvImport(
        contacts=tuple(contacts),
        invalid=tuple(invalid),
        duplicates=duplicates,
        headers=tuple(header),
        number_column=header[column] if column < len(header) else "",
        number_column_index=column,
        encoding=encoding,
        delimiter=delimiter,
        rows_read=len(data_rows),
    )


def decode_csv(data: bytes) -> tuple[str, str]:
    """The file's text and the name of its encoding: UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1250."""
    if not data.strip():
        raise CsvRejected("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        raise CsvRejected("This is an Excel workbook (or another zip file), not CSV: "
                          "in Excel use File → Save As → CSV UTF-8, then import that file.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _decode(data, "utf-16", "UTF-16")
    elif data.startswith(codecs.BOM_UTF8):
        text, encoding = _decode(data, "utf-8-sig", "UTF-8 with BOM")
    else:
        try:
            text, encoding = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            text, encoding = _decode(data, "cp1250", "Windows-1250")
    if "\x00" in text:
        raise CsvRejected("The file contains NUL characters, so it is not CSV text: save it as CSV UTF-8.")
    return text, encoding


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: `csv.Sniffer` on the first rows, else the one the header line uses most."""
    sample = text[:SNIFF_SAMPLE_CHARS]
    if len(text) > SNIFF_SAMPLE_CHARS and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # a cut-off last row would look inconsistent
    header_line = io.StringIO(text, newline="").readline()
    in_header = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed and (in_header[sniffed] or not any(in_header.values())):
        return sniffed
    return max(DELIMITERS, key=in_header.__getitem__)  # ties and single-column files: comma


def _decode(data: bytes, codec: str, name: str) -> tuple[str, str]:
    try:
        return data.decode(codec), name
    except UnicodeDecodeError as exc:
        raise CsvRejected(
            f"The file is not readable as {name} (byte {exc.start + 1} is 0x{data[exc.start]:02X}): "
            "save it as CSV UTF-8 and import it again.") from exc


def _read_rows(text: str, delimiter: str) -> list[list[str]]:
    """Rows as a spreadsheet has them (index 0 is line 1), every cell trimmed."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append([cell.strip() for cell in row])
    except csv.Error as exc:
        raise CsvRejected(
            f"Line {len(rows) + 1} is not valid CSV ({exc}): a cell that starts with a quote must end with one, "
            'and a quote inside it is written "".') from exc
    return rows


def _checked_header(rows: Sequence[list[str]], delimiter: str) -> list[str]:
    """Line 1 names the columns; two columns with one name would make `{name}` ambiguous."""
    if not rows or not any(any(row) for row in rows):
        raise CsvRejected("The file is empty.")
    header = rows[0]
    separator = {"\t": "tab"}.get(delimiter, delimiter)
    if not any(header):
        raise CsvRejected(f"Line 1 is empty: it must name the columns (for example: phone{separator}name).")
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            continue
        first = seen.setdefault(field_key(name), index)
        if first != index:
            raise CsvRejected(f"Columns {first + 1} (“{header[first]}”) and {index + 1} (“{name}”) have the same "
                              "name: rename one, so that each field has one meaning.")
    return header


def _number_column(header: list[str], rows: Sequence[list[str]], region: str | None) -> int:
    """By header name first (the most number-like wins if several), else by content."""
    named = [index for index, name in enumerate(header) if _is_number_header(name)]
    if len(named) == 1:
        return named[0]
    sample = rows[:CONTENT_SAMPLE_ROWS]
    width = max(len(header), *(len(row) for row in sample))
    scores = {index: _column_score(sample, index, region) for index in (named or range(width))}
    best = max(scores, key=scores.__getitem__)
    if named:
        return best
    if scores[best][1] < MOSTLY:
        columns = ", ".join(f"“{name}”" for name in header if name) or "none"
        raise CsvRejected(f"No phone number column found. Line 1 names the columns ({columns}): "
                          "call the one with the numbers “phone” or “telefon”.")
    if best < len(header) and _looks_like_phone(header[best]):
        raise CsvRejected(f"Line 1 holds a phone number ({mask(header[best])}), but it must be the header naming "
                          "the columns (for example: phone, name): add a header line and import again.")
    return best


def _is_number_header(name: str) -> bool:
    key = _header_key(name)
    return key in NUMBER_HEADERS or key.split(" ", 1)[0] in NUMBER_HEADER_WORDS


def _header_key(name: str) -> str:
    """`Nr. telefonu`, `nr_telefonu` and `NR TELEFONU` all become `nr telefonu`; `Komórka` → `komorka`."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().replace("ł", "l"))
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _HEADER_PUNCTUATION.sub(" ", letters).strip()


def _column_score(sample: Sequence[list[str]], index: int, region: str | None) -> tuple[float, float]:
    """Share of rows with a valid number, then with something shaped like one (national, no region)."""
    cells = [row[index] for row in sample if index < len(row) and row[index]]
    valid = sum(1 for cell in cells if parse_number(cell, region).valid)
    shaped = sum(1 for cell in cells if _looks_like_phone(cell))
    return valid / len(sample), shaped / len(sample)


def _looks_like_phone(cell: str) -> bool:
    return bool(_PHONE_LIKE.match(cell)) and 7 <= sum(ch.isdigit() for ch in cell) <= 17


def _collect(rows: Sequence[tuple[int, list[str]]], header: list[str], column: int,
             region: str | None) -> tuple[list[CsvContact], list[InvalidRow], int]:
    """Contacts in file order (duplicates merged into the first), bad rows, and how many rows merged."""
    named = [(index, name) for index, name in enumerate(header) if name and index != column]
    found: dict[str, CsvContact] = {}
    invalid: list[InvalidRow] = []
    duplicates = 0
    for line, row in rows:
        raw = row[column] if column < len(row) else ""
        entry = parse_number(raw, region) if raw else None
        if entry is None or not entry.valid:
            invalid.append(InvalidRow(line, raw, _reason(raw, entry, _column_label(header, column))))
            continue
        values = {name: row[index] for index, name in named if index < len(row) and row[index]}
        if entry.e164 in found:
            duplicates += 1
            found[entry.e164].fields.update(values)
        else:
            found[entry.e164] = CsvContact(entry.e164, values, line)
    return list(found.values()), invalid, duplicates


def _reason(raw: str, entry: NumberEntry | None, column: str) -> str:
    if not raw:
        return f"no phone number in {column}"
    if _SCIENTIFIC.match(raw):
        return "the spreadsheet turned this number into scientific notation: format the column as Text and export again"
    return entry.reason


def _column_label(header: list[str], column: int) -> str:
    name = header[column] if column < len(header) else ""
    return f"column “{name}”" if name else f"column {column + 1}"


def _nothing_usable(rows: int, column: str, invalid: Sequence[InvalidRow]) -> str:
    first = "; ".join(f"line {row.line}: {row.reason}" for row in invalid[:PROBLEMS_IN_MESSAGE])
    which = "the only row has no" if rows == 1 else f"none of the {rows} rows has a"
    return f"Nothing to import: {which} valid phone number in {column} ({first})."
