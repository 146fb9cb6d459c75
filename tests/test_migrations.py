"""Alembic: from empty to head and one step back, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from multisms.db import alembic_config, dispose, migrate

EXPECTED_TABLES = {"batches", "recipients", "messages", "opt_outs", "conversations", "alembic_version",
                   "knowledge_documents", "knowledge_gaps", "reminders", "reminder_runs",
                   "contacts", "contact_lists", "list_members", "forgotten_numbers", "digest_items"}


def _urls(tmp_path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'migrate.db'}"]
    if os.environ.get("TEST_DATABASE_URL"):
        urls.append("postgresql")
    return urls


@pytest.fixture
def empty_postgres():
    """A throw-away PostgreSQL database, so migrating from empty does not disturb the suite's schema."""
    admin_url = os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"multisms_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    yield url
    dispose(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _check_upgrade_and_downgrade(url: str) -> None:
    config = alembic_config(url)
    script = ScriptDirectory.from_config(config)
    migrate(url)
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == script.get_current_head()
    uniques = inspect(engine).get_unique_constraints("recipients")
    assert ["batch_id", "number_normalized"] in [u["column_names"] for u in uniques]

    command.downgrade(config, "-1")
    head = script.get_revision(script.get_current_head())
    with engine.connect() as conn:
        current = conn.scalar(text("SELECT version_num FROM alembic_version")) if inspect(
            engine).has_table("alembic_version") else None
    assert current == head.down_revision
    migrate(url)
    assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
    engine.dispose()
    dispose(url)


def test_sqlite_upgrade_from_empty_and_downgrade_one_step(tmp_path):
    _check_upgrade_and_downgrade(f"sqlite:///{tmp_path / 'nested' / 'migrate.db'}")


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="set TEST_DATABASE_URL to test PostgreSQL")
def test_postgresql_upgrade_from_empty_and_downgrade_one_step(empty_postgres):
    _check_upgrade_and_downgrade(empty_postgres)


def test_models_and_migrations_agree(tmp_path):
    """A model change without a migration fails here (Alembic's autogenerate finds no diff)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from multisms.models import Base

    url = f"sqlite:///{tmp_path / 'compare.db'}"
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    dispose(url)
    assert diff == []
