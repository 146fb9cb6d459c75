"""Bring the old app's history (Twilio Chat App ver3.x, schema v7 to v9) into multisms.

    make import-v3 DB=data/app-v3.db [DRY_RUN=1]
    python scripts/import_v3.py data/app-v3.db [--dry-run]

The old SQLite file is only read. DATABASE_URL is migrated to the current schema first (as every
start does); then batches with their recipients, the message history and opt-outs (from STOP
replies) are written in one transaction: all of it or nothing. Run it again at any time: what came
over before is recognised and not added twice. Settings, stored API keys, recurring sends and
auto-reply rules are never copied; the report says what stayed behind and why.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sqlite3
import sys
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from multisms import legacy, optouts  # noqa: E402  (needs the project root on the path)
from multisms.batches import RECIPIENT_RANK  # noqa: E402
from multisms.config import Settings, get_settings  # noqa: E402
from multisms.db import get_sessionmaker, migrate  # noqa: E402
from multisms.errors import MultiSmsError, UnknownOldSchema  # noqa: E402
from multisms.keywords import classify  # noqa: E402
from multisms.models import Batch, Message, Recipient, utcnow  # noqa: E402
from multisms.numbers import NumberEntry, parse_number  # noqa: E402
from multisms.segments import analyze  # noqa: E402

CREATED_BY = "old_app"
UNFINISHED_NOTE = "Not finished in the old app: imported as history; the rest was not sent."
ERROR_CODE = re.compile(r"\bcode:?\s*(\d{5})\b", re.IGNORECASE)
"""Twilio error codes inside the old error texts (`HTTP 400 | code 21211 | …`, `Error code: 30007`)."""
REPORTED_BY_TWILIO = frozenset({"delivered", "undelivered", "failed"})
SHORT_TEXT = 64
"""Our SID, number and sender columns; a longer old value is not ours to cut."""
CHUNK = 500
LEFT_BEHIND = [  # table, which rows count, what they are, what to do instead
    ("scheduled_messages", "1 = 1", "recurring sends", "set them up again with `/multisms remind add`"),
    ("ai_config", "COALESCE(api_key, '') <> ''", "a stored OpenAI API key", "never copied; set OPENAI_API_KEY"),
    ("ai_config", "enabled = 1 OR COALESCE(system_prompt, '') <> ''", "AI settings (prompt, model, number)",
     "see AUTO_REPLY_MODE=ai and the knowledge base"),
    ("auto_reply_config", "enabled = 1 OR COALESCE(message, '') <> ''", "the auto-reply text",
     "set AUTO_REPLY_MODE=template and AUTO_REPLY_TEMPLATE"),
    ("app_settings", "1 = 1", "settings changed at run time", "multisms takes its settings from the environment"),
    ("settings_audit", "1 = 1", "settings audit entries", "they may hold old setting values"),
    ("listeners_config", "enabled = 1", "enabled listeners (e.g. /news)", "the knowledge base answers questions now"),
]
"""Settings, secrets and rules of the old app: reported, never copied (v8 and v9 add the last three tables)."""
TABLES = ("batches", "recipients", "messages", "opt-outs")


class RowProblem(Exception):
    """One old row that cannot come over as it is; the report names it and says why."""


@dataclass
class Report:
    """What the import did, for a person to read: counts, rows left out and why, things left behind."""

    schema: legacy.OldSchema
    imported: Counter = field(default_factory=Counter)
    already: Counter = field(default_factory=Counter)
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    left_behind: list[str] = field(default_factory=list)

    def skip(self, row: str, reason: str) -> None:
        self.skipped[reason].append(row)


def import_v3(path: Path, settings: Settings, *, dry_run: bool = False) -> Report:
    """Import the old file at `path` into `settings.database_url`; `dry_run` writes no row."""
    try:
        tables, user_version = legacy.read_schema(path)
    except sqlite3.DatabaseError as exc:
        raise UnknownOldSchema(f"{path} cannot be read as a SQLite database ({exc}).") from None
    report = Report(legacy.recognise(tables, user_version, name=str(path)))
    migrate(settings.database_url)  # refuses, touching nothing, when DATABASE_URL is this very file
    with closing(legacy.open_read_only(path)) as old, get_sessionmaker(settings.database_url)() as session:
        try:
            import_batches(old, session, settings.default_region, report)
            import_messages(old, session, settings.default_region, report)
            import_opt_outs(old, session, settings.default_region, report)
            note_left_behind(old, report)
        except BaseException:
            session.rollback()
            raise
        session.rollback() if dry_run else session.commit()
    return report


def import_batches(old: sqlite3.Connection, session: Session, region: str | None, report: Report) -> None:
    """Each old batch with its recipients, unless a previous import brought it (its `legacy_ref`)."""
    known = dict(session.execute(select(Batch.legacy_ref, func.count(Recipient.id)).outerjoin(Batch.recipients)
                                 .where(Batch.legacy_ref.is_not(None)).group_by(Batch.legacy_ref)).all())
    recipients = defaultdict(list)
    for row in old.execute("SELECT * FROM multi_sms_recipients ORDER BY id"):
        recipients[row["batch_id"]].append(row)
    reported = {sid: (status, error) for sid, status, error in old.execute(
        "SELECT sid, LOWER(status), error FROM messages WHERE sid IS NOT NULL")}
    for row in old.execute("SELECT * FROM multi_sms_batches ORDER BY id").fetchall():
        rows = recipients.pop(row["id"], [])
        ref = legacy_ref("batch", row, "created_at", "body")
        if ref in known:
            report.already.update(batches=1, recipients=known[ref])
            continue
        try:
            batch = new_batch(row, ref)
        except RowProblem as problem:
            report.skip(f"batch #{row['id']}", f"batch (with its {len(rows)} recipients): {problem}")
            continue
        keep = choose_recipients(batch, rows, region, reported, report)
        session.add(batch)
        session.flush()
        if keep:
            session.execute(Recipient.__table__.insert(), [{**fields, "batch_id": batch.id} for fields in keep])
        report.imported.update(batches=1, recipients=len(keep))
        if row["status"] in legacy.UNFINISHED:
            due_later = batch.scheduled_at is not None and batch.scheduled_at > utcnow()
            report.imported.update(unfinished=1, due_later=int(due_later))
    for batch_id, rows in recipients.items():
        for row in rows:
            report.skip(f"recipient #{row['id']}", f"recipient of batch #{batch_id}, which is not in the file")


def new_batch(row: sqlite3.Row, ref: str) -> Batch:
    status = legacy.BATCH_STATUS.get(row["status"])
    if status is None:
        raise RowProblem(f"unknown status {row['status']!r}")
    sender = row["sender_identity"] or "unknown"
    if len(sender) > SHORT_TEXT:
        raise RowProblem(f"sender longer than {SHORT_TEXT} characters")
    created, segments = old_time(row, "created_at", required=True), analyze(row["body"] or "")
    scheduled = old_time(row, "scheduled_at")  # the old app set it to the creation time unless sent later
    unfinished = row["status"] in legacy.UNFINISHED
    return Batch(
        body=row["body"] or "", sender=sender, status=status, created_by=CREATED_BY, legacy_ref=ref,
        error=" ".join(filter(None, [row["error"], UNFINISHED_NOTE if unfinished else None])) or None,
        encoding=segments.encoding, segments=segments.segments, rejected_count=0,
        report={"invalid": [], "duplicates": [], "opted_out": []},
        created_at=created, confirmed_at=created, scheduled_at=scheduled if scheduled != created else None,
        started_at=old_time(row, "started_at"),
        completed_at=old_time(row, "completed_at") or (utcnow() if unfinished else None),
    )


def choose_recipients(batch: Batch, rows: list[sqlite3.Row], region: str | None, reported: dict[str, tuple],
                      report: Report) -> list[dict]:
    """Rows for our `recipients`; numbers that are not valid go to the batch's report, as at intake."""
    kept: dict[str, dict] = {}
    invalid, duplicates = [], []
    for row in rows:
        try:
            fields, rejected = new_recipient(row, region, reported)
        except RowProblem as problem:
            report.skip(f"recipient #{row['id']}", f"recipient: {problem}")
            continue
        if rejected:
            invalid.append(rejected)
            continue
        number = fields["number_normalized"]
        if number in kept:  # two spellings of one number: keep the one that got further (sent beats never sent)
            better, other = sorted((kept[number], fields), key=lambda f: (f["attempts"], RECIPIENT_RANK[f["status"]]),
                                   reverse=True)
            duplicates.append({"number": other["number_raw"], "normalized": number})
            fields = better
        kept[number] = fields
    batch.report = {"invalid": invalid, "duplicates": duplicates, "opted_out": []}
    batch.rejected_count = len(invalid)
    report.imported.update(invalid_entries=len(invalid), duplicate_entries=len(duplicates))
    return list(kept.values())


