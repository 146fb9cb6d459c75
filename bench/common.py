"""What the benchmarks share: a free loopback port, gunicorn started as the Procfile does, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, env: dict, workdir: Path, *, workers: int = 2, threads: int = 4) -> subprocess.Popen:
    """`webhooks.app:create_app()` under gunicorn on 127.0.0.1:`port`; returns once it answers."""
    command = [sys.executable, "-m", "gunicorn", "webhooks.app:create_app()", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--log-level", "warning"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    web = subprocess.Popen(command, cwd=workdir, env=environment, stdout=subprocess.DEVNULL,
                           stderr=(workdir / "web.log").open("w"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
            return web
        except requests.RequestException:
            time.sleep(0.1)
    web.kill()
    raise SystemExit("gunicorn did not start:\n" + (workdir / "web.log").read_text()[-3000:])


def percentile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def drive(rate: float, seconds: float, make_request) -> tuple[list[float], int, float]:
    """Open-loop load: request `i` leaves at `start + i / rate` whatever the others are doing.

    `make_request(i)` returns `(url, data, headers, expected_status)` for a POST. Returns the
    latencies in ms, the number of errors (wrong status or no answer) and the rate achieved.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    count = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    local = threading.local()

    def one(i: int, at: float) -> None:
        nonlocal errors
        time.sleep(max(at - time.monotonic(), 0))
        url, data, headers, expected = make_request(i)
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        try:
            ok = session.post(url, data=data, headers=headers, timeout=5).status_code == expected
        except requests.RequestException:
            ok = False
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)
            errors += 0 if ok else 1

    begin = time.monotonic() + 0.2
    with ThreadPoolExecutor(max_workers=min(64, max(8, int(rate / 5)))) as pool:
        for i in range(count):
            pool.submit(one, i, begin + i / rate)
    return latencies, errors, count / max(time.monotonic() - begin, 1e-9)


def kill_tree(pid: int) -> int:
    """SIGKILL a process and every descendant (RQ's work-horse calls setsid(): a group kill misses it)."""
    import signal

    import psutil

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in tree:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=10)
    return len(tree)


def start_standin(kind: str, workdir: Path, *args: str) -> tuple[subprocess.Popen, dict]:
    """`python -m standins <kind>` in its own process; returns it and the JSON line it prints (url, credentials)."""
    import json

    process = subprocess.Popen([sys.executable, "-m", "standins", kind, *args], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                               stderr=(workdir / f"standin-{kind}.log").open("w"), text=True)
    return process, json.loads(process.stdout.readline())


def fresh_database(url: str) -> str:
    """An empty, migrated schema at `url` (PostgreSQL: every table dropped first); returns the SQLAlchemy URL."""
    from sqlalchemy import text

    from multisms.config import Settings
    from multisms.db import dispose, get_engine, migrate
    from multisms.models import Base

    url = Settings(database_url=url, _env_file=None).database_url
    if not url.startswith("sqlite"):
        with get_engine(url).begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(url)
    dispose(url)
    return url
