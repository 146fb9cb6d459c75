"""Inbound SMS → AI answer sent: end-to-end latency with a model of fixed latency.

gunicorn (`webhooks.app:create_app()`) and one real worker (`python -m jobs.worker`) run as in
the Procfile, on a temporary migrated SQLite database and Redis db 15, with AUTO_REPLY_MODE=ai.
The OpenAI, Twilio and Slack stand-ins run in this process; the OpenAI one answers every call
after `--model-ms` (embeddings and chat alike). A knowledge base of `--documents` documents is
indexed first. Then `--questions` signed inbound texts, each from a new number, one at a time:
latency runs from sending the webhook to the answer SMS reaching the Twilio stand-in.

Baseline in the same run: what the stand-in itself costs per answer, measured as one question
embedding plus one chat completion through the same SDKs (the floor any answer pays).

Two workers are measured one after the other: `python -m jobs.worker` as in the Procfile, and the
same worker after importing the job modules and `jobs.knowledge.preload()` (RQ forks a work-horse
per job, so whatever the parent has not loaded is loaded again by every job).

    .venv/bin/python bench/ai_reply.py --questions 30 --model-ms 300
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from redis import Redis  # noqa: E402

from bench.common import free_port, percentile, start_gunicorn  # noqa: E402
from multisms import knowledge  # noqa: E402
from multisms.config import Settings  # noqa: E402
from multisms.db import migrate, session_scope  # noqa: E402
from standins.openai_api import OpenAIStandIn  # noqa: E402
from standins.signing import sign  # noqa: E402
from standins.slack_api import SlackStandIn  # noqa: E402
from standins.twilio_api import TwilioStandIn  # noqa: E402

TOPICS = ["parking", "refunds", "opening hours", "delivery", "payment", "tickets", "luggage", "pets", "wifi",
          "breakfast", "accessibility", "cancellations", "invoices", "gift cards", "lost property", "groups",
          "children", "smoking", "check-in", "contact"]


def model(request: dict) -> str:
    return "Yes: parking is free for guests at the main entrance." if "parking" in str(request) else "NO_ANSWER"


def seed(settings: Settings, documents: int) -> None:
    from knowledge.index import ensure_current

    with session_scope(settings.database_url) as session:
        for i in range(documents):
            topic = TOPICS[i % len(TOPICS)]
            text = f"About {topic}: guests often ask about {topic}. " * 3
            if topic == "parking":
                text += "Parking is free for guests at the main entrance."
            knowledge.save_document(session, title=f"{topic} {i}", text=text, source="folder",
                                         source_ref=f"{i}.md", created_by="bench")
    ensure_current(settings)


def baseline(settings: Settings, count: int) -> list[float]:
    """One query embedding + one chat completion, straight through the SDKs, per 'answer'."""
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

    embedder = OpenAIEmbeddings(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                                model=settings.openai_embedding_model, check_embedding_ctx_length=False)
    chat = ChatOpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key, model=settings.openai_model)
    out = []
    for _ in range(count):
        started = time.perf_counter()
        embedder.embed_query("Is parking free for guests?")
        chat.invoke("Is parking free for guests?")
        out.append((time.perf_counter() - started) * 1000)
    return out


def ask(url: str, auth: str, twilio: TwilioStandIn, number: str, timeout: float = 30) -> float | None:
    form = {"MessageSid": f"SM{int(time.time() * 1e6):032d}"[-34:], "AccountSid": twilio.account_sid,
            "From": number, "To": "+15005550006", "Body": "Is parking free for guests?", "NumMedia": "0"}
    started = time.perf_counter()
    requests.post(url, data=form, headers={"X-Twilio-Signature": sign(auth, url, form)}, timeout=10)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if twilio.sent_to(number):
            return (time.perf_counter() - started) * 1000
        time.sleep(0.002)
    return None


WORKERS = {
    "Procfile worker": "from jobs.worker import main; main()",
    "jobs preloaded": "import jobs.inbound, jobs.knowledge as k; k.preload(); "
                      "from jobs.worker import main; main()",
}


def row(label: str, values: list[float], note: str = "") -> None:
    print(f"{label:40} {percentile(values, 50):>8.0f} {percentile(values, 99):>8.0f} {max(values):>8.0f}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--model-ms", type=float, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-ai-"))
    openai_api = OpenAIStandIn(reply=model, latency=args.model_ms / 1000)
    twilio, slack = TwilioStandIn(), SlackStandIn()
    for standin in (openai_api, twilio, slack):
        standin.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}", "REDIS_URL": args.redis_url, "PUBLIC_BASE_URL": base,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
           "TWILIO_API_BASE_URL": twilio.base_url, "TWILIO_DEFAULT_FROM": "+15005550006",
           "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-secret", "SLACK_API_URL": slack.api_url,
           "SLACK_INBOX_CHANNEL": "CINBOX", "AUTO_REPLY_MODE": "ai", "OPENAI_API_KEY": "sk-bench",
           "OPENAI_BASE_URL": openai_api.base_url, "KNOWLEDGE_DIR": str(workdir / "knowledge"),
           "AI_MAX_REPLIES": "1000", "LOG_LEVEL": "WARNING"}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    migrate(settings.database_url)
    Redis.from_url(args.redis_url).flushdb()
    seed(settings, args.documents)
    web = start_gunicorn(port, env, workdir)
    print(f"# ai_reply  {time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  "
          f"Python {platform.python_version()}  SQLite  model stand-in {args.model_ms:g} ms per call  "
          f"{args.documents} documents")
    try:
        url = f"{base}/twilio/inbound"
        floor = baseline(settings, args.questions)
        print(f"{'':40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        row("stand-in only (embed + chat)", floor)
        for label, command in WORKERS.items():
            worker = subprocess.Popen([sys.executable, "-c", command], cwd=workdir,
                                      env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                                      stdout=(workdir / "worker.log").open("a"), stderr=subprocess.STDOUT)
            try:
                for i in range(3):  # warm-up: worker start
                    ask(url, twilio.auth_token, twilio, f"+4860{len(label)}{i:06d}", timeout=60)
                latencies = [ask(url, twilio.auth_token, twilio, f"+4861{len(label)}{i:06d}")
                             for i in range(args.questions)]
            finally:
                worker.terminate()
                worker.wait(timeout=10)
            answered = [took for took in latencies if took is not None]
            row(f"SMS → answer sent, {label}", answered, f"   ({len(answered)} answered, "
                f"{len(latencies) - len(answered)} lost; p50 − stand-in: "
                f"{percentile(answered, 50) - percentile(floor, 50):.0f} ms)")
    finally:
        web.terminate()
        web.wait(timeout=10)
        for standin in (openai_api, twilio, slack):
            standin.stop()


if __name__ == "__main__":
    main()