def new_recipient(row: sqlite3.Row, region: str | None, reported: dict[str, tuple]) -> tuple[dict | None, dict | None]:
    """(our recipient's fields, None), or (None, an invalid entry) when the number is not one."""
    old_status = row["status"]
    status = legacy.RECIPIENT_STATUS.get(old_status)
    if status is None:
        raise RowProblem(f"unknown status {old_status!r}")
    raw = (row["number_raw"] or row["number_normalized"] or "").strip()
    entry = number_entry(row["number_normalized"] or raw, region)
    if status == "invalid" or not entry.valid:
        reason = entry.reason or "marked invalid by the old app"
        if status != "invalid":
            reason += f" (the old app had it as {old_status})"
        return None, {"number": raw, "reason": reason}
    sid, error = short(row, "sid"), row["error"]
    callback_status, callback_error = reported.get(sid, (None, None))
    if status == "sent" and callback_status in REPORTED_BY_TWILIO:
        status, error = callback_status, error or callback_error  # what Twilio told the old app; never assumed
    created, sent_at = old_time(row, "created_at", required=True), old_time(row, "sent_at")
    return {
        "number_raw": raw[:SHORT_TEXT], "number_normalized": entry.e164, "status": status, "sid": sid,
        "error_code": error_code(error), "error_message": error,
        "attempts": 1 if old_status in ("sent", "failed") else 0,
        "created_at": created, "sent_at": sent_at, "updated_at": sent_at or created,
    }, None


