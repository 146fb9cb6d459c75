"""The database engine and sessions, from `DATABASE_URL`; Alembic migrations on demand.

Each process holds at most POOL_SIZE server connections, sized from what runs at once:
a web process serves 4 threads (gunicorn.conf.py), one session each; a worker runs one job
at a time in a forked work-horse, and a send run needs 3 (its claimer, its result writer and
its batch watcher) while its send threads hold none as they wait on Twilio. docs/operations.md
adds these up against the Heroku Postgres plans. A forked process (RQ's work-horse, its
scheduler) drops the connections it inherited before first use, so parent and child never
talk over one socket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from multisms.legacy import refuse_old_app_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQLITE_BUSY_TIMEOUT_MS = 15_000
"""Worker threads write concurrently; SQLite serialises writers, so they wait instead of failing."""
POOL_SIZE = 4
"""Server connections one process may hold: a web process's 4 threads, or a send run's 3 plus one spare."""
POOL_TIMEOUT_SECONDS = 10
"""A thread finding every connection busy waits this long (queries take milliseconds), then fails clearly."""

_engines: list[Engine] = []
"""Every engine this process made, so a forked child can let go of their inherited connections."""


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process. SQLite: creates the file's folder, WAL, foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre-ping: a connection the server dropped (restart, pg_terminate_backend) is replaced at checkout
        engine = create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=0,
                               pool_timeout=POOL_TIMEOUT_SECONDS)
    else:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    _engines.append(engine)
    return engine


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (the Procfile `release` step does the same).

    Raises `OldAppDatabase`, touching nothing, when `url` is the old app's SQLite file."""
    from alembic import command

    refuse_old_app_database(url)
    command.upgrade(alembic_config(url), revision)


def alembic_config(url: str):
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def dispose(url: str) -> None:
    """Close pooled connections (tests and forked processes)."""
    get_engine(url).dispose()


def _forget_inherited_connections() -> None:
    """In a forked child: new pools, the parent's connections left open for the parent (SQLAlchemy's
    `dispose(close=False)`, meant for exactly this)."""
    for engine in _engines:
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
