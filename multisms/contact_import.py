"""A contacts CSV into a list: read it (`read_contacts_csv`), then create and update contacts in bulk.

All or nothing: a refused file (`CsvRejected`) or a dry run stores nothing, not even the list.
An existing contact is updated the way duplicate rows merge: the file's non-empty cells win,
an empty cell never erases a value, and columns the file does not have are kept.

A number that was forgotten on request is never brought back by an import: it is skipped and
reported with its line (masked). To bring it back on purpose, `multisms.forget.unforget` it
first, then import again (or add it by hand).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from multisms.config import Settings
from multisms.contacts import IN_CHUNK, checked_list_name, contacts_by_number, list_key
from multisms.contacts_csv import CsvContact, CsvImport, InvalidRow, read_contacts_csv
from multisms.errors import CsvRejected
from multisms.forget import forgotten_among
from multisms.models import Contact, ContactList, ListMember, utcnow
from multisms.numbers import mask
from multisms.personalize import field_key

FORGOTTEN_REASON = "forgotten on request: unforget the number first to import it again"
FULL_NAME_HEADERS = ("name", "full name", "fullname", "imię i nazwisko", "imie i nazwisko", "nazwa", "contact name",
                     "display name", "nombre", "nom")
FIRST_NAME_HEADERS = ("first name", "firstname", "given name", "imię", "imie", "vorname", "prénom", "prenom")
LAST_NAME_HEADERS = ("last name", "lastname", "surname", "family name", "nazwisko", "nachname", "apellido")
"""Headers (as `_header_words` spells them) a contact's name is read from: a full-name column, else first + last.
Only for showing and `{name}`: the columns themselves stay fields under their own names."""
_HEADER_SEPARATORS = re.compile(r"[\s_\-.]+")


@dataclass(frozen=True)
class ForgottenRow:
    """A row skipped because its number was forgotten; the number is masked, even in the report."""

    line: int
    number: str

    def to_dict(self) -> dict:
        return {"line": self.line, "number": self.number, "reason": FORGOTTEN_REASON}


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    list_name: str
    imported: int
    """Contacts new to the database."""
    updated: int
    """Existing contacts whose name, fields or membership of this list changed."""
    unchanged: int
    invalid: tuple[InvalidRow, ...]
    duplicates: int
    forgotten: tuple[ForgottenRow, ...]
    dry_run: bool
    source: CsvImport

    def to_dict(self) -> dict:
        read = self.source.to_dict()
        return {
            "list": self.list_name,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": [row.to_dict() for row in self.invalid],
            "duplicates": self.duplicates,
            "forgotten": [row.to_dict() for row in self.forgotten],
            "dry_run": self.dry_run,
            **{key: read[key] for key in ("rows_read", "encoding", "delimiter", "number_column", "fields")},
        }


@dataclass(frozen=True)
class _Plan:
    """The writes an import needs, worked out before any is made, and what they amount to."""

    new: list[dict]
    changed: list[dict]
    join: list[str]
    updated: int
    unchanged: int


def import_csv(session: Session, settings: Settings, list_name: str, data: bytes, *, dry_run: bool) -> ImportReport:
    """Import a CSV file's contacts into the list `list_name` (created when it does not exist).

    Raises `CsvRejected` (nothing stored) when the file cannot be read, has no valid number, or
    has more rows than CONTACTS_IMPORT_MAX_ROWS; `InvalidListName` for a name `list:` could not
    spell; `ForgetKeyUnusable` when forgotten numbers exist that the configured key cannot recognise.
    """
    name = checked_list_name(list_name)
    source = read_contacts_csv(data, default_region=settings.default_region)
    if source.rows_read > settings.contacts_import_max_rows:
        raise CsvRejected(f"The file has {source.rows_read} rows; one import takes at most "
                          f"{settings.contacts_import_max_rows} (CONTACTS_IMPORT_MAX_ROWS): split it into parts.")
    forgotten = forgotten_among(session, settings, [contact.e164 for contact in source.contacts])
    people = [contact for contact in source.contacts if contact.e164 not in forgotten]
    target = session.scalar(select(ContactList).where(ContactList.name_key == list_key(name)))
    plan = _plan(session, people, target)
    report = ImportReport(
        list_name=target.name if target else name, imported=len(plan.new), updated=plan.updated,
        unchanged=plan.unchanged, invalid=source.invalid, duplicates=source.duplicates,
        forgotten=tuple(ForgottenRow(contact.line, mask(contact.e164)) for contact in source.contacts
                        if contact.e164 in forgotten),
        dry_run=dry_run, source=source)
    if not dry_run:
        _write(session, target or _new_list(session, name), plan, source.field_names)
    return report


def _plan(session: Session, people: Sequence[CsvContact], target: ContactList | None) -> _Plan:
    """New contacts, changed ones and who joins the list, from one look-up of the numbers already stored."""
    existing = contacts_by_number(session, [person.e164 for person in people])
    members = _member_ids(session, target.id, [contact.id for contact in existing.values()]) if target else set()
    now = utcnow()
    new, changed, join, updated = [], [], [], 0
    for person in people:
        contact = existing.get(person.e164)
        if contact is None:
            new.append({"number": person.e164, "name": name_in(person.fields), "fields": dict(person.fields),
                        "created_at": now, "updated_at": now})
            join.append(person.e164)
            continue
        fields = merged_fields(contact.fields or {}, person.fields)
        name = name_in(fields) or contact.name
        edited = fields != (contact.fields or {}) or name != contact.name
        if edited:
            changed.append({"id": contact.id, "name": name, "fields": fields, "updated_at": now})
        if contact.id not in members:
            join.append(person.e164)
        updated += edited or contact.id not in members
    return _Plan(new, changed, join, updated, len(people) - len(new) - updated)


def name_in(fields: Mapping[str, str]) -> str | None:
    """A contact's name from its fields: `Name`, `Imię i nazwisko`…; else `First name` and `Last name`."""
    by_words = {_header_words(column): value for column, value in fields.items() if value}
    for header in FULL_NAME_HEADERS:
        if header in by_words:
            return by_words[header]
    first = next((by_words[header] for header in FIRST_NAME_HEADERS if header in by_words), None)
    last = next((by_words[header] for header in LAST_NAME_HEADERS if header in by_words), None)
    return " ".join(part for part in (first, last) if part) or None