def import_messages(old: sqlite3.Connection, session: Session, region: str | None, report: Report) -> None:
    """The old `messages` history; a message is there already when its `legacy_ref` or its SID is."""
    imported_before = set(session.scalars(select(Message.legacy_ref).where(Message.legacy_ref.like("v3:%"))))
    rows = []
    for row in old.execute("SELECT * FROM messages ORDER BY id"):
        ref = legacy_ref("message", row, "created_at", "direction", "body")
        if ref in imported_before:
            report.already.update(messages=1)
        else:
            rows.append((ref, row))
    # SIDs only for what is left: on a repeated run nothing is, so no long IN list meets fresh tables
    present, links = set(), {}
    for part in chunks([row["sid"] for _, row in rows if row["sid"]]):
        present.update(session.scalars(select(Message.sid).where(Message.sid.in_(part))))
        query = select(Recipient.sid, Recipient.batch_id, Recipient.id).where(Recipient.sid.in_(part))
        links.update({sid: (batch_id, recipient_id) for sid, batch_id, recipient_id in session.execute(query)})
    new = []
    for ref, row in rows:
        if row["sid"] in present:  # recorded by multisms itself
            report.already.update(messages=1)
            continue
        try:
            new.append(new_message(row, ref, region, links))
        except RowProblem as problem:
            report.skip(f"message #{row['id']}", f"message: {problem}")
    for part in chunks(new):
        session.execute(Message.__table__.insert(), part)
    report.imported.update(messages=len(new))


def new_message(row: sqlite3.Row, ref: str, region: str | None, links: dict[str, tuple[int, int]]) -> dict:
    direction = row["direction"]
    if direction not in ("inbound", "outbound"):
        raise RowProblem(f"unknown direction {direction!r}")
    status = (row["status"] or "").strip().lower()
    status = "received" if not status and direction == "inbound" else legacy.MESSAGE_STATUS.get(status, "unknown")
    sid = short(row, "sid")
    batch_id, recipient_id = links.get(sid, (None, None))
    created = old_time(row, "created_at", required=True)
    return {
        "direction": direction, "from_number": stored_number(row, "from_number", region),
        "to_number": stored_number(row, "to_number", region), "body": row["body"] or "", "sid": sid,
        "status": status, "error_code": error_code(row["error"]), "batch_id": batch_id, "recipient_id": recipient_id,
        "legacy_ref": ref, "created_at": created, "updated_at": old_time(row, "updated_at") or created,
    }


def import_opt_outs(old: sqlite3.Connection, session: Session, region: str | None, report: Report) -> None:
    """A number whose last keyword was STOP (or another opt-out word) is opted out as of that text."""
    last: dict[str, tuple[str, datetime]] = {}
    keywords = []
    for row in old.execute("SELECT id, from_number, body, created_at FROM messages WHERE direction = 'inbound'"):
        keyword = classify(row["body"])
        if keyword not in ("opt_out", "opt_in"):
            continue
        entry = number_entry(row["from_number"] or "", region)
        try:
            moment = old_time(row, "created_at", required=True)
        except RowProblem as problem:
            report.skip(f"message #{row['id']}", f"opt-out keyword: {problem}")
            continue
        if not entry.valid:
            report.skip(f"message #{row['id']}", f"opt-out keyword from a number that is not valid ({entry.reason})")
            continue
        keywords.append((moment, row["id"], entry.e164, keyword))
    for moment, _, number, keyword in sorted(keywords):
        last[number] = (keyword, moment)
    for number, (keyword, since) in last.items():
        if keyword == "opt_in":
            report.imported.update(opted_back_in=1)
        elif optouts.add(session, number, "stop_keyword", since=since):
            report.imported.update({"opt-outs": 1})
        else:
            report.already.update({"opt-outs": 1})


