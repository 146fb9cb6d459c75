"""Contacts and lists: find, list and remove them, and turn `list:drivers` plus pasted numbers into recipients.

Every adapter (Slack, REST, panel) calls these, so a list means the same people everywhere.
List names compare case-insensitively (`Drivers` is `drivers`). Removing a contact or a list
touches no sending history: batches, recipients and messages keep their own copies.

Grammar for lists wherever numbers are typed: `list:drivers`, and `list:"Night shift"` for a
name with spaces (straight or typographic quotes, as Slack may turn them).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from multisms.config import Settings
from multisms.errors import InvalidListName, InvalidNumber, NotFound
from multisms.models import Contact, ContactList, ListMember, OptOut
from multisms.numbers import NumberEntry, mask, parse_number, split_entries
from multisms.personalize import field_key
from multisms.storage import opted_out_among

MAX_LIST_NAME = 100
IN_CHUNK = 900
"""Values per `IN (…)` query: under every SQLite build's variable limit, few round trips for 10 000 numbers."""
LISTS_NAMED = 10
"""Existing list names shown next to an unknown one."""

_OPEN_QUOTES = "\"“„”"
_CLOSE_QUOTES = "\"”“"
LIST_TOKEN = re.compile(
    rf"(?<![^\s,;])list:(?:[{_OPEN_QUOTES}]([^{_OPEN_QUOTES}\n]*)[{_CLOSE_QUOTES}]|([^\s,;{_OPEN_QUOTES}]+))",
    re.IGNORECASE)
"""`list:drivers` or `list:"Night shift"`, standing on its own between spaces, commas, semicolons or lines."""
_NOT_IN_NAMES = re.compile(r"[\"“”„|,;\x00-\x1f\x7f]")
"""Never in a stored name: what `list:` tokens cannot spell, and control characters (PostgreSQL refuses NUL)."""
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ListSummary:
    """A list as a list of lists shows it."""

    id: int
    name: str
    members: int
    opted_out: int
    created_at: datetime

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "members": self.members, "opted_out": self.opted_out,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class Member:
    """A contact as a list shows it, with its opt-out state (an opted-out member is never texted)."""

    number: str
    name: str | None
    fields: Mapping[str, str]
    opted_out: bool
    added_at: datetime

    def to_dict(self, *, masked: bool) -> dict:
        return {"number": mask(self.number) if masked else self.number, "name": self.name,
                "fields": dict(self.fields), "opted_out": self.opted_out, "added_at": self.added_at.isoformat()}


@dataclass(frozen=True)
class Resolution:
    """Who a batch goes to, before the batch rules (opt-outs, limit) are applied by `validate_batch`.

    `entries` are the pasted numbers as typed (invalid ones and repeats included, so they are
    reported), then each list member not pasted, once. `people` holds the contact fields
    (`{name}` included) of every valid number that is a contact.
    """

    entries: tuple[NumberEntry, ...]
    people: dict[str, dict[str, str]]
    names: dict[str, str]
    opted_out: frozenset[str]
    lists: tuple[str, ...]
    known_fields: tuple[str, ...]
    problems: tuple[dict, ...] = field(default=())


def split_list_tokens(text: str) -> tuple[str, list[str]]:
    """`list:a +48 600 100 200 list:"B c"` → (`  +48 600 100 200  `, [`a`, `B c`])."""
    names = [match.group(1) if match.group(1) is not None else match.group(2) for match in LIST_TOKEN.finditer(text)]
    return LIST_TOKEN.sub(" ", text), [_SPACES.sub(" ", name).strip() for name in names]


def list_key(name: str) -> str:
    """How list names compare: spaces collapsed, then as field names do (NFC, casefolded)."""
    return field_key(_SPACES.sub(" ", name))


def checked_list_name(name: str) -> str:
    """The name to store, or `InvalidListName` saying what `list:<name>` could not spell."""
    cleaned = _SPACES.sub(" ", name or "").strip()
    if not cleaned:
        raise InvalidListName("Give the list a name, e.g. drivers.")
    length = max(len(cleaned), len(list_key(cleaned)))  # casefolding may lengthen it: `ß` → `ss`
    if length > MAX_LIST_NAME:
        raise InvalidListName(f"The list name is {length} characters; the limit is {MAX_LIST_NAME}.")
    bad = _NOT_IN_NAMES.search(cleaned)
    if bad:
        raise InvalidListName(f"A list name cannot contain {bad.group()!r}: use letters, digits, spaces, - or _.")
    return cleaned


