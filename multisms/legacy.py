"""The old app's database (Twilio Chat App ver3.x): recognise it, and keep every start off it.

The old app kept its SQLite schema by hand (`PRAGMA user_version` 7 → 9, tables added at start)
and used the same default path as we do (`data/app.db`). Alembic must never touch such a file:
SQLite DDL is not transactional there, so it would create some of our tables beside the old ones
and stop at `messages`, which exists with another shape. So the file is recognised by its tables
and columns (not by the version number alone), refused at every start, and its history comes over
only through `make import-v3` (scripts/import_v3.py), which opens it read-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from multisms.errors import OldAppDatabase, UnknownOldSchema

MESSAGES = frozenset({"id", "sid", "direction", "to_number", "from_number", "body", "status", "error", "created_at",
                      "updated_at"})
BATCHES = frozenset({"id", "body", "sender_identity", "status", "error", "total_recipients", "success_count",
                     "failure_count", "invalid_count", "created_at", "scheduled_at", "started_at", "completed_at"})
RECIPIENTS = frozenset({"id", "batch_id", "number_raw", "number_normalized", "status", "sid", "error", "created_at",
                        "sent_at"})

V7_TABLES: dict[str, frozenset[str]] = {
    "messages": MESSAGES,
    "multi_sms_batches": BATCHES,
    "multi_sms_recipients": RECIPIENTS,
    "auto_reply_config": frozenset({"id", "enabled", "message", "enabled_since"}),
    "scheduled_messages": frozenset({"id", "to_number", "body", "interval_seconds", "enabled", "last_sent_at",
                                     "next_run_at", "created_at", "updated_at"}),
    "ai_config": frozenset({"id", "enabled", "api_key", "system_prompt", "target_number", "target_number_normalized",
                            "model", "temperature", "enabled_source", "updated_at"}),
}
"""Schema v7 (ver3.1.2): what the old app creates on a fresh start; v8 and v9 only add tables."""
V8_TABLES: dict[str, frozenset[str]] = {
    "app_settings": frozenset({"key", "value", "source", "updated_at"}),
    "settings_audit": frozenset({"id", "setting_key", "old_value", "new_value", "action", "source", "user_ip",
                                 "created_at"}),
}
"""v8: settings changed at run time, and their audit. Created on first use, so a v9 file may lack them."""
V9_TABLES: dict[str, frozenset[str]] = {
    "listeners_config": frozenset({"id", "command", "enabled", "description", "created_at", "updated_at"}),
}
"""v9: command listeners (`/news`, `*`), created at every start of a v9 app."""
KNOWN_TABLES = {**V7_TABLES, **V8_TABLES, **V9_TABLES}
NEWEST_KNOWN_VERSION = 9

BATCH_STATUS = {"completed": "completed", "completed_with_errors": "completed_with_errors", "failed": "failed",
                "pending": "cancelled", "processing": "cancelled"}
"""Old batch status → ours. Unfinished batches come over as `cancelled`: history, never sent by us."""
UNFINISHED = frozenset({"pending", "processing"})
RECIPIENT_STATUS = {"sent": "sent", "failed": "failed", "invalid": "invalid", "pending": "cancelled"}
"""Old recipient status → ours. The old `sent` means Twilio accepted it; only a status Twilio
reported back (in the old `messages` table) may make it `delivered`."""
MESSAGE_STATUS = {"accepted": "queued", "queued": "queued", "scheduled": "queued", "sending": "sending",
                  "sent": "sent", "delivered": "delivered", "read": "delivered", "undelivered": "undelivered",
                  "failed": "failed", "canceled": "cancelled", "received": "received", "receiving": "received"}
"""Twilio's message statuses as the old app stored them → ours; anything else becomes `unknown`."""


@dataclass(frozen=True)
class OldSchema:
    """A recognised old-app database: its schema version by tables, and what it said of itself."""

    version: int
    user_version: int
    tables: frozenset[str]


