"""`python -m standins twilio --latency 0.2`: a stand-in in a process of its own, for bench/ runs in
which the workers must not share a CPU core's worth of Python with the provider they call.

Prints one JSON line (`url`, `account_sid`, `auth_token`) and serves until killed; the Twilio
stand-in's `GET /_standin/stats` tells what it received (arrival and acceptance times, look-ups).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

from standins.twilio_api import TwilioStandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["twilio"])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each message create takes")
    parser.add_argument("--queue-seconds", type=float, default=0.0, help="how long accepted messages stay queued")
    args = parser.parse_args()
    standin = TwilioStandIn(latency=args.latency).start()
    standin.queue_seconds = args.queue_seconds
    print(json.dumps({"url": standin.base_url, "account_sid": standin.account_sid,
                      "auth_token": standin.auth_token}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    standin.stop()


if __name__ == "__main__":
    main()
