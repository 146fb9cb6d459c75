"""How fast a batch goes out, against a plain sequential loop measured in the same run.

Starts the Twilio stand-in with injected latency, uses the real Redis and real worker
processes (`python -m jobs.worker --burst`), and prints for each batch size: wall time,
messages/s, the sequential baseline, the ratio and each worker process's peak RSS. Then,
with an MPS cap, the achieved rate and the most sends seen in any one-second window. Then a
crash run: a worker SIGKILLed (whole process tree) in the middle of a batch while Twilio's
queue holds every accepted message longer than recovery takes; the seconds from the kill to
the finished batch, and the Twilio list calls recovery made per orphaned claim.

    .venv/bin/python bench/send_throughput.py                  # 250 and 10 000, cap 10/s, crash
    .venv/bin/python bench/send_throughput.py --sizes 250 --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import bisect
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from multisms import intake  # noqa: E402
from multisms.config import Settings, get_settings  # noqa: E402
from multisms.db import migrate, session_scope  # noqa: E402
from multisms.gateway import TwilioGateway  # noqa: E402
from multisms.models import Batch, Recipient  # noqa: E402
from multisms.queues import enqueue_send, redis_connection  # noqa: E402
from tests.standins.twilio_api import TwilioStandIn  # noqa: E402

FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}
SENDER = "+15005550006"


class TimedTwilio(TwilioStandIn):
    """The stand-in, noting when each create request arrived (before its latency)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.arrivals: list[float] = []

    def _create(self, req):
        with self.lock:
            self.arrivals.append(time.monotonic())
        return super()._create(req)


def numbers(count: int, offset: int) -> list[str]:
    return [f"+48{600000000 + offset + i}" for i in range(count)]


def configure(env: dict) -> Settings:
    os.environ.update(env)
    get_settings.cache_clear()
    return get_settings()


def sequential_baseline(settings: Settings, count: int) -> float:
    """The old app's way: one send after another, no concurrency."""
    gateway = TwilioGateway(settings)
    started = time.perf_counter()
    for number in numbers(count, 900_000):
        gateway.send(to=number, body="baseline", sender=SENDER)
    return time.perf_counter() - started


