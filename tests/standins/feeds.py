"""Local news-feed server on 127.0.0.1: RSS 2.0, Atom, broken documents, slow and huge feeds, redirects.

Why: feed fetching is proven over real sockets (timeouts, chunked streaming, a client hanging
up mid-body), not against a mocked HTTP library. Items can be added between two fetches, and
every streamed body records how much of it was actually sent.

Paths: /rss.xml, /atom.xml (the same items), /broken.xml (not well-formed), /page.html,
/slow.xml (answers after `slow_seconds`), /drip.xml (a few bytes every `drip_interval`),
/big.xml (`big_bytes`, streamed), /bomb.xml (small gzip, `bomb_bytes` unpacked),
/redirect?to=<url>[&status=30x], /hops/<n> (n redirects in all, then the RSS feed), and any
document a test puts up with `publish(path, body)`. Given an `ssl.SSLContext` it serves HTTPS
and notes the server name (SNI) each client asked for.
"""
from __future__ import annotations

import gzip
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from .server import Request, Response, StandIn, text_response

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
CEST = timezone(timedelta(hours=2))


@dataclass
class Stream:
    """One streamed body: how much was planned, how much went out, whether it reached the end."""

    path: str
    planned: int
    sent: int = 0
    finished: bool = False
    ended: threading.Event = field(default_factory=threading.Event)


class FeedStandIn(StandIn):
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.tls = tls
        self.server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self.title = "Riverside News"
        self.items: list[dict] = []
        self.slow_seconds = 30.0
        self.drip_interval = 0.2
        self.big_bytes = 50_000_000
        self.bomb_bytes = 20_000_000
        self.streams: list[Stream] = []
        self.documents: dict[str, tuple[bytes, str]] = {}
        self._bomb: bytes | None = None
        self.add_item("Council approves new bike lanes", guid="urn:riverside:1", link="/news/1",
                      published=datetime(2024, 5, 1, 10, 0, tzinfo=CEST),
                      summary="<p>The vote was <b>7 to 2</b>.</p><script>track()</script><p>Work starts in June.</p>")
        self.add_item("Library opens on Sundays", link="/news/2", published=datetime(2024, 5, 2, 9, 30, tzinfo=CEST),
                      summary="From next week, 10:00&ndash;16:00.")

    def add_item(self, title: str, *, guid: str | None = None, link: str | None = None,
                 published: datetime | None = None, summary: str = "") -> dict:
        """Add an item at the top, as a newsroom does; `link` is a path on this server."""
        item = {"title": title, "guid": guid, "link": link, "published": published, "summary": summary}
        with self.lock:
            self.items.insert(0, item)
        return item

    def start(self) -> FeedStandIn:
        fresh = self._server is None
        super().start()
        if fresh and self.tls is not None:  # same file descriptor: the serving thread now accepts TLS
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        return self

    def publish(self, path: str, body: str | bytes, content_type: str = RSS_TYPE) -> str:
        """Serve `body` at `path` as it is; returns its URL."""
        with self.lock:
            self.documents[path] = (body.encode() if isinstance(body, str) else body, content_type)
        return self.root_url + path

    # -- documents ---------------------------------------------------------
    def rss(self) -> str:
        entries = "".join(self._rss_item(item) for item in list(self.items))
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(self.title)}'
                f"</title><link>{self.root_url}/</link><description>Local news</description>{entries}</channel></rss>")

    def _rss_item(self, item: dict) -> str:
        parts = [f"<title>{escape(item['title'])}</title>"]
        if item["link"]:
            parts.append(f"<link>{escape(self.root_url + item['link'])}</link>")
        if item["guid"]:
            parts.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        if item["published"]:
            parts.append(f"<pubDate>{format_datetime(item['published'])}</pubDate>")
        parts.append(f"<description>{escape(item['summary'])}</description>")
        return "<item>" + "".join(parts) + "</item>"

    def atom(self) -> str:
        entries = "".join(self._atom_entry(item) for item in list(self.items))
        return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>{escape(self.title)}</title><id>{self.root_url}/</id>"
                f"<updated>2024-05-02T09:30:00+02:00</updated>{entries}</feed>")

    def _atom_entry(self, item: dict) -> str:
        parts = [f'<title type="text">{escape(item["title"])}</title>']
        if item["guid"] or item["link"]:
            parts.append(f"<id>{escape(item['guid'] or self.root_url + item['link'])}</id>")
        if item["link"]:  # relative on purpose: the reader resolves it against the feed's address
            parts.append(f"<link rel=\"alternate\" href={quoteattr(item['link'])}/>")
        if item["published"]:
            parts.append(f"<updated>{item['published'].isoformat()}</updated>")
        parts.append(f'<summary type="html">{escape(item["summary"])}</summary>')
        return "<entry>" + "".join(parts) + "</entry>"

    # -- serving -------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        path = req.path
        if path in self.documents:
            body, content_type = self.documents[path]
            return Response(200, body, content_type)
        if path == "/rss.xml":
            return text_response(self.rss(), content_type=RSS_TYPE)
        if path == "/atom.xml":
            return text_response(self.atom(), content_type=ATOM_TYPE)
        if path == "/broken.xml":
            return text_response('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Broken</title>\n'
                                 "<item><title>Half an item</item></channel></rss>", content_type=RSS_TYPE)
        if path == "/page.html":
            return text_response("<!DOCTYPE html><html><head><title>Riverside News</title></head>"
                                 "<body><h1>Welcome</h1></body></html>", content_type="text/html; charset=utf-8")
        if path == "/slow.xml":
            body = self.rss()
            self.sleep(self.slow_seconds)
            return text_response(body, content_type=RSS_TYPE)
        if path == "/drip.xml":
            return Response(200, content_type=RSS_TYPE, chunks=self._drip())
        if path == "/big.xml":
            return Response(200, content_type=RSS_TYPE, chunks=self._big(path))
        if path == "/bomb.xml":
            return Response(200, self.bomb_body(), RSS_TYPE, {"Content-Encoding": "gzip"})
        if path == "/redirect":
            status = int(req.query.get("status", 302))
            return Response(status, b"", "text/plain", {"Location": req.query["to"]})
        if path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            return Response(301, b"", "text/plain", {"Location": f"/hops/{left - 1}" if left > 1 else "/rss.xml"})
        return text_response("Not found", 404)

    def _drip(self):
        for piece in self.rss().encode().split(b">"):
            self.sleep(self.drip_interval)
            yield piece + b">"

    def _big(self, path: str):
        stream = Stream(path, self.big_bytes)
        with self.lock:
            self.streams.append(stream)
        head = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.title}</title>'.encode()
        filler = b"<item><title>Filler</title><description>" + b"x" * 900 + b"</description></item>"
        chunk = filler * (64 * 1024 // len(filler))
        try:
            yield head
            stream.sent = len(head)
            while stream.sent < stream.planned:
                yield chunk
                stream.sent += len(chunk)
            stream.finished = True
        finally:
            stream.ended.set()

    def bomb_body(self) -> bytes:
        """A valid feed padded with spaces: tiny when gzipped, `bomb_bytes` when unpacked."""
        if self._bomb is None:
            padding = b" " * self.bomb_bytes
            self._bomb = gzip.compress(self.rss().encode().replace(b"<channel>", b"<channel>" + padding, 1), 9)
        return self._bomb
