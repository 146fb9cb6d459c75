"""Helpers for contacts tests: import a CSV as a person would, read back what a list holds."""

from __future__ import annotations

from multisms import intake
from multisms.contact_import import ImportReport, import_csv
from multisms.contacts import list_members
from multisms.db import session_scope
from multisms.models import Recipient
from multisms.queues import enqueue_send, redis_connection

POLISH_EXCEL = (
    "Telefon;Imię\r\n"
    "+48 600 123 456;Łucja\r\n"
    "600 123 457;Zażółć Gęślą\r\n"
    "zadzwoń później;Ślimak\r\n"
    "+48 600 12;Źdźbło\r\n"
    ";Ćma\r\n"
    "0048 600 123 458;Ńandu\r\n"
).encode("cp1250")
"""Excel's "CSV" in a Polish Windows: semicolons, Windows-1250, and three rows that are not numbers."""
LUCJA, ZAZOLC, NANDU = "+48600123456", "+48600123457", "+48600123458"


def import_file(settings, list_name: str, data: bytes | str, *, dry_run: bool = False) -> ImportReport:
    """Import in one committed transaction, as an adapter's request would."""
    with session_scope(settings.database_url) as session:
        return import_csv(session, settings, list_name, data.encode() if isinstance(data, str) else data,
                          dry_run=dry_run)


def members(settings, list_name: str) -> dict[str, tuple[str | None, dict, bool]]:
    """number → (name, fields, opted out) for everyone in the list."""
    with session_scope(settings.database_url) as session:
        page, _ = list_members(session, list_name, limit=100_000)
        return {member.number: (member.name, dict(member.fields), member.opted_out) for member in page}


def send_now(settings, numbers: str, body: str, **kwargs) -> int:
    """Preview and confirm a batch in one go (what Confirm does), queued to send; returns its id."""
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body=body, numbers=numbers, **kwargs)
        batch_id = intake.submit(session, validation, created_by="test", confirmed=True).id
    enqueue_send(redis_connection(settings), batch_id)
    return batch_id


def stored(settings, batch_id: int) -> dict[str, Recipient]:
    with session_scope(settings.database_url) as session:
        rows = session.query(Recipient).filter_by(batch_id=batch_id).all()
        return {row.number_normalized: row for row in rows}
