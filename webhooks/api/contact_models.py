"""The REST API's contacts models: an import's report, lists, contacts, forget.

Kept apart from `webhooks.api.models` (batches, reminders, health) so each file stays readable;
the OpenAPI document is generated from both the same way.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from multisms import contact_import, contacts, forget
from webhooks.api.models import Page, Timestamp


def list_name_field():
    """The `list` query parameter (`list` is a type's name in Python, so the field has another)."""
    return Field(alias="list", min_length=1, max_length=200, description="the list's name (any case)")


class ImportQuery(BaseModel):
    """`POST /api/contacts/import?list=drivers&dry_run=1`."""

    list_name: str = list_name_field()
    dry_run: bool = Field(default=False, description="only say what the import would do; nothing is stored")


class ContactQuery(Page):
    list_name: str = list_name_field()


class InvalidRow(BaseModel):
    """A row that could not become a contact; line 1 is the header."""

    line: int
    value: str = Field(description="the number cell as written")
    reason: str


class SkippedRow(BaseModel):
    """A row skipped because its number was forgotten on request (masked, even here)."""

    line: int
    number: str
    reason: str


class ImportReport(BaseModel):
    """What an import did (or, with dry_run, would do)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    list_name: str = Field(alias="list")
    imported: int = Field(description="contacts new to the database")
    updated: int = Field(description="existing contacts whose fields or membership of the list changed")
    unchanged: int
    invalid: list[InvalidRow]
    duplicates: int = Field(description="rows merged into an earlier row with the same number")
    forgotten: list[SkippedRow]
    dry_run: bool
    rows_read: int
    encoding: str
    delimiter: str
    number_column: str = Field(description="the header of the number column (empty when found by its content)")
    fields: list[str] = Field(description="columns stored as contact fields, usable as {placeholders}")

    @classmethod
    def of(cls, report: contact_import.ImportReport) -> ImportReport:
        return cls.model_validate(report.to_dict())


class Contact(BaseModel):
    number: str
    name: str | None
    fields: dict[str, str]
    opted_out: bool = Field(description="never texted while true")
    added_at: Timestamp = Field(description="when it joined this list")

    @classmethod
    def of(cls, member: contacts.Member) -> Contact:
        return cls(number=member.number, name=member.name, fields=dict(member.fields), opted_out=member.opted_out,
                   added_at=member.added_at)


class ContactPage(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    list_name: str = Field(alias="list")
    items: list[Contact]
    count: int
    total: int


class ContactList(BaseModel):
    id: int
    name: str
    members: int
    opted_out: int = Field(description="members who opted out (they are skipped)")
    created_at: Timestamp

    @classmethod
    def of(cls, summary: contacts.ListSummary) -> ContactList:
        return cls(id=summary.id, name=summary.name, members=summary.members, opted_out=summary.opted_out,
                   created_at=summary.created_at)


class ListPage(BaseModel):
    items: list[ContactList]
    count: int


class RemovedList(BaseModel):
    """The list as it was; its contacts stay, and so does every batch sent to them."""

    removed: ContactList


class RemovedContact(BaseModel):
    """The contact as it was; what was sent to it stays in the history."""

    number: str
    name: str | None


class Forgotten(BaseModel):
    """What forgetting erased (the number masked): contact, texts and names; statuses and opt-out stay."""

    number: str
    contact_removed: bool
    lists_left: int
    messages_blanked: int
    recipients_blanked: int
    cancelled: int = Field(description="texts still waiting for the number, cancelled")
    opted_out: bool

    @classmethod
    def of(cls, report: forget.ForgetReport) -> Forgotten:
        return cls.model_validate(report.to_dict())


class Unforgotten(BaseModel):
    """A forgotten number that imports may bring back again (masked); what was erased stays erased."""

    number: str
