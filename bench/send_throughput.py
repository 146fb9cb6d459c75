"""How fast a batch goes out, against a plain sequential loop measured in the same run.

The Twilio stand-in runs in a process of its own (`python -m standins twilio`) with injected
latency; real worker processes (`python -m jobs.worker`) are started and registered before any
batch is queued, on real Redis and the database given. Every time is one window: from the batch
being queued to its last send the stand-in accepted (its clock). For each worker count and size:
wall s, msg/s, the sequential baseline and the ratio, the CPU seconds of each worker (its
work-horses included) and of the stand-in, peak RSS per worker, and whether every recipient
was reached exactly once. Then, with an MPS cap, two workers sharing one sender: every
one-second window and the mean against the cap. Then a crash run: a worker SIGKILLed (whole
tree) in the middle of a batch while Twilio's queue holds every accepted message longer than
recovery takes; seconds from the kill to the finished batch, and look-ups per orphaned claim.

    .venv/bin/python bench/send_throughput.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/send_throughput.py --sizes 250 --workers 1 --mps 0 --crash-count 0   # quick
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests
from redis import Redis
from rq import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database, kill_tree, start_standin  # noqa: E402
from multisms import intake  # noqa: E402
from multisms.config import Settings, get_settings  # noqa: E402
from multisms.db import session_scope  # noqa: E402
from multisms.gateway import TwilioGateway  # noqa: E402
from multisms.models import Batch, Recipient  # noqa: E402
from multisms.queues import enqueue_send, redis_connection  # noqa: E402

FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}
SENDER = "+15005550006"


def numbers(count: int, offset: int) -> list[str]:
    return [f"+48{600000000 + offset + i}" for i in range(count)]


def configure(env: dict) -> Settings:
    os.environ.update(env)
    get_settings.cache_clear()
    return get_settings()


class Workers:
    """N `python -m jobs.worker` processes, registered in Redis before anything is queued."""

    def __init__(self, count: int, workdir: Path, tag: str):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.processes = [subprocess.Popen([sys.executable, "-m", "jobs.worker", "--name", f"bench-{tag}-{i}"],
                                           env=env, cwd=ROOT, stdout=(workdir / f"worker-{tag}-{i}.log").open("w"),
                                           stderr=subprocess.STDOUT) for i in range(count)]
        connection = redis_connection(get_settings())
        deadline = time.monotonic() + 60
        while Worker.count(connection=connection) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        self.peaks = [0] * count

    def cpu(self) -> list[float]:
        """CPU seconds of each worker so far, its reaped work-horses included."""
        return [_cpu(psutil.Process(p.pid), children=True) for p in self.processes]

    def sample_rss(self) -> None:
        for i, process in enumerate(self.processes):
            try:
                tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
                self.peaks[i] = max(self.peaks[i], *(member.memory_info().rss for member in tree))
            except psutil.NoSuchProcess:
                pass

    def stop(self) -> None:
        for process in self.processes:
            kill_tree(process.pid)


def _cpu(process: psutil.Process, *, children: bool = False) -> float:
    times = process.cpu_times()
    return times.user + times.system + ((times.children_user + times.children_system) if children else 0.0)


def stats(url: str) -> dict:
    return requests.get(f"{url}/_standin/stats", timeout=30).json()


def queue_batch(settings: Settings, count: int, offset: int, body: str = "Bench message") -> int:
    with session_scope(settings.database_url) as session:
        validation = intake.check(session, settings, body=body, numbers=numbers(count, offset))
        return intake.submit(session, validation, created_by="bench", confirmed=True).id


def wait_finished(settings: Settings, batch_id: int, workers: Workers | None = None, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if workers:
            workers.sample_rss()
        with session_scope(settings.database_url) as session:
            if session.get(Batch, batch_id).status in FINISHED:
                return
        time.sleep(0.1)
    raise SystemExit(f"batch {batch_id} did not finish in {timeout:.0f} s")


def timed_batch(settings: Settings, standin: dict, standin_pid: int, workers: Workers, count: int,
                offset: int) -> dict:
    """One batch: the window from queueing it to its last accepted send, CPU per process, exactly-once."""
    batch_id = queue_batch(settings, count, offset)
    cpu_before, standin_before = workers.cpu(), _cpu(psutil.Process(standin_pid))
    queued_at = time.time()
    enqueue_send(redis_connection(settings), batch_id)
    wait_finished(settings, batch_id, workers)
    time.sleep(0.3)  # work-horses exit and are reaped: their CPU time moves to the worker
    wanted = set(numbers(count, offset))
    accepted = [(to, at) for to, at in stats(standin["url"])["accepted"] if to in wanted]
    per_number: dict[str, int] = {}
    for to, _ in accepted:
        per_number[to] = per_number.get(to, 0) + 1
    return {"wall": max(at for _, at in accepted) - queued_at,
            "cpu": [after - before for after, before in zip(workers.cpu(), cpu_before, strict=True)],
            "standin_cpu": _cpu(psutil.Process(standin_pid)) - standin_before,
            "not_once": sum(1 for number in wanted if per_number.get(number) != 1)}


def busiest_second(arrivals: list[float]) -> int:
    """Most arrivals in any half-open one-second window."""
    arrivals = sorted(arrivals)
    return max((bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals)), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="stand-in latency per send (s)")
    parser.add_argument("--sizes", default="250,10000")
    parser.add_argument("--workers", default="1,2", help="worker processes to compare, e.g. 1,2")
    parser.add_argument("--concurrency", type=int, help="MULTI_SMS_CONCURRENCY (default: the product's default)")
    parser.add_argument("--mps", type=float, default=10, help="cap for the rate run (0 to skip)")
    parser.add_argument("--mps-count", type=int, default=250)
    parser.add_argument("--baseline-sample", type=int, default=250,
                        help="sequential sends measured; larger sizes are extrapolated from it")
    parser.add_argument("--crash-count", type=int, default=250, help="batch size of the crash run (0 to skip)")
    parser.add_argument("--crash-queue", type=float, default=45,
                        help="seconds Twilio's queue holds each accepted message in the crash run")
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-send-"))
    database_url = fresh_database(args.database_url or f"sqlite:///{workdir / 'bench.db'}")
    process, standin = start_standin("twilio", workdir, "--latency", str(args.latency))
    base_env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "TWILIO_ACCOUNT_SID": standin["account_sid"],
                "TWILIO_AUTH_TOKEN": standin["auth_token"], "TWILIO_API_BASE_URL": standin["url"],
                "TWILIO_DEFAULT_FROM": SENDER, "MULTI_SMS_MAX_RECIPIENTS": "100000", "MULTI_SMS_MPS": "1000000",
                "PUBLIC_BASE_URL": "http://127.0.0.1:9"}  # callbacks configured: the poller stays out of the way
    if args.concurrency:
        base_env["MULTI_SMS_CONCURRENCY"] = str(args.concurrency)
    settings = configure(base_env)
    Redis.from_url(args.redis_url).flushdb()
    print(f"# send_throughput  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  "
          f"python {platform.python_version()}  db={database_url.split(':')[0].split('+')[0]}  "
          f"latency={args.latency * 1000:.0f} ms  concurrency={settings.multi_sms_concurrency} per worker  "
          f"MULTI_SMS_MAX_RECIPIENTS=100000  stand-in in its own process")
    try:
        gateway = TwilioGateway(settings)
        started = time.perf_counter()
        for number in numbers(args.baseline_sample, 900_000):
            gateway.send(to=number, body="baseline", sender=SENDER)
        per_message = (time.perf_counter() - started) / args.baseline_sample
        print(f"sequential loop: {args.baseline_sample} sends in {per_message * args.baseline_sample:.1f} s "
              f"({1 / per_message:.1f} msg/s)")
        print(f"{'workers':>7} {'recipients':>10} {'wall s':>7} {'msg/s':>7} {'sequential s':>12} {'ratio':>7} "
              f"{'CPU s per worker':>18} {'stand-in CPU s':>14} {'peak RSS MB':>11}  exactly once")
        offset = 0
        for count in (int(w) for w in args.workers.split(",")):
            workers = Workers(count, workdir, f"w{count}")
            try:
                for size in (int(s) for s in args.sizes.split(",")):
                    result = timed_batch(settings, standin, process.pid, workers, size, offset)
                    offset += size
                    sequential = per_message * size
                    marker = "" if size == args.baseline_sample else "*"
                    print(f"{count:>7} {size:>10} {result['wall']:>7.1f} {size / result['wall']:>7.1f} "
                          f"{sequential:>11.1f}{marker} {sequential / result['wall']:>6.1f}x "
                          f"{' + '.join(f'{c:.1f}' for c in result['cpu']):>18} {result['standin_cpu']:>14.1f} "
                          f"{max(workers.peaks) / 2**20:>11.0f}  {'yes' if not result['not_once'] else 'NO: '}"
                          f"{result['not_once'] or ''}")
            finally:
                workers.stop()
        print("* extrapolated from the measured sequential sample")
        if args.mps:
            offset += mps_run(args, base_env, standin, workdir, offset)
        if args.crash_count:
            crash_run(args, base_env, workdir, offset)
    finally:
        kill_tree(process.pid)


def mps_run(args, base_env: dict, standin: dict, workdir: Path, offset: int) -> int:
    """Two workers, one sender capped at `--mps`: the busiest second and the mean against the cap.

    Two batches from the same sender are queued together, so each worker runs one and the cap
    is shared through the pacer (one batch under CHUNK recipients is one run, on one worker).
    """
    settings = configure({**base_env, "MULTI_SMS_MPS": str(args.mps)})
    Redis.from_url(args.redis_url).flushdb()
    workers = Workers(2, workdir, "mps")
    half = args.mps_count // 2
    try:
        batch_ids = [queue_batch(settings, half, offset), queue_batch(settings, args.mps_count - half, offset + half)]
        queued_at = time.time()
        for batch_id in batch_ids:
            enqueue_send(redis_connection(settings), batch_id)
        for batch_id in batch_ids:
            wait_finished(settings, batch_id)
    finally:
        workers.stop()
    arrivals = sorted(at for at in stats(standin["url"])["arrivals"] if at >= queued_at)
    (workdir / "mps-arrivals.json").write_text(json.dumps(arrivals))
    mean = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    with session_scope(settings.database_url) as session:
        runs = session.query(Recipient.claimed_by).filter(Recipient.batch_id.in_(batch_ids)).distinct().count()
    print(f"cap {args.mps:g}/s, {args.mps_count} sends in 2 batches from one sender, {runs} runs on 2 workers: "
          f"busiest one-second window {busiest_second(arrivals)} (cap {args.mps:g}), "
          f"mean {mean:.2f}/s = {mean / args.mps:.3f} x cap")
    return args.mps_count


def crash_run(args, base_env: dict, workdir: Path, offset: int) -> None:
    """Kill the worker after a third of the batch, start another, time the recovery."""
    process, standin = start_standin("twilio", workdir, "--latency", str(args.latency), "--queue-seconds",
                                     str(args.crash_queue))
    settings = configure({**base_env, "TWILIO_API_BASE_URL": standin["url"],
                          "TWILIO_ACCOUNT_SID": standin["account_sid"], "TWILIO_AUTH_TOKEN": standin["auth_token"],
                          "WORKER_HEARTBEAT_SECONDS": "10", "RECOVERY_INTERVAL_SECONDS": "10"})
    Redis.from_url(args.redis_url).flushdb()
    try:
        batch_id = queue_batch(settings, args.crash_count, offset, body="Crash bench")
        first = Workers(1, workdir, "crash1")
        enqueue_send(redis_connection(settings), batch_id)
        while len(stats(standin["url"])["accepted"]) < args.crash_count // 3:
            time.sleep(0.02)
        killed = kill_tree(first.processes[0].pid)
        killed_at = time.perf_counter()
        with session_scope(settings.database_url) as session:
            orphaned = session.query(Recipient).filter_by(batch_id=batch_id, status="sending").count()
        lookups_before = stats(standin["url"])["lookups"]
        second = Workers(1, workdir, "crash2")
        wait_finished(settings, batch_id)
        took = time.perf_counter() - killed_at
        second.stop()
        seen = stats(standin["url"])
        counts: dict[str, int] = {}
        for to, _ in seen["accepted"]:
            counts[to] = counts.get(to, 0) + 1
        duplicates = sum(1 for n in numbers(args.crash_count, offset) if counts.get(n) != 1)
        lookups = seen["lookups"] - lookups_before
        per_claim = f"{lookups / orphaned:.2f}" if orphaned else "n/a"
        print(f"crash: killed {killed} processes after {args.crash_count // 3} of {args.crash_count} sends, "
              f"{orphaned} claims orphaned; finished {took:.1f} s after the kill; Twilio list calls {lookups} "
              f"({per_claim} per orphaned claim); not exactly once: {duplicates}")
    finally:
        kill_tree(process.pid)


if __name__ == "__main__":
    main()
