"""The terminal chat: the Slack commands and content, typed and printed, sending through a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Worker
from sqlalchemy import select

from bot.shell import Shell
from multisms.db import session_scope
from multisms.models import Batch, Recipient
from tests.schedule_helpers import warsaw_morning
from tests.slack_helpers import eventually

ROOT = Path(__file__).resolve().parent.parent
ANNA, BOB = "+48600100001", "+48600100002"


@pytest.fixture
def console_settings(configure):
    """No Twilio: the console gateway prints each SMS and reports it sent."""
    return configure(TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None, TWILIO_DEFAULT_FROM=None,
                     TWILIO_API_BASE_URL=None, MULTI_SMS_MPS=None)


@pytest.fixture
def worker(console_settings, redis_conn, tmp_path):
    """`python -m jobs.worker`, as `make run` starts it, on the test database and Redis."""
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "jobs.worker", "--name", "shell-test"], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT)
    eventually(lambda: Worker.count(connection=redis_conn), timeout=20, what="the worker to start")
    yield process
    process.terminate()
    process.wait(10)
    log.close()


class Terminal:
    """Scripted lines in, printed lines out."""

    def __init__(self, settings, answers: list[str] = ()):
        self.printed: list[str] = []
        self.answers = list(answers)
        self.shell = Shell(settings, ask=self._ask, write=self.printed.append, poll_seconds=0.05)

    def type(self, *lines: str) -> str:
        start = len(self.printed)
        for line in lines:
            assert self.shell.handle(line) is True
        return "\n".join(self.printed[start:])

    def _ask(self, prompt: str) -> str:
        self.printed.append(prompt)
        return self.answers.pop(0)


def test_the_terminal_chat_sends_a_batch_through_the_console_gateway(console_settings, worker):
    terminal = Terminal(console_settings)

    preview = terminal.type(f"send {ANNA}, {BOB}, {BOB} | Hello from the terminal")
    assert "== Preview of batch #1 ==" in preview and "2 recipients* will get this message" in preview
    assert "Duplicates: *1*" in preview and "from `CONSOLE`" in preview and "[Confirm]  [Cancel]" in preview

    report = terminal.type("confirm")

    assert "Confirmed: batch #1 is on its way." in report
    assert "Batch #1: done, 2 sent, 0 failed, 0 pending" in report
    assert "Batch #1 is done:* all 2 sent." in report and "[View recipients]" in report
    with session_scope(console_settings.database_url) as session:
        assert session.get(Batch, 1).status == "completed"
        assert set(session.scalars(select(Recipient.status))) == {"sent"}
    assert terminal.shell.handle("quit") is False


def test_new_asks_for_the_numbers_and_the_message_like_the_slack_form(console_settings):
    terminal = Terminal(console_settings, answers=[f"{ANNA}\t{BOB}", "From the form"])

    printed = terminal.type("new")

    assert "Numbers (spaces, commas, semicolons or new lines): " in printed and "Message: " in printed
    assert "Preview of batch #1" in printed


def test_mistakes_get_the_same_explanations_as_in_slack_without_the_slash(console_settings):
    terminal = Terminal(console_settings)

    assert "Put a `|` between the numbers and the message.\nExample: `send +48600123456" in terminal.type(
        f"send {ANNA} hello")
    assert "No batch #42." in terminal.type("status 42")
    assert "`status <id>`: what happened to a batch" in terminal.type("help")


def test_cancel_and_status_work_by_typing_the_button_or_the_command(console_settings):
    terminal = Terminal(console_settings)
    terminal.type(f"send {ANNA} | Hi")

    assert "Batch #1 is cancelled: 1 recipient will not get it." in terminal.type("cancel")
    assert "*Batch #1*: cancelled" in terminal.type("status 1")
    assert "#1* cancelled" in terminal.type("list")


def test_following_without_a_worker_says_how_to_start_one(console_settings):
    terminal = Terminal(console_settings)
    terminal.type(f"send {ANNA} | Hi")

    assert "No worker is running" in terminal.type("confirm")


def test_a_big_batch_from_the_terminal_needs_slack_for_its_second_person(configure):
    settings = configure(TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None, TWILIO_DEFAULT_FROM=None,
                         MULTI_SMS_APPROVAL_THRESHOLD=1)
    terminal = Terminal(settings)
    terminal.type(f"send {ANNA} {BOB} | Big")

    refused = terminal.type("confirm")

    assert "Batch #1 can't be confirmed, so it stays a draft" in refused and "Slack is not configured" in refused
    assert "the terminal chat can create a big batch but never approve one" in terminal.type("approve 1")


def test_times_typed_in_the_terminal_are_read_in_default_timezone(configure):
    settings = configure(TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None, TWILIO_DEFAULT_FROM=None,
                         DEFAULT_TIMEZONE="Europe/Warsaw")
    local, _ = warsaw_morning()

    preview = Terminal(settings).type(f"send {ANNA} | Stand-up at {local:%Y-%m-%d %H:%M}")

    assert "Scheduled: goes out" in preview and "09:00 (Europe/Warsaw)" in preview
