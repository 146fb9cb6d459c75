"""Real worker processes for tests: start them, kill their whole tree, wait for conditions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import kill_tree as bench_kill_tree

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def start_worker(name: str, log_dir: Path, **env) -> subprocess.Popen:
    """`python -m jobs.worker` with the test's environment (plus `env`), logging to `log_dir/name.log`."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    log = open(log_dir / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "jobs.worker", "--name", name], env=environment, cwd=log_dir,
                            stdout=log, stderr=subprocess.STDOUT)


def kill_tree(process: subprocess.Popen) -> int:
    """SIGKILL a process and every descendant (`bench.common.kill_tree`), then reap it."""
    killed = bench_kill_tree(process.pid)
    process.wait(timeout=10)
    return killed


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    """Poll `condition()` until it is truthy or `timeout` seconds pass; returns the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