def note_left_behind(old: sqlite3.Connection, report: Report) -> None:
    """What the old file holds that is not history: counted (a secret's value is never read), not copied."""
    for table, where, what, instead in LEFT_BEHIND:
        if table in report.schema.tables:
            found = old.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}").fetchone()[0]
            if found:
                report.left_behind.append(f"{table}: {what} ({found}): {instead}")


def legacy_ref(kind: str, row: sqlite3.Row, *columns: str) -> str:
    """`v3:<kind>:<old id>:<digest>`: the same for the same row on every run, and different for
    another old file's row that happens to have the same id."""
    digest = hashlib.sha256("\x1f".join(str(row[column]) for column in columns).encode()).hexdigest()[:16]
    return f"v3:{kind}:{row['id']}:{digest}"


def old_time(row: sqlite3.Row, column: str, *, required: bool = False) -> datetime | None:
    """The old app wrote naive UTC (`2025-12-13T10:00:00`); aware values are converted."""
    value = row[column]
    if value in (None, ""):
        if required:
            raise RowProblem(f"no {column}")
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise RowProblem(f"unreadable {column} {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@lru_cache(maxsize=4096)
def number_entry(text: str, region: str | None) -> NumberEntry:
    return parse_number(text, region)


def stored_number(row: sqlite3.Row, column: str, region: str | None) -> str:
    """E.164 when it is a phone number; otherwise as the old app stored it (`whatsapp:…`, a name)."""
    written = (row[column] or "").strip()
    number = number_entry(written, region).e164 if written else None
    if len(number or written) > SHORT_TEXT:
        raise RowProblem(f"{column} longer than {SHORT_TEXT} characters")
    return number or written


def short(row: sqlite3.Row, column: str) -> str | None:
    value = row[column] or None
    if value and len(value) > SHORT_TEXT:
        raise RowProblem(f"{column} longer than {SHORT_TEXT} characters")
    return value


def error_code(error: str | None) -> int | None:
    found = ERROR_CODE.search(error or "")
    return int(found.group(1)) if found else None


def chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def render(report: Report, source: Path, target_url: str, *, dry_run: bool) -> str:
    """The report a person reads after the run; no phone number or message text appears in it."""
    schema = report.schema
    lines = [f"Old app database: {source} (schema v{schema.version}, PRAGMA user_version {schema.user_version})",
             f"Into: {make_url(target_url).render_as_string(hide_password=True)}",
             "", f"{'':<12}{'imported':>10}{'already there':>16}"]
    lines += [f"{table:<12}{report.imported[table]:>10}{report.already[table]:>16}" for table in TABLES]
    notes = {
        "invalid_entries": "number(s) that are not valid kept in their batch's list of invalid entries",
        "duplicate_entries": "duplicate number(s) kept in their batch's list of duplicates",
        "opted_back_in": "number(s) sent STOP and later START: not opted out",
    }
    lines += [f"  {report.imported[key]} {text}" for key, text in notes.items() if report.imported[key]]
    if report.skipped:
        lines += ["", "Not imported:"]
        for reason, rows in report.skipped.items():
            shown = ", ".join(rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
            lines.append(f"  {reason}: {len(rows)} ({shown})")
    if report.left_behind:
        lines += ["", "Left in the old file on purpose:"] + [f"  {item}" for item in report.left_behind]
    if report.imported["unfinished"]:
        lines += ["", f"{report.imported['unfinished']} batch(es) the old app had not finished (of them "
                  f"{report.imported['due_later']} due later) came over as cancelled: multisms never sends them. "
                  "Create them again if they are still wanted."]
    lines += ["", "Dry run: nothing was written." if dry_run else "Done."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path, help="the old app's SQLite file (its data/app.db)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be imported; write no row")
    args = parser.parse_args(argv)
    if not args.db.is_file():
        parser.error(f"{args.db}: no such file")
    settings = get_settings()
    try:
        report = import_v3(args.db, settings, dry_run=args.dry_run)
    except MultiSmsError as refused:
        print(refused, file=sys.stderr)
        return 2
    print(render(report, args.db, settings.database_url, dry_run=args.dry_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