def sqlite_file(database_url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def open_read_only(path: Path) -> sqlite3.Connection:
    """SQLite's read-only mode: nothing can write, nor change the journal mode (the file keeps every byte)."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    return connection


def read_schema(path: Path) -> tuple[dict[str, frozenset[str]], int]:
    """Each table's columns, and `PRAGMA user_version`, read without changing the file."""
    with closing(open_read_only(path)) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        tables = {name: frozenset(column[1] for column in connection.execute(f'PRAGMA table_info("{name}")'))
                  for name in names if not name.startswith("sqlite_")}
        return tables, int(connection.execute("PRAGMA user_version").fetchone()[0])


def looks_like_old_app(tables: Mapping[str, Collection[str]]) -> bool:
    """A table only the old app makes, or a `messages` table in its shape (ours has no `error` column)."""
    old_only = set(KNOWN_TABLES) - {"messages"}
    return bool(old_only & tables.keys()) or frozenset(tables.get("messages", ())) == MESSAGES


def recognise(tables: Mapping[str, Collection[str]], user_version: int, name: str = "The file") -> OldSchema:
    """Schema v7, v8 or v9 by tables and columns; `UnknownOldSchema` says what does not fit."""
    tables = {table: frozenset(columns) for table, columns in tables.items()}
    if "alembic_version" in tables:
        raise UnknownOldSchema(f"{name} is a multisms database already (it has alembic_version): nothing to import.")
    if not looks_like_old_app(tables):
        raise UnknownOldSchema(f"{name} is not the old app's database: it has none of the tables "
                               f"{', '.join(sorted(V7_TABLES))}.")
    known = "This import reads the old app's schema v7 to v9 (ver3.1.2 and later) only."
    missing = sorted(V7_TABLES.keys() - tables.keys())
    if missing:
        raise UnknownOldSchema(f"{name} looks like the old app's database but has no {', '.join(missing)} table: "
                               f"an older schema than v7, or a damaged file. {known}")
    strangers = sorted(tables.keys() - KNOWN_TABLES.keys())
    if strangers:
        raise UnknownOldSchema(f"{name} has tables the old app never made ({', '.join(strangers)}); "
                               f"rather than guess what they hold, nothing is imported. {known}")
    for table, columns in tables.items():
        if columns != KNOWN_TABLES[table]:
            extra = ", ".join(sorted(columns - KNOWN_TABLES[table])) or "none"
            absent = ", ".join(sorted(KNOWN_TABLES[table] - columns)) or "none"
            raise UnknownOldSchema(f"{name}: table {table} has other columns than the old app's "
                                   f"(unexpected: {extra}; missing: {absent}). {known}")
    if user_version > NEWEST_KNOWN_VERSION:
        raise UnknownOldSchema(f"{name} says it is schema v{user_version} (PRAGMA user_version), newer than "
                               f"this import knows. {known}")
    version = 9 if V9_TABLES.keys() & tables.keys() else 8 if V8_TABLES.keys() & tables.keys() else 7
    return OldSchema(version=version, user_version=user_version, tables=frozenset(tables))


def refuse_old_app_database(database_url: str) -> None:
    """Stop a start (migrate, web, worker) on the old app's file, before anything opens it to write."""
    path = sqlite_file(database_url)
    if path is None or not path.is_file():
        return
    try:
        tables, user_version = read_schema(path)
    except sqlite3.DatabaseError:
        return  # not a SQLite file at all: the engine reports that in its own words
    if looks_like_old_app(tables):
        raise OldAppDatabase(_refusal(path, tables, user_version))


def _refusal(path: Path, tables: Mapping[str, Collection[str]], user_version: int) -> str:
    try:
        schema = f"schema v{recognise(tables, user_version).version}"
    except UnknownOldSchema:
        schema = "a schema the import does not know"
    moved = path.with_name(f"{path.stem}-v3{path.suffix}")
    return (f"{path} holds the old app's data (Twilio Chat App ver3.x, {schema}), not a multisms database; "
            "multisms will not start on it or migrate it, and left it unchanged. To bring its history over, "
            f"move it away (mv {path} {moved}) and run `make import-v3 DB={moved}`, "
            f"or set DATABASE_URL to a new database and run `make import-v3 DB={path}`.")
