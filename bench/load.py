"""Mixed load for a bounded time: slash commands, inbound SMS and status callbacks at once.

Runs gunicorn (`webhooks.app:create_app()`) and one worker (`python -m jobs.worker`) as the
Procfile does, with the Slack and Twilio stand-ins in this process, SQLite (or
`--database-url`) and the local Redis (db 11, flushed). First a 200-recipient batch is sent
through the API so there are real message SIDs to report on; then three open-loop streams
run together for `--seconds`. Baseline: the same three streams one at a time, in the same run.
Prints per stream the rate held, p50/p99 and errors, and the worker's backlog at the end.

    .venv/bin/python bench/load.py --seconds 10
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drive, free_port, percentile, start_gunicorn  # noqa: E402
from multisms.config import Settings  # noqa: E402
from multisms.db import migrate  # noqa: E402
from standins.signing import SIGNING_SECRET, sign, signed_headers, slash_body  # noqa: E402
from standins.slack_api import SlackStandIn  # noqa: E402
from standins.twilio_api import TwilioStandIn  # noqa: E402

API_TOKEN = "bench-api-token"
NUMBERS = ", ".join(f"+48601{100000 + i}" for i in range(20))


def streams(base: str, twilio: TwilioStandIn, slack: SlackStandIn, sids: list[str]) -> dict:
    """name → (rate per second, request factory) for `drive`."""

    def slash(i: int):
        body = slash_body(f"send {NUMBERS} | Load test {i}", user="U1", channel="C1",
                          response_url=slack.response_url(f"load{i}-{uuid.uuid4().hex[:6]}"))
        return f"{base}/slack/events", body, signed_headers(body), 200

    def inbound(i: int):
        form = twilio.inbound_form(f"+4860{2000000 + i % 1_000_000:07d}", "+15005550006", f"Question {i}",
                                   sid="SM" + uuid.uuid4().hex)
        url = f"{base}/twilio/inbound"
        return url, form, {"X-Twilio-Signature": sign(twilio.auth_token, url, form)}, 200

    def status(i: int):
        form = twilio.status_callback_form(sids[i % len(sids)], ("sent", "delivered")[i % 2])
        url = f"{base}/twilio/status"
        return url, form, {"X-Twilio-Signature": sign(twilio.auth_token, url, form)}, 204

    return {"slash commands": slash, "inbound SMS": inbound, "status callbacks": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--slash-rate", type=float, default=5)
    parser.add_argument("--inbound-rate", type=float, default=50)
    parser.add_argument("--status-rate", type=float, default=50)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    rates = {"slash commands": args.slash_rate, "inbound SMS": args.inbound_rate, "status callbacks": args.status_rate}

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    database_url = Settings(_env_file=None, database_url=args.database_url or f"sqlite:///{workdir / 'load.db'}"
                            ).database_url
    migrate(database_url)
    Redis.from_url(args.redis_url).flushdb()
    twilio, slack = TwilioStandIn(latency=0.05).start(), SlackStandIn().start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "PUBLIC_BASE_URL": base, "API_TOKEN": API_TOKEN,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
           "TWILIO_API_BASE_URL": twilio.base_url, "TWILIO_DEFAULT_FROM": "+15005550006", "MULTI_SMS_MPS": "100000",
           "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
           "SLACK_INBOX_CHANNEL": "CINBOX", "AUTO_REPLY_MODE": "template"}
    web = start_gunicorn(port, env, workdir)
    worker = subprocess.Popen([sys.executable, "-m", "jobs.worker"], cwd=workdir,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                              stdout=(workdir / "worker.log").open("w"), stderr=subprocess.STDOUT)
    try:
        sids = warm_up(base, twilio)
        print(f"# load  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  "
              f"gunicorn 2x4 + 1 worker  db={database_url.split(':')[0]}  {args.seconds:g} s per run")
        factories = streams(base, twilio, slack, sids)
        alone = {name: drive(rates[name], args.seconds, factory) for name, factory in factories.items()}
        together = run_together(factories, rates, args.seconds)
        print(f"{'stream':18}{'target/s':>9}{'held/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
              f"{'alone p99':>10}{'ratio':>7}")
        for name in factories:
            lat, errors, achieved = together[name]
            alone_p99 = percentile(alone[name][0], 99)
            print(f"{name:18}{rates[name]:>9.0f}{achieved:>8.1f}{percentile(lat, 50):>8.1f}{percentile(lat, 99):>8.1f}"
                  f"{errors:>7}{alone_p99:>10.1f}{percentile(lat, 99) / alone_p99:>6.1f}x")
        backlog = sum(Redis.from_url(args.redis_url).llen(f"rq:queue:{q}") for q in ("sms", "ai", "default"))
        print(f"jobs still queued right after the load: {backlog}; SMS sent by the worker: {len(twilio.messages)}")
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=15)
        twilio.stop()
        slack.stop()


def warm_up(base: str, twilio: TwilioStandIn) -> list[str]:
    """A 200-recipient batch through the API, sent by the worker: its SIDs feed the status stream."""
    numbers = [f"+48602{100000 + i}" for i in range(200)]
    response = requests.post(f"{base}/api/multi-sms/batches", json={"body": "Warm-up", "recipients": numbers},
                             headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)
    response.raise_for_status()
    deadline = time.monotonic() + 60
    while len(twilio.messages) < 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    return [m["sid"] for m in twilio.messages]


def run_together(factories: dict, rates: dict, seconds: float) -> dict:
    results: dict = {}
    threads = [threading.Thread(target=lambda n=name, f=factory: results.__setitem__(n, drive(rates[n], seconds, f)))
               for name, factory in factories.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


if __name__ == "__main__":
    main()
