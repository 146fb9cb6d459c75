"""Coming from the old app (Twilio Chat App ver3.x): its database is refused at start, and
`make import-v3` brings its history over once, however often it runs.

Each test builds an old-app SQLite file of schema v7, v8 or v9 the way the old app left it
(WAL mode, `PRAGMA user_version`), with a week of history: a batch with odd numbers, an
unfinished and a scheduled batch, delivery callbacks, a STOP reply, stored API keys.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from multisms.config import Settings
from multisms.db import get_engine, migrate, session_scope
from multisms.errors import OldAppDatabase, UnknownOldSchema
from multisms.models import Base, Batch, Message, OptOut, Recipient
from multisms.storage import unfinished_batches
from tests.conftest import TEST_REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("import_v3", ROOT / "scripts" / "import_v3.py")
import_v3 = sys.modules["import_v3"] = importlib.util.module_from_spec(SPEC)  # its dataclass looks itself up
SPEC.loader.exec_module(import_v3)

STORED_KEY = "sk-oldapp-ai-config-key-0123456789"
AUDITED_KEY = "sk-oldapp-audited-value-9876543210"
SENDER = "+48732100200"


def sid(letter: str) -> str:
    return "SM" + letter * 32


V7_TABLES = """
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, sid TEXT UNIQUE, direction TEXT NOT NULL,
    to_number TEXT, from_number TEXT, body TEXT NOT NULL, status TEXT, error TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE auto_reply_config (id INTEGER PRIMARY KEY, enabled INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '', enabled_since TEXT);
CREATE TABLE scheduled_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, to_number TEXT NOT NULL, body TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, last_sent_at TEXT, next_run_at TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE ai_config (id INTEGER PRIMARY KEY, enabled INTEGER NOT NULL DEFAULT 0, api_key TEXT, system_prompt TEXT,
    target_number TEXT, target_number_normalized TEXT, model TEXT NOT NULL, temperature REAL NOT NULL,
    enabled_source TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE multi_sms_batches (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, sender_identity TEXT,
    status TEXT NOT NULL, error TEXT, total_recipients INTEGER NOT NULL, success_count INTEGER NOT NULL,
    failure_count INTEGER NOT NULL, invalid_count INTEGER NOT NULL, created_at TEXT NOT NULL, scheduled_at TEXT,
    started_at TEXT, completed_at TEXT);
CREATE TABLE multi_sms_recipients (id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id INTEGER NOT NULL
    REFERENCES multi_sms_batches(id) ON DELETE CASCADE, number_raw TEXT, number_normalized TEXT, status TEXT NOT NULL,
    sid TEXT, error TEXT, created_at TEXT NOT NULL, sent_at TEXT);
"""
V8_TABLES = """
CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, source TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE settings_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, setting_key TEXT NOT NULL, old_value TEXT,
    new_value TEXT, action TEXT NOT NULL, source TEXT NOT NULL, user_ip TEXT, created_at TEXT NOT NULL);