def contact_number(settings: Settings, text: str) -> str:
    """A typed number in E.164 (the batch rules: `00`, DEFAULT_REGION), or `InvalidNumber` saying why not."""
    entry = parse_number(text or "", settings.default_region)
    if not entry.valid:
        raise InvalidNumber(f"“{entry.raw}” is not a phone number I can use: {entry.reason}.")
    return entry.e164


def get_list(session: Session, name: str) -> ContactList:
    """The list, whatever the case it is written in, or `NotFound` naming it (and a close match)."""
    found = None if _NOT_IN_NAMES.search(name) else session.scalar(
        select(ContactList).where(ContactList.name_key == list_key(name)))
    if found is None:
        raise NotFound(_unknown_list(session, name))
    return found


def list_lists(session: Session) -> list[ListSummary]:
    """Every list by name, with how many members it has and how many of them opted out."""
    rows = session.execute(
        select(ContactList.id, ContactList.name, ContactList.created_at, func.count(ListMember.contact_id),
               func.count(OptOut.number))
        .outerjoin(ListMember, ListMember.list_id == ContactList.id)
        .outerjoin(Contact, Contact.id == ListMember.contact_id)
        .outerjoin(OptOut, OptOut.number == Contact.number)
        .group_by(ContactList.id, ContactList.name, ContactList.created_at)
        .order_by(ContactList.name_key)
    ).all()
    return [ListSummary(id_, name, members, opted, created) for id_, name, created, members, opted in rows]


def delete_list(session: Session, name: str) -> ListSummary:
    """Remove a list and its memberships; its contacts stay (they may be in other lists, or sent to later)."""
    found = get_list(session, name)
    summary = next(summary for summary in list_lists(session) if summary.id == found.id)
    session.execute(delete(ListMember).where(ListMember.list_id == found.id))
    session.delete(found)
    session.flush()
    return summary


def list_members(session: Session, name: str, *, limit: int, offset: int = 0) -> tuple[list[Member], int]:
    """A page of a list's contacts, in the order they joined, with the total for paging."""
    found = get_list(session, name)
    total = session.scalar(select(func.count()).select_from(ListMember).where(ListMember.list_id == found.id))
    rows = session.execute(
        select(Contact.number, Contact.name, Contact.fields, OptOut.number.is_not(None), ListMember.added_at)
        .join(ListMember, ListMember.contact_id == Contact.id)
        .outerjoin(OptOut, OptOut.number == Contact.number)
        .where(ListMember.list_id == found.id)
        .order_by(ListMember.added_at, Contact.id).limit(limit).offset(offset)
    ).all()
    return [Member(number, name, fields or {}, bool(opted), added) for number, name, fields, opted, added in rows], \
        total or 0


def delete_contact(session: Session, settings: Settings, number: str) -> Contact:
    """Remove a contact from every list and from contacts; what was sent to it stays in the history."""
    e164 = contact_number(settings, number)
    contact = session.scalar(select(Contact).where(Contact.number == e164))
    if contact is None:
        raise NotFound(f"No contact with the number {mask(e164)}.")
    session.execute(delete(ListMember).where(ListMember.contact_id == contact.id))
    session.delete(contact)
    session.flush()
    return contact


def contacts_by_number(session: Session, numbers: Iterable[str]) -> dict[str, Contact]:
    """The contacts among these E.164 numbers, looked up a chunk at a time."""
    wanted = list(dict.fromkeys(numbers))
    found: dict[str, Contact] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start:start + IN_CHUNK]
        found.update((contact.number, contact)
                     for contact in session.scalars(select(Contact).where(Contact.number.in_(chunk))))
    return found


def personal_fields(name: str | None, fields: Mapping[str, str] | None) -> dict[str, str]:
    """What a contact's placeholders read: its CSV columns, and `{name}` from its name unless a column says it."""
    return {**({"name": name} if name else {}), **(fields or {})}


