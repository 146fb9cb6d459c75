"""A worker killed mid-batch (SIGKILL to its whole process tree) loses and doubles nothing.

Real worker processes (`python -m jobs.worker`), real Redis, the Twilio stand-in with latency.
RQ's work-horse calls setsid(), so killing the worker's process group would leave it alive:
we kill every process in the tree, as an OOM killer or a dyno restart would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from multisms.db import session_scope
from multisms.models import Batch
from tests.send_helpers import create_batch, numbers, statuses

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}


def start_worker(name: str, log_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "jobs.worker", "--name", name], env=env, cwd=log_dir,
                            stdout=log, stderr=subprocess.STDOUT)


def kill_tree(process: subprocess.Popen) -> int:
    """SIGKILL the worker and every descendant (work-horse, scheduler). Returns how many died."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in tree:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=10)
    process.wait(timeout=10)
    return len(tree)


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def batch_status(settings, batch_id: int) -> str:
    with session_scope(settings.database_url) as session:
        return session.get(Batch, batch_id).status


def test_killed_worker_mid_batch_every_recipient_reached_exactly_once(configure, twilio_api, tmp_path):
    settings = configure(MULTI_SMS_CONCURRENCY="4")
    twilio_api.latency = 0.05
    recipients = numbers(250)
    batch_id = create_batch(settings, recipients, body="Crash-safe hello")
    first = start_worker("crash-first", tmp_path)
    try:
        assert wait_until(lambda: len(twilio_api.messages) >= 80, timeout=60), (tmp_path / "crash-first.log").read_text()
    finally:
        killed = kill_tree(first)
    assert killed >= 2  # the worker and its work-horse at least
    sent_before_restart = len(twilio_api.messages)
    assert sent_before_restart < 250, "the batch finished before the kill; the test proves nothing"

    restarted_at = time.monotonic()
    second = start_worker("crash-second", tmp_path)
    try:
        finished = wait_until(lambda: batch_status(settings, batch_id) in FINISHED, timeout=60, step=0.2)
        took = time.monotonic() - restarted_at
    finally:
        kill_tree(second)
    assert finished, (tmp_path / "crash-second.log").read_text()[-3000:]
    print(f"killed {killed} processes after {sent_before_restart} sends; finished {took:.1f}s after the restart")
    duplicates = [n for n in recipients if twilio_api.sent_to(n) > 1]
    missing = [n for n in recipients if twilio_api.sent_to(n) == 0]
    assert (duplicates, missing) == ([], [])
    assert batch_status(settings, batch_id) == "completed"
    assert set(statuses(settings, batch_id).values()) == {"queued"}
    assert took < 60