"""
V9_TABLES = """
CREATE TABLE listeners_config (id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL, description TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
"""

BATCHES = [  # id, body, sender, status, error, created, scheduled, started, completed
    (1, "Zebranie jutro o 18:00. Do zobaczenia!", SENDER, "completed_with_errors",
     "Nie udało się wysłać do 1 odbiorców.", "2025-12-14T09:00:00", "2025-12-14T09:00:00", "2025-12-14T09:00:02",
     "2025-12-14T09:00:09"),
    (2, "Zmiana godziny: 19:00", SENDER, "processing", None, "2025-12-15T10:00:00", "2025-12-15T10:00:00",
     "2025-12-15T10:00:02", None),
    (3, "Wesołych Świąt 🎄", SENDER, "pending", None, "2025-12-16T08:00:00", "2099-12-24T09:00:00", None, None),
    (4, "Test", None, "completed", None, "2025-12-17T12:00:00", "2025-12-17T12:00:00", "2025-12-17T12:00:01",
     "2025-12-17T12:00:04"),
]
RECIPIENTS = [  # id, batch, raw, normalized (by the old app), status, sid, error, sent_at
    (1, 1, "+48 600 100 200", "+48600100200", "sent", sid("a"), None, "2025-12-14T09:00:03"),
    (2, 1, "0048 600 100 201", "+48600100201", "sent", sid("b"), None, "2025-12-14T09:00:04"),
    (3, 1, "+48600100202", "+48600100202", "failed", None, "HTTP 400 | code 21211 | Invalid 'To' Phone Number",
     "2025-12-14T09:00:05"),
    (4, 1, "abc", "abc", "invalid", None, "Nie udało się znormalizować numeru.", "2025-12-14T09:00:06"),
    (5, 2, "+48600100203", "+48600100203", "sent", sid("c"), None, "2025-12-15T10:00:03"),
    (6, 2, "+48600100204", "+48600100204", "pending", None, None, None),
    (7, 3, "+48600100205", "+48600100205", "pending", None, None, None),
    (8, 4, "600 100 206", "+600100206", "sent", sid("d"), None, "2025-12-17T12:00:02"),
    (9, 4, "+48600100207", "+48600100207", "sent", sid("e"), None, "2025-12-17T12:00:03"),
]
MESSAGES = [  # sid, direction, to, from, body, status, error, created
    (sid("a"), "outbound", "+48600100200", SENDER, BATCHES[0][1], "delivered", None, "2025-12-14T09:00:03"),
    (sid("b"), "outbound", "+48600100201", SENDER, BATCHES[0][1], "sent", None, "2025-12-14T09:00:04"),
    (sid("c"), "outbound", "+48600100203", SENDER, BATCHES[1][1], "queued", None, "2025-12-15T10:00:03"),
    (sid("d"), "outbound", "+600100206", SENDER, "Test", "failed", "Error code: 21211", "2025-12-17T12:00:02"),
    (sid("e"), "outbound", "+48600100207", SENDER, "Test", "undelivered", "Error code: 30003", "2025-12-17T12:00:03"),
    (None, "outbound", "+48600100208", SENDER, "Hej, tu biuro", "failed", "Twilio error", "2025-12-13T15:00:00"),
    (sid("f"), "inbound", SENDER, "+48600100201", "STOP", "received", None, "2025-12-14T09:30:00"),
    (sid("g"), "inbound", SENDER, "+48600100204", "Stop.", "received", None, "2025-12-15T11:00:00"),
    (sid("h"), "inbound", SENDER, "+48600100204", "START", "received", None, "2025-12-16T11:00:00"),
    (sid("i"), "inbound", SENDER, "+48 600 100 200", "Dzięki, będę!", None, None, "2025-12-14T09:10:00"),
    (sid("j"), "inbound", SENDER, "whatsapp:+48600100209", "Hej", "received", None, "2025-12-16T18:00:00"),
]


def build_old_database(path: Path, version: int = 9, *, user_version: int | None = None, extra_sql: str = "") -> Path:
    """An old-app file of schema `version`, left as the old app leaves it (WAL mode, user_version set)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(V7_TABLES + (V8_TABLES if version >= 8 else "") + (V9_TABLES if version >= 9 else ""))
    _fill(connection, version)
    connection.executescript(extra_sql)
    connection.execute(f"PRAGMA user_version = {version if user_version is None else user_version}")
    connection.commit()
    connection.close()
    return path


def _fill(connection: sqlite3.Connection, version: int) -> None:
    connection.executemany("INSERT INTO multi_sms_batches VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?, ?)", BATCHES)
    connection.executemany("INSERT INTO multi_sms_recipients VALUES (?, ?, ?, ?, ?, ?, ?, '2025-12-14T09:00:00', ?)",
                           RECIPIENTS)
    connection.executemany("INSERT INTO messages (sid, direction, to_number, from_number, body, status, error, "
                           "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(*message, message[-1]) for message in MESSAGES])
    connection.execute("INSERT INTO auto_reply_config VALUES (1, 0, 'Dziękujemy, odpiszemy wkrótce.', NULL)")
    connection.execute("INSERT INTO scheduled_messages VALUES (1, '+48600100200', 'Cotygodniowe przypomnienie', "
                       "604800, 1, NULL, '2025-12-21T09:00:00', '2025-12-14T09:00:00', '2025-12-14T09:00:00')")
    connection.execute("INSERT INTO ai_config VALUES (1, 1, ?, 'Jesteś asystentem biura.', '+48600100200', "
                       "'+48600100200', 'gpt-4o-mini', 0.7, 'ui', '2025-12-14T09:00:00')", (STORED_KEY,))
    if version >= 8:
        connection.execute("INSERT INTO app_settings VALUES ('rag_chat_model', 'gpt-4o', 'ui', '2025-12-19T10:00:00')")
        connection.execute("INSERT INTO settings_audit (setting_key, old_value, new_value, action, source, user_ip, "
                           "created_at) VALUES ('SECOND_OPENAI', NULL, ?, 'create', 'ui', '10.0.0.7', "
                           "'2025-12-19T10:00:00')", (AUDITED_KEY,))
    if version >= 9:
        connection.execute("INSERT INTO listeners_config (command, enabled, description, created_at, updated_at) "
                           "VALUES ('/news', 1, 'Odpowiada z bazy newsów', '2025-12-23', '2025-12-23')")


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def target(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url)


def row_counts(database_url: str) -> dict[str, int]:
    with session_scope(database_url) as session:
        return {model.__tablename__: len(session.scalars(select(model)).all())
                for model in (Batch, Recipient, Message, OptOut)}


def everything_stored(database_url: str) -> str:
    """Every value of every table, as one text to search."""
    with get_engine(database_url).connect() as connection:
        return "\n".join(str(row) for table in Base.metadata.sorted_tables
                         for row in connection.execute(table.select()))


@pytest.mark.parametrize("version", [7, 8, 9])
def test_old_history_comes_over_once_however_often_the_import_runs(tmp_path, database_url, version):
    old = build_old_database(tmp_path / "app-v3.db", version)
    before = file_hash(old)

    first = import_v3.import_v3(old, target(database_url))
    assert first.schema.version == version
    assert {table: first.imported[table] for table in import_v3.TABLES} == {
        "batches": 4, "recipients": 7, "messages": 11, "opt-outs": 1}
    after_first = row_counts(database_url)

    second = import_v3.import_v3(old, target(database_url))
    assert row_counts(database_url) == after_first
    assert {table: second.imported[table] for table in import_v3.TABLES} == dict.fromkeys(import_v3.TABLES, 0)
    assert {table: second.already[table] for table in import_v3.TABLES} == {
        "batches": 4, "recipients": 7, "messages": 11, "opt-outs": 1}
    assert file_hash(old) == before


def test_imported_batches_read_as_they_did_in_the_old_app_and_nothing_is_sent(tmp_path, database_url, client, auth):
    import_v3.import_v3(build_old_database(tmp_path / "app-v3.db"), target(database_url))

    listed = client.get("/api/multi-sms/batches?include_recipients=1", headers=auth).get_json()
    batches = {batch["body"]: batch for batch in listed["items"]}
    meeting = batches["Zebranie jutro o 18:00. Do zobaczenia!"]
    assert (meeting["status"], meeting["sender_identity"], meeting["created_by"]) == (
        "completed_with_errors", SENDER, "old_app")
    assert (meeting["success_count"], meeting["failure_count"], meeting["invalid_count"]) == (2, 1, 1)
    assert meeting["created_at"].startswith("2025-12-14T09:00:00")
    recipients = client.get(f"/api/multi-sms/batches/{meeting['id']}/recipients", headers=auth).get_json()["items"]
    assert {r["number_normalized"]: (r["status"], r["error_code"]) for r in recipients} == {
        "+48600100200": ("delivered", None),  # Twilio's callback told the old app
        "+48600100201": ("sent", None),  # accepted, no callback: never turned into "delivered"
        "+48600100202": ("failed", 21211),
    }

    unfinished, scheduled = batches["Zmiana godziny: 19:00"], batches["Wesołych Świąt 🎄"]
    assert unfinished["status"] == scheduled["status"] == "cancelled"
    assert "Not finished in the old app" in unfinished["error"]
    assert (unfinished["success_count"], unfinished["status_counts"]) == (1, {"sent": 1, "cancelled": 1})
    assert scheduled["scheduled_at"].startswith("2099-12-24T09:00:00") and meeting["scheduled_at"] is None
    test_batch = batches["Test"]
    assert (test_batch["success_count"], test_batch["failure_count"], test_batch["invalid_count"]) == (0, 1, 1)
    undelivered = client.get(f"/api/multi-sms/batches/{test_batch['id']}/recipients", headers=auth).get_json()
    assert [(r["status"], r["error_code"]) for r in undelivered["items"]] == [("undelivered", 30003)]
    with session_scope(database_url) as session:
        assert unfinished_batches(session) == []
        assert session.scalars(select(Recipient).where(Recipient.status.in_(("pending", "sending")))).all() == []
        misread = session.get(Batch, test_batch["id"]).report["invalid"]
        assert misread == [{"number": "600 100 206", "reason": "not a valid number in MY (the old app had it as sent)"}]


def test_history_links_batch_messages_and_keeps_numbers_that_are_not_phone_numbers(tmp_path, database_url):
    import_v3.import_v3(build_old_database(tmp_path / "app-v3.db"), target(database_url))

    with session_scope(database_url) as session:
        messages = {m.sid or m.body: m for m in session.scalars(select(Message))}
        delivered = messages[sid("a")]
        recipient = session.get(Recipient, delivered.recipient_id)
        assert (recipient.number_normalized, delivered.status, delivered.batch_id) == (
            "+48600100200", "delivered", recipient.batch_id)
        assert messages[sid("e")].error_code == 30003
        assert messages["Hej, tu biuro"].status == "failed" and messages["Hej, tu biuro"].sid is None
        assert messages[sid("i")].from_number == "+48600100200" and messages[sid("i")].status == "received"
        assert messages[sid("j")].from_number == "whatsapp:+48600100209"
        assert messages[sid("c")].status == "queued"


def test_a_stop_reply_becomes_an_opt_out_unless_the_number_opted_back_in(tmp_path, database_url):
    report = import_v3.import_v3(build_old_database(tmp_path / "app-v3.db"), target(database_url))

    with session_scope(database_url) as session:
        opt_outs = session.scalars(select(OptOut)).all()
        assert [(o.number, o.source, o.since) for o in opt_outs] == [
            ("+48600100201", "stop_keyword", datetime(2025, 12, 14, 9, 30, tzinfo=UTC))]
    assert report.imported["opted_back_in"] == 1


ODD_ROWS = """
INSERT INTO multi_sms_batches VALUES (5, 'Archiwum', NULL, 'archived', NULL, 1, 0, 0, 0, '2025-12-18T08:00:00',
    NULL, NULL, NULL);
INSERT INTO multi_sms_recipients VALUES (10, 5, '+48600100210', '+48600100210', 'sent', NULL, NULL,
    '2025-12-18T08:00:00', NULL);
INSERT INTO multi_sms_recipients VALUES (11, 1, '+48600100211', '+48600100211', 'retrying', NULL, NULL,
    '2025-12-14T09:00:00', NULL);
INSERT INTO multi_sms_recipients VALUES (12, 2, '0048 600-100-204', '+48600100204', 'sent', 'SMkkkk', NULL,
    '2025-12-15T10:00:00', '2025-12-15T10:00:04');
INSERT INTO messages (direction, to_number, from_number, body, status, created_at, updated_at)
    VALUES ('internal', NULL, NULL, 'note', NULL, '2025-12-18T08:00:00', '2025-12-18T08:00:00');
INSERT INTO messages (direction, to_number, from_number, body, status, created_at, updated_at)
    VALUES ('outbound', '+48600100212', '+48732100200', 'Hej', 'sent', 'wczoraj', 'wczoraj');
"""


def test_rows_the_import_cannot_read_are_listed_with_the_reason_and_the_rest_comes_over(tmp_path, database_url,
                                                                                          configure, capsys):
    old = build_old_database(tmp_path / "app-v3.db", extra_sql=ODD_ROWS)
    configure(DATABASE_URL=database_url)

    assert import_v3.main([str(old)]) == 0

    printed = report_of(capsys.readouterr().out)
    assert "batch (with its 1 recipients): unknown status 'archived': 1 (batch #5)" in printed
    assert "recipient: unknown status 'retrying': 1 (recipient #11)" in printed
    assert "message: unknown direction 'internal': 1 (message #12)" in printed
    assert "message: unreadable created_at 'wczoraj': 1 (message #13)" in printed
    assert row_counts(database_url) == {"batches": 4, "recipients": 7, "messages": 11, "opt_outs": 1}
    with session_scope(database_url) as session:  # one number twice: the spelling that was sent is kept
        kept = session.scalars(select(Recipient).where(Recipient.number_normalized == "+48600100204")).one()
        assert (kept.number_raw, kept.status) == ("0048 600-100-204", "sent")
        assert kept.batch.report["duplicates"] == [{"number": "+48600100204", "normalized": "+48600100204"}]


@pytest.mark.parametrize("version", [7, 8, 9])
def test_stored_api_keys_and_settings_never_reach_our_tables(tmp_path, database_url, version, configure, capsys):
    old = build_old_database(tmp_path / "app-v3.db", version)
    configure(DATABASE_URL=database_url)

    assert import_v3.main([str(old)]) == 0

    stored, printed = everything_stored(database_url), capsys.readouterr().out
    for secret in (STORED_KEY, AUDITED_KEY, "Jesteś asystentem", "gpt-4o", "Cotygodniowe przypomnienie"):
        assert secret not in stored and secret not in printed
    assert "ai_config: a stored OpenAI API key (1): never copied" in printed
    assert "scheduled_messages: recurring sends (1)" in printed
    assert ("app_settings" in printed, "listeners_config" in printed) == (version >= 8, version >= 9)


def test_dry_run_reports_the_same_and_writes_nothing(tmp_path, database_url, configure, capsys):
    old = build_old_database(tmp_path / "app-v3.db")
    configure(DATABASE_URL=database_url)

    assert import_v3.main([str(old), "--dry-run"]) == 0
    dry = report_of(capsys.readouterr().out)
    assert "Dry run: nothing was written." in dry
    assert row_counts(database_url) == {"batches": 0, "recipients": 0, "messages": 0, "opt_outs": 0}

    assert import_v3.main([str(old)]) == 0
    real = report_of(capsys.readouterr().out)
    assert dry.replace("Dry run: nothing was written.", "Done.") == real
    assert re.search(r"^batches +4 +0$", real, re.MULTILINE)
    assert "+486001" not in real  # no phone number, no message text in the report
    assert "Zebranie" not in real


def report_of(output: str) -> str:
    """The printed report, without log lines other tests' logging setup may add before it."""
    return output[output.index("Old app database:"):]


def _ours(path: Path) -> Path:
    migrate(f"sqlite:///{path}")
    return path


def _stranger(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    return path


def _text_file(path: Path) -> Path:
    path.write_text("name,number\nAnna,+48600100200\n")
    return path


UNKNOWN = {
    "a multisms database": (_ours, "a multisms database already"),
    "another app's database": (_stranger, "is not the old app's database"),
    "not SQLite": (_text_file, "cannot be read as a SQLite database"),
    "schema v6": (lambda p: build_old_database(p, 7, extra_sql="DROP TABLE multi_sms_recipients; DROP TABLE "
                                                             "multi_sms_batches;", user_version=6),
                  "has no multi_sms_batches, multi_sms_recipients table: an older schema than v7"),
    "an extra column": (lambda p: build_old_database(p, extra_sql="ALTER TABLE messages ADD COLUMN media_url TEXT;"),
                        "table messages has other columns than the old app's .unexpected: media_url"),
    "an extra table": (lambda p: build_old_database(p, extra_sql="CREATE TABLE audit_log (id INTEGER);"),
                       r"tables the old app never made \(audit_log\)"),
    "a newer version": (lambda p: build_old_database(p, user_version=10), "says it is schema v10"),
}


@pytest.mark.parametrize("case", UNKNOWN)
def test_a_file_that_is_not_a_known_old_schema_is_refused_with_the_reason(tmp_path, database_url, case):
    make, reason = UNKNOWN[case]
    path = make(tmp_path / "given.db")
    before = file_hash(path)

    with pytest.raises(UnknownOldSchema, match=reason):
        import_v3.import_v3(path, target(database_url))

    assert file_hash(path) == before
    assert row_counts(database_url) == {"batches": 0, "recipients": 0, "messages": 0, "opt_outs": 0}


@pytest.mark.parametrize("version", [7, 8, 9])
def test_migrate_and_the_web_app_refuse_an_old_database_and_leave_it_unchanged(tmp_path, version):
    from webhooks.app import create_app

    old = build_old_database(tmp_path / "app.db", version)
    before, url = file_hash(old), f"sqlite:///{tmp_path / 'app.db'}"

    with pytest.raises(OldAppDatabase, match=f"schema v{version}.*make import-v3 DB="):
        migrate(url)
    with pytest.raises(OldAppDatabase, match="set DATABASE_URL to a new database"):
        create_app(target(url))
    assert file_hash(old) == before


def test_importing_into_the_old_file_itself_is_refused(tmp_path):
    old = build_old_database(tmp_path / "app.db")
    before = file_hash(old)

    with pytest.raises(OldAppDatabase, match="set DATABASE_URL to a new database"):
        import_v3.import_v3(old, target(f"sqlite:///{old}"))
    assert file_hash(old) == before


def _run_in_old_app_folder(folder: Path, *command: str) -> subprocess.CompletedProcess:
    """A command started in a folder holding the old app's `data/app.db`, on default settings."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": TEST_REDIS_URL}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, *command], cwd=folder, env=env, capture_output=True, text=True, timeout=60)


def test_alembic_upgrade_and_the_worker_refuse_the_old_app_default_path(tmp_path):
    (tmp_path / "data").mkdir()
    old = build_old_database(tmp_path / "data" / "app.db")
    before = file_hash(old)

    migrated = _run_in_old_app_folder(tmp_path, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head")
    assert migrated.returncode != 0
    assert "FAILED: data/app.db holds the old app's data" in migrated.stderr + migrated.stdout
    assert "make import-v3 DB=data/app-v3.db" in migrated.stderr + migrated.stdout

    worker = _run_in_old_app_folder(tmp_path, "-m", "jobs.worker", "--burst")
    assert worker.returncode == 2
    assert "make import-v3" in worker.stderr
    assert file_hash(old) == before


def test_the_import_script_runs_from_the_command_line(tmp_path, database_url):
    old = build_old_database(tmp_path / "app-v3.db", 8)
    env = {**os.environ, "DATABASE_URL": database_url}

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "import_v3.py"), str(old)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "schema v8" in done.stdout and "Done." in done.stdout
    assert row_counts(database_url)["batches"] == 4
