"""Contacts at the scale a team has them: a 10 000-row CSV import, and the preview of a personal batch.

Import: a Windows-1250, semicolon CSV of 10 000 people (number, name, shift) into a new list, then
the same file again (every row unchanged), then a file that changes every row; each next to
reading the file alone (`read_contacts_csv`), which every import pays. Preview: `intake.check`
of a 250-person list with `Cześć {imię|}, …` against the plain text to the same list and to the
same 250 numbers pasted (the path before lists existed), in the same run.

    .venv/bin/python bench/contacts.py                                   # SQLite in a temporary folder
    .venv/bin/python bench/contacts.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from multisms import intake  # noqa: E402
from multisms.config import Settings  # noqa: E402
from multisms.contact_import import import_csv  # noqa: E402
from multisms.contacts_csv import read_contacts_csv  # noqa: E402
from multisms.db import dispose, migrate, session_scope  # noqa: E402

PERSONAL = "Cześć {imię|}, jutro zmiana {zmiana|} o 6:00. Potwierdź odpowiedzią TAK."
PLAIN = "Cześć, jutro zmiana o 6:00. Potwierdź odpowiedzią TAK."


def people_csv(count: int, *, start: int = 0, shift: str = "") -> bytes:
    rows = "".join(f"+48 600 {(100000 + start + i) // 1000:03d} {(start + i) % 1000:03d};Osoba {i};"
                   f"{shift or ('dzienna' if i % 2 else 'nocna')}\r\n" for i in range(count))
    return ("Telefon;Imię;Zmiana\r\n" + rows).encode("cp1250")


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def import_figures(settings: Settings, rows: int) -> None:
    data, changed = people_csv(rows), people_csv(rows, shift="poranna")
    parse, _ = timed(lambda: read_contacts_csv(data, default_region="PL"))

    def run(payload: bytes):
        with session_scope(settings.database_url) as session:
            return import_csv(session, settings, "kierowcy", payload, dry_run=False)

    print(f"{'import of ' + str(rows) + ' rows':<34}{'wall s':>8}{'rows/s':>9}{'× reading':>11}  outcome")
    print(f"{'reading the file alone':<34}{parse:8.2f}{rows / parse:9.0f}{1:11.1f}")
    for label, payload in (("new list, all new", data), ("same file again", data), ("every row changed", changed)):
        seconds, report = timed(lambda payload=payload: run(payload))
        outcome = f"imported {report.imported}, updated {report.updated}, unchanged {report.unchanged}"
        print(f"{label:<34}{seconds:8.2f}{rows / seconds:9.0f}{seconds / parse:11.1f}  {outcome}")


def preview_figures(settings: Settings, size: int, repeats: int) -> None:
    with session_scope(settings.database_url) as session:
        import_csv(session, settings, "zmiana", people_csv(size, start=500_000), dry_run=False)
    pasted = "\n".join(f"+48600{600000 + i:06d}" for i in range(size))
    cases = (("plain text, pasted numbers (before lists)", PLAIN, pasted),
             ("plain text, list:zmiana", PLAIN, "list:zmiana"),
             ("personal text, list:zmiana", PERSONAL, "list:zmiana"))
    results = {}
    for label, body, numbers in cases:
        samples = []
        for _ in range(repeats + 3):
            with session_scope(settings.database_url) as session:
                seconds, validation = timed(lambda body=body, numbers=numbers, session=session: intake.check(
                    session, settings, body=body, numbers=numbers))
            samples.append(seconds * 1000)
        assert validation.ok and len(validation.recipients) == size, validation.problems
        results[label] = (sorted(samples[3:]), validation)
    base = statistics.median(results[cases[1][0]][0])  # the same people, the same text without fields
    print(f"\npreview of {size} recipients ({repeats} runs each)  p50 ms  max ms   ratio  segments  encoding")
    for label, (samples, validation) in results.items():
        median = statistics.median(samples)
        encodings = ", ".join(f"{name} {count}" for name, count in validation.to_dict()["encodings"].items())
        print(f"{label:<44}{median:7.1f}{samples[-1]:8.1f}{median / base:7.2f}x{validation.total_segments:9}  "
              f"{encodings}")


@contextmanager
def database(postgres_admin_url: str | None):
    """A fresh, migrated database that is dropped afterwards (never one that holds anything)."""
    if not postgres_admin_url:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            migrate(url)
            yield url
            dispose(url)
        return
    admin_url = Settings(database_url=postgres_admin_url, _env_file=None).database_url
    name = f"bench_contacts_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        dispose(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server: a temporary database is made there")
    args = parser.parse_args()
    with database(args.postgres) as url:
        settings = Settings(database_url=url, default_region="PL", secret_key="bench",
                            multi_sms_max_recipients=max(args.recipients, 250), _env_file=None)
        print(f"# contacts  {date.today()}  {platform.machine()}  python {platform.python_version()}  "
              f"db={url.split(':', 1)[0]}")
        import_figures(settings, args.rows)
        preview_figures(settings, args.recipients, args.repeats)


if __name__ == "__main__":
    main()