def resolve(session: Session, settings: Settings, *, numbers_text: str | Sequence[str],
            list_names: Iterable[str] = ()) -> Resolution:
    """Lists and pasted numbers together: normalised, each number once (a pasted list member keeps its
    contact fields). An unknown list is a problem naming it; nothing is left out silently.
    """
    texts = [numbers_text] if isinstance(numbers_text, str) else [str(item) for item in numbers_text]
    names = list(list_names)
    entries: list[NumberEntry] = []
    for text in texts:
        rest, named = split_list_tokens(text)
        names += named
        entries += split_entries(rest, settings.default_region)
    chosen, problems = _named_lists(session, names)
    members = _members(session, [chosen_list.id for chosen_list in chosen])
    pasted = {entry.e164 for entry in entries if entry.valid}
    entries += [NumberEntry(number, e164=number) for number in members if number not in pasted]
    people = {number: (contact.name, contact.fields) for number, contact in
              contacts_by_number(session, pasted - members.keys()).items()}
    people.update(members)
    return Resolution(
        entries=tuple(entries),
        people={number: personal_fields(name, fields) for number, (name, fields) in people.items()},
        names={number: name for number, (name, _) in people.items() if name},
        opted_out=frozenset(_opted_out(session, [*pasted, *members])),
        lists=tuple(chosen_list.name for chosen_list in chosen),
        known_fields=("name", *_all_list_fields(session)),
        problems=tuple(problems),
    )


def _named_lists(session: Session, names: Sequence[str]) -> tuple[list[ContactList], list[dict]]:
    """The lists asked for, each once, and a problem for each name that is no list."""
    keys = list(dict.fromkeys(list_key(name) for name in names if name.strip()))
    if not keys:
        return [], []
    possible = [key for key in keys if not _NOT_IN_NAMES.search(key)]
    by_key = {found.name_key: found for found in session.scalars(select(ContactList).where(
        ContactList.name_key.in_(possible)))}
    spelled = {list_key(name): name for name in reversed(names)}
    problems = [{"field": "lists", "message": _unknown_list(session, spelled[key])}
                for key in keys if key not in by_key]
    return [by_key[key] for key in keys if key in by_key], problems


def _members(session: Session, list_ids: list[int]) -> dict[str, tuple[str | None, dict]]:
    """number → (name, fields) of every member of these lists, in list order, then joining order."""
    if not list_ids:
        return {}
    order = {list_id: index for index, list_id in enumerate(list_ids)}
    rows = session.execute(
        select(ListMember.list_id, Contact.number, Contact.name, Contact.fields)
        .join(Contact, Contact.id == ListMember.contact_id)
        .where(ListMember.list_id.in_(list_ids))
        .order_by(ListMember.added_at, Contact.id)
    ).all()
    members: dict[str, tuple[str | None, dict]] = {}
    for _, number, name, fields in sorted(rows, key=lambda row: order[row[0]]):
        members.setdefault(number, (name, fields or {}))
    return members


def _opted_out(session: Session, numbers: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(numbers), IN_CHUNK):
        found |= opted_out_among(session, list(numbers[start:start + IN_CHUNK]))
    return found


def _all_list_fields(session: Session) -> list[str]:
    """Field names any list's imports brought: `{plate|}` is known although these recipients lack it."""
    names: dict[str, str] = {}
    for fields in session.scalars(select(ContactList.fields)):
        for name in fields or ():
            names.setdefault(field_key(name), name)
    return list(names.values())


def _unknown_list(session: Session, name: str) -> str:
    existing = list(session.scalars(select(ContactList.name).order_by(ContactList.name_key)))
    message = f"No list named “{name}”."
    close = difflib.get_close_matches(list_key(name), [list_key(known) for known in existing], n=1)
    if close:
        spelled = next(known for known in existing if list_key(known) == close[0])
        return message + f" Did you mean “{spelled}”?"
    if existing:
        shown = ", ".join(existing[:LISTS_NAMED]) + (", …" if len(existing) > LISTS_NAMED else "")
        return message + f" Lists: {shown}."
    return message + " There are no lists yet: import a CSV of contacts to make one."
