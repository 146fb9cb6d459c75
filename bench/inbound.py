"""Inbound SMS webhooks at increasing rates against gunicorn: latency and the rate held.

Starts gunicorn (`webhooks.app:create_app()`) on a free loopback port with SQLite (or
`--database-url`) and the local Redis, then sends Twilio-signed `POST /twilio/inbound`
requests at fixed rates (open loop: each request leaves at its scheduled time), each step
for a few seconds. Baseline in the same run: the same requests with a forged signature
(refused with 403 before any database work). Prints p50/p99 per step and the highest rate
held with no errors.

    .venv/bin/python bench/inbound.py --rates 25,50,100,200 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drive, free_port, percentile, start_gunicorn  # noqa: E402
from multisms.config import Settings  # noqa: E402
from multisms.db import migrate  # noqa: E402
from standins.signing import sign  # noqa: E402

AUTH_TOKEN = "bench-auth-token"


def step(url: str, rate: float, seconds: float, forged: bool) -> tuple[list[float], int, float]:
    """`rate` signed (or forged) inbound webhooks per second for `seconds`."""

    def request(i: int):
        form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
                "From": f"+4860{i % 10_000_000:07d}", "To": "+15005550006", "Body": f"Question {i}", "NumMedia": "0"}
        signature = "Zm9yZ2Vk" if forged else sign(AUTH_TOKEN, url, form)
        return url, form, {"X-Twilio-Signature": signature}, 403 if forged else 200

    return drive(rate, seconds, request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="25,50,100,200")
    parser.add_argument("--seconds", type=float, default=10,
                        help="each step and its baseline (10 s: a p99 over 1000 requests at 100/s)")
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-inbound-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "PUBLIC_BASE_URL": base,
           "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "TWILIO_DEFAULT_FROM": "+15005550006"}
    migrate(Settings(_env_file=None, database_url=database_url).database_url)
    server = start_gunicorn(port, env, workdir)
    url = f"{base}/twilio/inbound"
    print(f"# inbound  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  "
          f"gunicorn 2 workers x 4 threads  db={database_url.split(':')[0]}  {args.seconds:g} s per step")
    try:
        step(url, 20, 1, forged=False)  # warm-up
        print(f"{'rate/s':>7} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'forged p50':>11} {'forged p99':>11} {'p99 ratio':>9}")
        held = 0.0
        for rate in (float(r) for r in args.rates.split(",")):
            lat, errors, achieved = step(url, rate, args.seconds, forged=False)
            base_lat, _, _ = step(url, rate, args.seconds, forged=True)
            ratio = percentile(lat, 99) / max(percentile(base_lat, 99), 1e-9)
            print(f"{rate:>7.0f} {achieved:>9.1f} {percentile(lat, 50):>8.1f} {percentile(lat, 99):>8.1f} {errors:>7} "
                  f"{percentile(base_lat, 50):>11.1f} {percentile(base_lat, 99):>11.1f} {ratio:>8.1f}x")
            if errors == 0 and achieved >= 0.95 * rate:
                held = rate
        print(f"highest rate held with no errors: {held:.0f}/s")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
