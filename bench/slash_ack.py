"""How fast the web process answers `/multisms send <250 numbers> | …`, against `/multisms help`.

Starts gunicorn (`webhooks.app:create_app()`, as the Procfile does) on a free port, with a
temporary migrated SQLite database, the local Redis (db 12, flushed) and the Slack stand-in
running in this process. Sends signed slash commands one at a time and prints p50/p99 of:

- the HTTP answer (Bolt's ack: what Slack's 3-second limit applies to), and
- the preview's arrival at the response_url (when the person sees it),

for the 250-number send and for `help` (the baseline), and their ratio.

    .venv/bin/python bench/slash_ack.py                 # 200 of each
    .venv/bin/python bench/slash_ack.py --count 50
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile, start_gunicorn  # noqa: E402
from multisms.db import migrate  # noqa: E402
from standins.signing import SIGNING_SECRET, signed_headers, slash_body  # noqa: E402
from standins.slack_api import SlackStandIn  # noqa: E402

NUMBERS = ", ".join(f"+48600{100000 + i}" for i in range(250))
SEND = f"send {NUMBERS} | Hello from the slash_ack bench"
WARM_UP = 10


class TimedSlack(SlackStandIn):
    """The stand-in, noting when each response_url post arrives."""

    def __init__(self):
        super().__init__()
        self.arrived: dict[str, float] = {}

    def handle(self, req):
        if req.path.startswith("/response/"):
            self.arrived[req.path.rsplit("/", 1)[-1]] = time.perf_counter()
        return super().handle(req)


def start_web(workdir: Path, slack: SlackStandIn, port: int, redis_url: str) -> subprocess.Popen:
    database = f"sqlite:///{workdir / 'bench.db'}"
    migrate(database)
    env = {"DATABASE_URL": database, "REDIS_URL": redis_url,
           "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "MULTISMS_ALLOWED_USERS", "MULTISMS_ALLOWED_CHANNELS"):
        os.environ.pop(name, None)
    return start_gunicorn(port, env, workdir)


def measure(session: requests.Session, url: str, slack: TimedSlack, text: str, count: int, tag: str):
    """`count` commands, one at a time (each waits for its preview): ack and preview times in ms."""
    acks, previews = [], []
    for index in range(WARM_UP + count):
        name = f"{tag}{index}"
        body = slash_body(text, user="U1", channel="C1", response_url=slack.response_url(name))
        started = time.perf_counter()
        response = session.post(url, data=body, headers=signed_headers(body), timeout=10)
        acked = time.perf_counter()
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 10
        while name not in slack.arrived and time.monotonic() < deadline:
            time.sleep(0.001)
        if name not in slack.arrived:
            raise SystemExit(f"no preview for {name}")
        if index >= WARM_UP:
            acks.append((acked - started) * 1000)
            previews.append((slack.arrived[name] - started) * 1000)
    return acks, previews


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="commands of each kind (default 200)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    Redis.from_url(args.redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp, TimedSlack() as slack:
        port = free_port()
        web = start_web(Path(tmp), slack, port, args.redis_url)
        try:
            url = f"http://127.0.0.1:{port}/slack/events"
            with requests.Session() as session:
                send = measure(session, url, slack, SEND, args.count, "send")
                baseline = measure(session, url, slack, "help", args.count, "help")
        finally:
            web.terminate()
            web.wait(10)
            Redis.from_url(args.redis_url).flushdb()
    report(args.count, send, baseline)


def report(count: int, send, baseline) -> None:
    print(f"slash_ack: {count} × `/multisms send <250 numbers> | …` and {count} × `/multisms help`, one at a time")
    print(f"gunicorn 2 workers × 4 threads, SQLite, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'':46}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, index in (("HTTP answer (ack)", 0), ("preview at response_url", 1)):
        for kind, values in (("send 250", send[index]), ("help (baseline)", baseline[index])):
            print(f"{label + ', ' + kind:46}{percentile(values, 50):9.1f}{percentile(values, 99):9.1f}"
                  f"{max(values):9.1f}")
        ratio = percentile(send[index], 99) / percentile(baseline[index], 99)
        print(f"{label + ', p99 ratio send/help':46}{ratio:9.2f}")


if __name__ == "__main__":
    main()