def run_batch(settings: Settings, count: int, offset: int, workers: int) -> tuple[float, list[int]]:
    """Create and queue a batch, run worker processes until it is done; wall time and peak RSS per worker."""
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body="Bench message", numbers=numbers(count, offset))
        batch_id = intake.submit(session, validation, created_by="bench", confirmed=True).id
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    enqueue_send(redis_connection(settings), batch_id)
    procs = [subprocess.Popen([sys.executable, "-m", "jobs.worker", "--burst"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    peaks = [0] * workers
    while True:
        for i, proc in enumerate(procs):
            peaks[i] = max(peaks[i], _tree_peak_rss(proc.pid))
        with session_scope(settings.database_url) as session:
            if session.get(Batch, batch_id).status in FINISHED:
                break
        if all(proc.poll() is not None for proc in procs):
            raise SystemExit(f"workers exited before batch {batch_id} finished")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.wait(timeout=60)
    return elapsed, peaks


def _tree_peak_rss(pid: int) -> int:
    """The largest RSS among the worker and its children (the work-horse does the sending)."""
    try:
        root = psutil.Process(pid)
        return max(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0


def kill_tree(pid: int) -> int:
    """SIGKILL a worker and its work-horse (which calls setsid(), so a group kill would miss it)."""
    root = psutil.Process(pid)
    tree = [root, *root.children(recursive=True)]
    for member in tree:
        member.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=10)
    return len(tree)


def crash_run(settings: Settings, twilio: TimedTwilio, count: int, offset: int) -> str:
    """Kill the worker after a third of the batch, start another, time the recovery."""
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body="Crash bench", numbers=numbers(count, offset))
        batch_id = intake.submit(session, validation, created_by="bench", confirmed=True).id
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    enqueue_send(redis_connection(settings), batch_id)
    first = subprocess.Popen([sys.executable, "-m", "jobs.worker"], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(twilio.messages) < count // 3:
        time.sleep(0.01)
    killed = kill_tree(first.pid)
    killed_at = time.perf_counter()
    with session_scope(settings.database_url) as session:
        orphaned = session.query(Recipient).filter_by(batch_id=batch_id, status="sending").count()
    lists_before = _lookups(twilio)
    second = subprocess.Popen([sys.executable, "-m", "jobs.worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        with session_scope(settings.database_url) as session:
            if session.get(Batch, batch_id).status in FINISHED:
                break
        time.sleep(0.1)
    took = time.perf_counter() - killed_at
    lists = _lookups(twilio) - lists_before
    kill_tree(second.pid)
    duplicates = sum(1 for n in numbers(count, offset) if twilio.sent_to(n) != 1)
    per_claim = f"{lists / orphaned:.2f}" if orphaned else "n/a"
    return (f"crash: killed {killed} processes after {count // 3} of {count} sends, {orphaned} claims orphaned; "
            f"finished {took:.1f} s after the kill; Twilio list calls {lists} ({per_claim} per orphaned claim); "
            f"not exactly once: {duplicates}")


def _lookups(twilio: TimedTwilio) -> int:
    """Message-list pages asked for one number (`To`): recovery's look-ups, not the delivery poller's."""
    return sum(1 for r in twilio.requests if r.method == "GET" and r.path.endswith("/Messages.json")
               and "To" in r.query)


def busiest_second(arrivals: list[float]) -> int:
    """Most arrivals in any half-open one-second window."""
    arrivals = sorted(arrivals)
    return max((bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals)), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="stand-in latency per send (s)")
    parser.add_argument("--sizes", default="250,10000")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per batch")
    parser.add_argument("--concurrency", type=int, help="MULTI_SMS_CONCURRENCY (default: the product's default)")
    parser.add_argument("--mps", type=float, default=10, help="cap for the rate run (0 to skip)")
    parser.add_argument("--mps-count", type=int, default=250)
    parser.add_argument("--baseline-sample", type=int, default=250,
                        help="sequential sends measured; larger sizes are extrapolated from it")
    parser.add_argument("--crash-count", type=int, default=250, help="batch size of the crash run (0 to skip)")
    parser.add_argument("--crash-queue", type=float, default=45,
                        help="seconds Twilio's queue holds each accepted message in the crash run")
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-send-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    twilio = TimedTwilio(latency=args.latency).start()
    base_env = {
        "DATABASE_URL": database_url, "REDIS_URL": args.redis_url,
        "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_BASE_URL": twilio.base_url, "TWILIO_DEFAULT_FROM": SENDER,
        "MULTI_SMS_MAX_RECIPIENTS": "100000", "MULTI_SMS_MPS": "1000000",
    }
    if args.concurrency:
        base_env["MULTI_SMS_CONCURRENCY"] = str(args.concurrency)
    settings = configure(base_env)
    redis_connection(settings).flushdb()
    migrate(settings.database_url)
    print(f"# send_throughput  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  "
          f"python {platform.python_version()}  db={settings.database_url.split(':')[0]}  "
          f"latency={args.latency * 1000:.0f} ms  concurrency={settings.multi_sms_concurrency}  "
          f"workers={args.workers}")

    baseline = sequential_baseline(settings, args.baseline_sample)
    per_message = baseline / args.baseline_sample
    print(f"sequential loop: {args.baseline_sample} sends in {baseline:.1f} s ({1 / per_message:.1f} msg/s)")
    print(f"{'recipients':>10} {'wall s':>8} {'msg/s':>8} {'sequential s':>13} {'ratio':>7} {'peak RSS MB':>12}")
    offset = 0
    for size in (int(s) for s in args.sizes.split(",")):
        twilio.reset()
        elapsed, peaks = run_batch(settings, size, offset, args.workers)
        offset += size
        sequential = per_message * size
        marker = "" if size == args.baseline_sample else "*"
        duplicates = sum(1 for n in numbers(size, offset - size) if twilio.sent_to(n) != 1)
        print(f"{size:>10} {elapsed:>8.1f} {size / elapsed:>8.1f} {sequential:>12.1f}{marker} "
              f"{sequential / elapsed:>6.1f}x {max(peaks) / 2**20:>12.0f}   (not exactly once: {duplicates})")
    print("* extrapolated from the measured sequential sample")

    if args.mps:
        settings = configure({**base_env, "MULTI_SMS_MPS": str(args.mps)})
        redis_connection(settings).flushdb()
        twilio.reset()
        twilio.arrivals.clear()
        elapsed, _ = run_batch(settings, args.mps_count, offset, args.workers)
        arrivals = sorted(twilio.arrivals)
        achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        print(f"cap {args.mps:g}/s, {args.mps_count} sends: achieved {achieved:.2f}/s "
              f"({(achieved / args.mps - 1) * 100:+.1f}% of cap), "
              f"busiest one-second window {busiest_second(arrivals)}, "
              f"wall {elapsed:.1f} s")
        offset += args.mps_count

    if args.crash_count:
        settings = configure({**base_env, "WORKER_HEARTBEAT_SECONDS": "10", "RECOVERY_INTERVAL_SECONDS": "10"})
        redis_connection(settings).flushdb()
        twilio.reset()
        twilio.queue_seconds = args.crash_queue
        print(crash_run(settings, twilio, args.crash_count, offset))
    twilio.stop()


if __name__ == "__main__":
    threading.excepthook = lambda exc: None
    main()