def _header_words(header: str) -> str:
    return _HEADER_SEPARATORS.sub(" ", field_key(header)).strip()


def merged_fields(stored: Mapping[str, str], incoming: Mapping[str, str]) -> dict[str, str]:
    """Stored fields updated with the file's values; one key per field, spelled as the file spells it."""
    replaced = {field_key(name) for name in incoming}
    return {**{name: value for name, value in stored.items() if field_key(name) not in replaced}, **incoming}


def _write(session: Session, target: ContactList, plan: _Plan, columns: Sequence[str]) -> None:
    if plan.new:
        session.execute(_insert_new(session, Contact), plan.new)
    if plan.changed:
        session.execute(update(Contact), plan.changed)
    ids = {number: contact.id for number, contact in contacts_by_number(session, plan.join).items()}
    if plan.join:
        now = utcnow()
        session.execute(_insert_new(session, ListMember),
                        [{"list_id": target.id, "contact_id": ids[number], "added_at": now} for number in plan.join])
    target.fields = list(merged_fields({name: name for name in target.fields or ()}, {name: name for name in columns}))
    session.flush()


def _new_list(session: Session, name: str) -> ContactList:
    created = ContactList(name=name, name_key=list_key(name), fields=[], created_at=utcnow())
    session.add(created)
    session.flush()
    return created


def _member_ids(session: Session, list_id: int, contact_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(contact_ids), IN_CHUNK):
        found.update(session.scalars(select(ListMember.contact_id).where(
            ListMember.list_id == list_id, ListMember.contact_id.in_(contact_ids[start:start + IN_CHUNK]))))
    return found


def _insert_new(session: Session, model):
    """INSERT that skips rows already there: an import running at the same moment may have added them."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)
