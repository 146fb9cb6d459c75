"""Shared fixtures: real SQLite (or PostgreSQL with TEST_DATABASE_URL), real Redis, the app.

Settings enter the code the way they do in production: through environment variables,
which each test sets with `configure(...)`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import text

from multisms.config import Settings, get_settings
from multisms.db import dispose, get_engine, migrate
from multisms.models import Base
from multisms.queues import QUEUE_NAMES, get_queue

pytest_plugins = ["tests.fixtures.standins", "tests.slack_helpers"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
"""Unset: a fresh SQLite file per test. Set (postgresql://…): that database, emptied per test."""
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
API_TOKEN = "test-api-token"
TWILIO_FROM = "+15005550006"


def _setting_names() -> list[str]:
    return [name.upper() for name in Settings.model_fields]


@pytest.fixture(scope="session", autouse=True)
def _isolated_from_developer_env(tmp_path_factory):
    """No developer `.env` or exported variable leaks into the tests."""
    saved = {name: os.environ.pop(name) for name in _setting_names() if name in os.environ}
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(cwd)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def _schema_template(tmp_path_factory) -> str:
    """Migrate once per session; each test then gets a copy (SQLite) or an emptied schema (PostgreSQL)."""
    if TEST_DATABASE_URL:
        url = Settings(database_url=TEST_DATABASE_URL, _env_file=None).database_url
        with get_engine(url).begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrate(url)
        return url
    path = tmp_path_factory.mktemp("schema") / "template.db"
    url = f"sqlite:///{path}"
    migrate(url)
    dispose(url)
    return str(path)


@pytest.fixture
def database_url(_schema_template, tmp_path) -> str:
    if TEST_DATABASE_URL:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with get_engine(_schema_template).begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield _schema_template
        return
    path = tmp_path / "app.db"
    shutil.copyfile(_schema_template, path)
    url = f"sqlite:///{path}"
    yield url
    dispose(url)


@pytest.fixture
def redis_conn():
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def configure(monkeypatch, database_url, redis_conn, twilio_api):
    """`configure(DEFAULT_REGION="PL", TWILIO_DEFAULT_FROM=None)` → fresh `Settings` from the environment.

    Defaults: the test database and Redis, an API token, Twilio pointed at the stand-in.
    """
    base = {
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "API_TOKEN": API_TOKEN,
        "TWILIO_ACCOUNT_SID": twilio_api.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_api.auth_token,
        "TWILIO_API_BASE_URL": twilio_api.base_url,
        "TWILIO_DEFAULT_FROM": TWILIO_FROM,
        "PUBLIC_BASE_URL": "http://localhost",
        "TWILIO_TIMEOUT_SECONDS": "5",
        "MULTI_SMS_MPS": "1000",
        "WORKER_HEARTBEAT_SECONDS": "2",
        "RECOVERY_INTERVAL_SECONDS": "2",
    }

    def apply(**values) -> Settings:
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        return get_settings()

    apply(**base)
    yield apply
    get_settings.cache_clear()


@pytest.fixture
def settings(configure) -> Settings:
    return get_settings()


@pytest.fixture
def make_client(configure):
    """A Flask test client for the app built from the current (or given) settings."""
    from webhooks.app import create_app

    def build(**env):
        settings = configure(**env) if env else get_settings()
        return create_app(settings).test_client()

    return build


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def auth() -> dict:
    return {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def run_jobs(redis_conn, settings):
    """Run every queued job in this process (RQ's SimpleWorker, burst mode)."""

    def run() -> None:
        queues = [get_queue(name, redis_conn) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=redis_conn).work(burst=True)

    return run
