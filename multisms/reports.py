"""Delivery reports: what happened to each recipient of a batch, as a CSV a spreadsheet opens safely.

UTF-8 with a byte-order mark, so Excel reads `Łucja` as Łucja. No cell can run as a formula:
text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which
also keeps a `+48…` number as text (spreadsheets would otherwise turn it into 48600123456).
A copy meant for a channel masks numbers (`masked=True`); the full-number file is for an
allowed person only, and which one is sent where is the adapter's call.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from multisms.batches import FAILURE
from multisms.logging_setup import mask_numbers
from multisms.models import Batch, Recipient
from multisms.numbers import mask
from multisms.segments import analyze
from multisms.storage import get_batch

COLUMNS = ("Number", "Name", "Status", "Error code", "Error message", "Sent at (UTC)", "Delivered at (UTC)",
           "Segments")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's CSV injection list)."""
FAILED = FAILURE | {"invalid"}
"""Statuses a failures file lists: Twilio or the carrier refused it, or the number was wrong."""
ROWS_PER_FETCH = 1000


def batch_report_csv(session: Session, batch_id: int, *, masked: bool) -> bytes:
    """Every recipient of the batch with its final status, in the order they were added."""
    batch = get_batch(session, batch_id)
    return _csv(batch, _recipients(session, batch_id), masked=masked)


def failures_csv(session: Session, batch_id: int) -> bytes | None:
    """The recipients that failed (numbers masked), for the batch's thread summary; None when none did."""
    batch = get_batch(session, batch_id)
    failed = list(_recipients(session, batch_id, statuses=FAILED))
    return _csv(batch, failed, masked=True) if failed else None


def safe_cell(value: object) -> str:
    """A cell that stays text: `'` before anything a spreadsheet would evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _recipients(session: Session, batch_id: int, statuses: frozenset[str] | None = None) -> Iterable[Recipient]:
    query = select(Recipient).where(Recipient.batch_id == batch_id)
    if statuses is not None:
        query = query.where(Recipient.status.in_(statuses))
    return session.scalars(query.order_by(Recipient.id).execution_options(yield_per=ROWS_PER_FETCH))


def _csv(batch: Batch, recipients: Iterable[Recipient], *, masked: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    segments_of = _segment_counter(batch.body)
    for recipient in recipients:
        writer.writerow([safe_cell(value) for value in _row(recipient, segments_of, masked=masked)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _row(recipient: Recipient, segments_of, *, masked: bool) -> list:
    number, error = recipient.number_normalized, recipient.error_message
    if masked:  # Twilio's own error texts can quote the number ("The 'To' number +48… is not valid")
        number, error = mask(number), mask_numbers(error) if error else error
    delivered = recipient.status_at if recipient.status == "delivered" else None
    billed = segments_of(recipient.body) if recipient.sid else None
    return [number, recipient.name, recipient.status, recipient.error_code, error, _when(recipient.sent_at),
            _when(delivered), billed]


def _segment_counter(body: str):
    """Segments of a recipient's text (its own, else the batch's); None for an erased (forgotten) one."""
    shared = analyze(body).segments

    def segments(own: str | None) -> int | None:
        if own is None:
            return shared
        return analyze(own).segments if own else None

    return segments


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""
