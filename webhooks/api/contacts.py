"""`/api/contacts…` and `/api/lists…`: import a CSV into a list, read lists and their people, remove
them, and forget a number on request (or let it be imported again). The rules are
`multisms.contacts`, `.contact_import`, `.forget`.

The import route takes files far above the 1 MB every other request may be: its own cap,
CONTACTS_IMPORT_MAX_BYTES, checked against Content-Length before a byte is read and held
while reading (`request.max_content_length`) when the length is not given.
"""

from __future__ import annotations

from flask import Blueprint, request

from multisms.contact_import import import_csv
from multisms.contacts import contact_number, delete_contact, delete_list, list_lists, list_members
from multisms.errors import CsvRejected, ForgetKeyUnusable, InvalidListName, InvalidNumber, SendInFlight
from multisms.forget import forget, unforget
from multisms.numbers import mask
from webhooks import resources
from webhooks.api.contact_models import (
    Contact,
    ContactList,
    ContactPage,
    ContactQuery,
    Forgotten,
    ImportQuery,
    ImportReport,
    ListPage,
    RemovedContact,
    RemovedList,
    Unforgotten,
)
from webhooks.api.errors import ApiError, error_response, invalid
from webhooks.api.openapi import operation

bp = Blueprint("contacts", __name__)

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream")
"""What a CSV body may be labelled: Windows calls CSV files `application/vnd.ms-excel`."""
UPLOAD = ("text/csv", "multipart/form-data")


@bp.post("/contacts/import")
@operation("Import a contacts CSV into a list (created when new), or preview it with dry_run",
           query=ImportQuery, upload=UPLOAD, errors=(409, 413, 422),
           responses={200: (ImportReport, "What was imported (or would be, with dry_run); bad rows by line")},
           description="The body is the CSV itself (`text/csv`), or a form with the file as `file`. A number "
                       "column is found by its header or content; comma, semicolon or tab; UTF-8 or "
                       "Windows-1250. A refused file (422) stores nothing.")
def import_contacts(query: ImportQuery):
    settings, session = resources.settings(), resources.db()
    data = _uploaded_csv(settings.contacts_import_max_bytes)
    report = import_csv(session, settings, query.list_name, data, dry_run=query.dry_run)
    session.commit()
    return ImportReport.of(report)


@bp.get("/contacts")
@operation("The people in a list, in the order they joined", query=ContactQuery, errors=(404,),
           responses={200: (ContactPage, "A page of the list's contacts, with their opt-out state")})
def contacts(query: ContactQuery):
    items, total = list_members(resources.db(), query.list_name, limit=query.limit, offset=query.offset)
    return ContactPage(list=query.list_name, items=[Contact.of(member) for member in items], count=len(items),
                       total=total)


@bp.get("/lists")
@operation("Contact lists, by name, with their member and opt-out counts", responses={200: ListPage})
def lists():
    found = list_lists(resources.db())
    return ListPage(items=[ContactList.of(summary) for summary in found], count=len(found))


@bp.delete("/lists/<name>")
@operation("Delete a list; its contacts and every batch sent to them stay", responses={200: RemovedList})
def remove_list(name: str):
    session = resources.db()
    removed = delete_list(session, name)
    session.commit()
    return RemovedList(removed=ContactList.of(removed))


@bp.delete("/contacts/<number>")
@operation("Delete a contact from every list; what was sent to it stays", errors=(400,),
           responses={200: RemovedContact})
def remove_contact(number: str):
    session = resources.db()
    removed = delete_contact(session, resources.settings(), number)
    session.commit()
    return RemovedContact(number=removed.number, name=removed.name)


@bp.post("/contacts/<number>/forget")
@operation("Forget a number on request: erase its contact, names and texts; statuses and opt-out stay",
           errors=(400, 409), responses={200: Forgotten},
           description="A tombstone (an HMAC of the number under FORGET_KEY) keeps any later import from "
                       "bringing the number back silently. 409 when no key is set or a text to the number is "
                       "being sent this moment (repeat in a minute).")
def forget_number(number: str):
    session = resources.db()
    report = forget(session, resources.settings(), number)
    session.commit()
    return Forgotten.of(report)


@bp.delete("/contacts/<number>/forget")
@operation("Let a forgotten number be imported again (what was erased stays erased)", errors=(400, 404, 409),
           responses={200: Unforgotten},
           description="404 when the number was not forgotten; 409 when no key is set.")
def unforget_number(number: str):
    settings, session = resources.settings(), resources.db()
    e164 = contact_number(settings, number)
    if not unforget(session, settings, e164):
        raise ApiError(404, f"{mask(e164)} was not forgotten.")
    session.commit()
    return Unforgotten(number=mask(e164))


def _uploaded_csv(limit: int) -> bytes:
    """The CSV from the body or the form's `file`, refused (413) past `limit` bytes before it is read."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"The file is {_megabytes(request.content_length)}; one import takes at most "
                            f"{_megabytes(limit)} (CONTACTS_IMPORT_MAX_BYTES): split it into parts.")
    request.max_content_length = limit
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise invalid({"field": "file", "message": "Send the CSV as the form field `file`."})
        data = upload.read()
    elif request.mimetype in CSV_TYPES:
        data = request.get_data()
    else:
        given = request.mimetype or "no Content-Type"
        raise invalid({"field": "body", "message": f"Send the CSV itself as text/csv (not {given}), or as the "
                                                   "form field `file`."})
    if not data:
        raise invalid({"field": "body", "message": "The file is empty."})
    return data


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.3g} MB"


def _refused(status: int, field: str | None = None):
    """A domain refusal as this status, with nothing half done (the request's session rolls back)."""

    def handle(exc: Exception):
        resources.db().rollback()
        problems = [{"field": field, "message": str(exc)}] if field else []
        return error_response(status, str(exc), problems=problems)

    return handle


def _csv_rejected(exc: CsvRejected):
    resources.db().rollback()
    rows = [{"field": f"line {row.line}", "message": row.reason, "line": row.line, "value": row.value}
            for row in exc.invalid]
    return error_response(422, f"Nothing was imported: {exc}", problems=rows)


bp.register_error_handler(CsvRejected, _csv_rejected)
bp.register_error_handler(InvalidListName, _refused(400, "list"))
bp.register_error_handler(InvalidNumber, _refused(400, "number"))
bp.register_error_handler(ForgetKeyUnusable, _refused(409))
bp.register_error_handler(SendInFlight, _refused(409))
