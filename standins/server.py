"""Shared base for the local provider stand-ins (Twilio, Slack, OpenAI).

Why: tests point the REAL SDKs at a real HTTP server on 127.0.0.1 instead of
mocking them, so wire format, auth headers, retries, timeouts and error
parsing are exercised exactly as in production.  Stdlib only.

A stand-in subclasses ``StandIn`` and implements ``handle(req) -> Response``.
The base owns the server thread, the per-connection worker threads, request
recording, body parsing, "next n requests" fault counters and an
interruptible sleep, so ``stop()`` never waits for a hung request.
"""
from __future__ import annotations

import json
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def parse_pairs(pairs) -> dict:
    """(key, value) pairs -> dict; a repeated key becomes a list (e.g. MediaUrl)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


@dataclass
class Request:
    """One received HTTP request, as recorded and handed to ``handle``."""

    method: str
    path: str  # without the query string
    query: dict
    headers: dict  # header names lower-cased
    body: bytes = b""
    form: dict = field(default_factory=dict)  # form-urlencoded body
    json: Any = None  # JSON body

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def params(self) -> dict:
        """Query + form + JSON object body merged (later wins)."""
        merged = dict(self.query)
        merged.update(self.form)
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "query": self.query,
                "form": self.form, "json": self.json, "headers": self.headers}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    chunks: Iterator[bytes] | None = None  # set: sent chunked instead of `body`, one write per chunk


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json", dict(headers or {}))


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8",
                  headers: dict | None = None) -> Response:
    return Response(status, text.encode(), content_type, dict(headers or {}))


def parse_body(headers: dict, body: bytes) -> tuple[dict, Any]:
    """Return (form, json) according to Content-Type; unknown types stay raw."""
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if not body:
        return {}, None
    if ctype == "application/x-www-form-urlencoded":
        try:
            return parse_pairs(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), None
        except UnicodeDecodeError:  # raw bytes sent with urllib's default type (a file upload)
            return {}, None
    if ctype.endswith("json"):
        try:
            return {}, json.loads(body)
        except ValueError:
            return {}, None
    return {}, None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs
    server_version = "StandIn/1.0"
    timeout = 30  # bound on an idle keep-alive connection

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        standin: StandIn = self.server.standin  # type: ignore[attr-defined]
        body = self._read_body()
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        form, parsed = parse_body(headers, body)
        req = Request(self.command, url.path, parse_pairs(parse_qsl(url.query, keep_blank_values=True)),
                      headers, body, form, parsed)
        try:
            standin.record(req)
            resp = standin.handle(req)
        except Exception:  # a stand-in bug must be visible, not a hang
            standin.errors.append(traceback.format_exc())
            resp = json_response({"error": "stand-in crashed, see .errors"}, 500)
        if standin.stopping:  # woken from a hang/latency by stop(): drop, don't answer
            self.close_connection = True
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        if resp.chunks is None:
            self.send_header("Content-Length", str(len(resp.body)))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        for name, value in resp.headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command == "HEAD":
            return
        if resp.chunks is None:
            self.wfile.write(resp.body)
        else:
            self._write_chunks(resp.chunks, standin)

    def _write_chunks(self, chunks: Iterator[bytes], standin: StandIn) -> None:
        """Stream as the body is produced; a client that hangs up ends it (the generator sees close())."""
        try:
            for chunk in chunks:
                if standin.stopping:
                    self.close_connection = True
                    return
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # we join our own workers, with a deadline
    request_queue_size = 256  # ~50 concurrent SDK clients must not see refusals

    def __init__(self, standin: StandIn):
        self.standin = standin
        self.conns: set = set()
        self.workers: set = set()
        self.track = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address) -> None:
        # Headers and body leave in two writes; without TCP_NODELAY the body waits for the client's
        # delayed ACK (~40 ms on Linux), a stall real providers' servers do not add.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name = f"standin-{type(self.standin).__name__}-worker"
        t = threading.Thread(target=self._work, args=(request, client_address), name=name, daemon=True)
        with self.track:
            self.conns.add(request)
            self.workers.add(t)
        t.start()

    def _work(self, request, client_address) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.track:
                self.conns.discard(request)
                self.workers.discard(threading.current_thread())

    def handle_error(self, request, client_address) -> None:
        # Clients that time out and hang up are expected; anything else is a bug.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            self.standin.errors.append(traceback.format_exc())


class StandIn:
    """Base class: HTTP server on 127.0.0.1:<free port> served by a daemon thread."""

    def __init__(self, latency: float = 0.0):
        self.latency = float(latency)  # seconds; each subclass decides where it applies
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.errors: list[str] = []  # tracebacks of stand-in bugs; fixtures assert it is empty
        self._faults: dict[str, list] = {}
        self.observed: Counter = Counter()
        """Faults that actually happened (consumed by a request), by name: what a report may claim."""
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> StandIn:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"standin-{type(self).__name__}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, wake sleeping handlers, drop keep-alive connections, join threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with server.track:
            conns, workers = list(server.conns), list(server.workers)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t in workers + [self._thread]:
            t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (subclasses may append an API prefix)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- helpers for subclasses ---------------------------------------------
    def handle(self, req: Request) -> Response:
        return json_response({"error": "not found"}, 404)

    def record(self, req: Request) -> None:
        with self.lock:
            self.requests.append(req)

    def sleep(self, seconds: float) -> None:
        """Bounded wait that returns at once when the stand-in is stopped."""
        if seconds and seconds > 0:
            self._stopping.wait(seconds)

    def arm(self, name: str, n: int, **info) -> None:
        """Queue ``n`` one-shot faults called ``name`` (thread-safe)."""
        with self.lock:
            self._faults.setdefault(name, []).extend([info] * int(n))

    def take(self, name: str) -> dict | None:
        """Consume one armed fault (counted in `observed`); None when none is left."""
        with self.lock:
            queue = self._faults.get(name)
            if not queue:
                return None
            self.observed[name] += 1
            return queue.pop(0)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.errors.clear()
            self._faults.clear()
            self.observed.clear()
