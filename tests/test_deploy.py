"""Heroku-style deploy: the Procfile's release and web steps with Heroku-shaped settings; log masking.

Heroku hands out `DATABASE_URL=postgres://…` and `REDIS_URL=rediss://…` (TLS, self-signed).
These tests run the real commands from the Procfile in subprocesses with such values, on a
scratch PostgreSQL database when TEST_DATABASE_URL is set (else on SQLite). No TLS Redis runs
here, so `rediss://` must be reported down, gracefully.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from multisms.config import Settings
from multisms.logging_setup import MaskPhoneNumbers, configure_logging
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"API_TOKEN": "api-token-never-shown", "TWILIO_AUTH_TOKEN": "twilio-auth-token-never-shown",
           "PANEL_PASSWORD": "panel-password-never-shown", "SECRET_KEY": "secret-key-never-shown"}


def procfile(process: str) -> str:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    return lines[process].strip()


def heroku_env(**values: str) -> dict[str, str]:
    """The environment a dyno gets: our settings only from these values, the venv's tools on PATH."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key not in names}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **values}


@contextmanager
def scratch_postgres():
    """A new, empty database on the TEST_DATABASE_URL server, as `postgres://…` (Heroku's spelling)."""
    server = make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg")
    name = f"multisms_release_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    heroku_url = server.set(drivername="postgres", database=name).render_as_string(hide_password=False)
    try:
        yield heroku_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def heroku_database(tmp_path):
    """`postgres://…` on a fresh database when TEST_DATABASE_URL is set; else a new SQLite file."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    with scratch_postgres() as url:
        yield url


def tables_in(url: str) -> set[str]:
    engine = create_engine(Settings(database_url=url, _env_file=None).database_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_release_step_migrates_an_empty_database(heroku_database):
    assert heroku_database.startswith("postgres://") or not TEST_DATABASE_URL
    for _ in range(2):  # a second release (the next deploy) finds nothing to do and succeeds
        result = subprocess.run(["bash", "-c", procfile("release")], cwd=ROOT, capture_output=True, text=True,
                                timeout=120, env=heroku_env(DATABASE_URL=heroku_database))
        assert result.returncode == 0, result.stderr
        assert {"alembic_version", "batches", "recipients", "messages", "opt_outs"} <= tables_in(heroku_database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict | None = None, timeout: float = 20):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def test_web_dyno_boots_with_heroku_settings_and_reports_tls_redis_down(heroku_database, tmp_path):
    port = free_port()
    log_file = tmp_path / "web.log"
    with log_file.open("w") as log:
        env = heroku_env(DATABASE_URL=heroku_database, REDIS_URL="rediss://127.0.0.1:6379", PORT=str(port),
                         WEB_CONCURRENCY="1",
                         PUBLIC_BASE_URL="https://multisms-test.herokuapp.com", **SECRETS)
        web = subprocess.Popen(["bash", "-c", "exec " + procfile("web")], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_listening(port, web)
            status, body, _ = get(base + "/api/health")
            assert status == 503
            report = json.loads(body)
            assert "redis" in report["failing"] and report["checks"]["database"] == {"ok": True}
            assert not any(secret in body for secret in SECRETS.values())
            status, _, headers = get(base + "/panel/login", {"X-Forwarded-Proto": "https"})
            assert status == 200 and "Secure" in headers["Set-Cookie"]
            assert web.poll() is None, "the web process must survive an unreachable Redis"
        finally:
            web.terminate()
            web.wait(20)
    lines = log_file.read_text().splitlines()
    access = [line for line in lines if "logger=gunicorn.access" in line]
    assert any("path=/api/health status=503" in line for line in access), lines
    assert all(line.startswith("time=") for line in lines), lines
    assert not any(secret in line for secret in SECRETS.values() for line in lines)


def wait_until_listening(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not listen on {port} within {seconds} s")


def test_log_lines_are_logfmt_with_numbers_masked(capsys):
    configure_logging("INFO")
    log = logging.getLogger("multisms.test")
    log.info("sent to %s and +1 202 555 0123", "+48600123456", extra={"batch_id": 7})
    try:
        raise ValueError("no route to +15005550006")
    except ValueError:
        log.exception("send failed")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, "one line per event, tracebacks included"
    first, second = lines
    assert "level=INFO logger=multisms.test" in first and "batch_id=7" in first
    assert "sent to +48••••••456 and +1•••••••123\"" in first and "600123" not in first and "555" not in first
    assert "+15005550006" not in second and "+1•••••••006" in second and "ValueError" in second
    assert "level=ERROR" in second


def test_the_filter_masks_the_record_itself_for_every_other_handler():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "reply from %s", ("+48600123456",), None)
    MaskPhoneNumbers().filter(record)
    assert record.getMessage() == "reply from +48••••••456"


def test_socket_mode_is_a_procfile_process_that_is_off_until_scaled_up():
    formation = json.loads((ROOT / "app.json").read_text())["formation"]
    assert formation["socket"]["quantity"] == 0 and formation["web"]["quantity"] == 1
    result = subprocess.run(["bash", "-c", procfile("socket")], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=heroku_env(SLACK_BOT_TOKEN="xoxb-never-shown"))
    assert result.returncode == 2  # scaled up without its token, it says what is missing and stops
    assert "SLACK_APP_TOKEN" in result.stderr and "xoxb-never-shown" not in result.stderr + result.stdout
