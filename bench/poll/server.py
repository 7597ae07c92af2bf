"""The poll benchmark's web: many sites on many loopback addresses, started by run.py as its own
process (so serving uses the other core, not the fetcher's).

Site ``k`` listens on ``address(k)``: 127.0.0.2 .. 127.0.0.250 for the first 249 sites, then
127.0.1.2 .. 127.0.1.250 and so on (all of 127.0.0.0/8 is loopback on Linux), and serves ``/feed/<n>.xml`` for its feeds and, on full-text
sites, ``/article/<n>/<i>.html`` for their items. Every response has an ETag and Last-Modified and
the server answers 304 to a matching If-None-Match or If-Modified-Since, as a real site does.
Bodies are built once from the real Fars News articles (with their ZWNJ) in tests/data/fars-news.

Prints one JSON line ``{"ports": {"127.0.0.2": 41234, ...}}`` when every site listens, then serves
until stdin closes. ``GET /_stats`` on any site returns the request counts as JSON.
"""

from __future__ import annotations

import argparse
import ast
import json
import selectors
import sys
import threading
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# The repository's own copy of the Fars News articles (the same bytes as the shared data set), so
# the bench runs from any checkout, wherever it sits.
FARS = Path(__file__).resolve().parents[2] / "tests" / "data" / "fars-news"
BASE = datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc)
LAST_MODIFIED = "Thu, 08 Jan 2026 09:00:00 GMT"


def articles() -> list[dict]:
    found = sorted(FARS.glob("fars-news-*.json"))
    rows = [row for path in found for row in json.loads(path.read_text(encoding="utf-8"))]
    if not rows:
        raise SystemExit(f"no Fars News articles under {FARS}")
    return rows


def paragraphs(row: dict) -> list[str]:
    try:
        value = ast.literal_eval(row["paragraphs"]) if isinstance(row["paragraphs"], str) else row["paragraphs"]
    except (ValueError, SyntaxError):
        value = [row["paragraphs"]]
    return [p for p in value if p.strip()] or [row["abstract"]]


class Site:
    """The bytes one site serves, keyed by path."""

    def __init__(self, address: str, feeds: list[int], full_text: bool, items: int, corpus: list[dict]) -> None:
        self.address, self.pages, self.port = address, {}, 0
        self.base = ""
        self._plan = (feeds, full_text, items, corpus)

    def build(self, port: int) -> None:
        self.port, self.base = port, f"http://{self.address}:{port}"
        feeds, full_text, items, corpus = self._plan
        for feed in feeds:
            rows = [(i, corpus[(feed * items + i) % len(corpus)]) for i in range(items)]
            self.pages[f"/feed/{feed}.xml"] = ("application/rss+xml; charset=utf-8", self._rss(feed, rows, full_text))
            if full_text:
                for i, row in rows:
                    self.pages[f"/article/{feed}/{i}.html"] = ("text/html; charset=utf-8", _page(row))

    def _rss(self, feed: int, rows: list[tuple[int, dict]], full_text: bool) -> bytes:
        entries = "".join(
            f"<item><title>{escape(row['title'])}</title><link>{self.base}/article/{feed}/{i}.html</link>"
            f"<guid>{self.base}/article/{feed}/{i}</guid><description>{escape(row['abstract'])}</description>"
            f"<pubDate>{format_datetime(BASE + timedelta(minutes=feed * 10 + i))}</pubDate></item>"
            for i, row in rows)
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>site {self.address} feed {feed}</title><link>{self.base}/</link>{entries}"
                f"</channel></rss>").encode()


def _page(row: dict) -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs(row))
    return (f'<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>{escape(row["title"])}'
            f'</title></head><body><nav><a href="/">خانه</a></nav><article><h1>{escape(row["title"])}</h1>'
            f"{body}</article><footer>کلیه حقوق محفوظ است</footer></body></html>").encode()


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {"200": 0, "304": 0, "404": 0}

    def add(self, status: int) -> None:
        with self.lock:
            self.counts[str(status)] = self.counts.get(str(status), 0) + 1


def handler_for(site: Site, stats: Stats) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the fetcher reuses its connections per host

        def do_GET(self) -> None:
            if self.path == "/_stats":
                with stats.lock:
                    return self._send(200, "application/json", json.dumps(stats.counts).encode())
            page = site.pages.get(self.path)
            if page is None:
                stats.add(404)
                return self._send(404, "text/plain", b"not found")
            etag = f'"{hash(page[1]) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                stats.add(304)
                return self._send(304, None, b"", etag)
            stats.add(200)
            self._send(200, page[0], page[1], etag)

        def _send(self, status: int, content_type: str | None, body: bytes, etag: str | None = None) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            if etag:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


SITES_PER_BLOCK = 249  # 127.0.x.2 .. 127.0.x.250 in each block x
MAX_HOSTS = 255 * SITES_PER_BLOCK


def address(k: int) -> str:
    """Site ``k``'s loopback address: ``0 -> "127.0.0.2"``, ``248 -> "127.0.0.250"``,
    ``249 -> "127.0.1.2"``. The first 249 are the layout of the figures before --hosts grew."""
    if not 0 <= k < MAX_HOSTS:
        raise ValueError(f"site {k}: only {MAX_HOSTS} loopback sites are laid out")
    block, offset = divmod(k, SITES_PER_BLOCK)
    return f"127.0.{block}.{offset + 2}"


def plan(feeds: int, hosts: int, full_text_share: float) -> list[tuple[str, list[int], bool]]:
    """Feeds dealt round-robin to ``hosts`` sites; the first ``full_text_share`` of the sites are
    full-text sites (every item's page is fetched), as a real outlet either needs that or not."""
    full_sites = round(hosts * full_text_share)
    return [(address(k), list(range(k, feeds, hosts)), k < full_sites) for k in range(hosts)]


def serve(feeds: int, hosts: int, items: int, full_text_share: float) -> None:
    corpus, stats = articles(), Stats()
    servers = []
    for site_address, site_feeds, full in plan(feeds, hosts, full_text_share):
        site = Site(site_address, site_feeds, full, items, corpus)
        httpd = ThreadingHTTPServer((site_address, 0), handler_for(site, stats))
        httpd.daemon_threads = True
        httpd.request_queue_size = 64
        site.build(httpd.server_address[1])
        servers.append((site, httpd))
    threading.Thread(target=accept_all, args=([httpd for _, httpd in servers],), daemon=True).start()
    print(json.dumps({"ports": {site.address: site.port for site, _ in servers}}), flush=True)
    sys.stdin.read()  # run.py closes our stdin when it is done (or dies); the daemon threads end with us


def accept_all(servers: list[ThreadingHTTPServer]) -> None:
    """Accept connections of every site in one thread (a connection then has its own thread, as
    ThreadingHTTPServer does): a serve_forever thread per site would wake each of a thousand
    threads every poll interval and take CPU from the fetcher on a two-core machine."""
    with selectors.DefaultSelector() as selector:
        for httpd in servers:
            selector.register(httpd, selectors.EVENT_READ, httpd)
        while True:
            for key, _ in selector.select():
                key.data._handle_request_noblock()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--full-text-share", type=float, required=True)
    args = parser.parse_args()
    serve(args.feeds, args.hosts, args.items, args.full_text_share)


if __name__ == "__main__":
    main()
