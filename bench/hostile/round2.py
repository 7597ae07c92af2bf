"""Issue 26's cases for ``bench/hostile/run.py`` (see its docstring): each function runs in a child
process and returns one JSON line (seconds, peak RSS, what happened). ``before=True`` is B: the
defence switched off in this process, or the ordinary input."""

from __future__ import annotations

import gzip
import json
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = False
SITE = "http://127.0.0.1"


def _size(full: int, tiny: int) -> int:
    return tiny if TINY else full


def _now() -> datetime:
    return datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def _result(start: float, detail: str, seconds: float | None = None) -> str:
    took = time.perf_counter() - start if seconds is None else seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return json.dumps({"seconds": took, "peak_mb": peak, "detail": detail}, ensure_ascii=False)


def _nested(depth: int) -> bytes:
    return ("<html><head><title>خبر</title></head><body><h1>عنوان خبر</h1>" + "<div>" * depth
            + "<p>متن خبر می‌رسد و ادامه دارد.</p>" + "</div>" * depth + "</body></html>").encode()


def _crawl_pages(bodies: list[bytes]) -> str:
    from etl.config import Source
    from etl.crawl.page import page_article
    from etl.fetch.http import Response
    outcomes = []
    for n, body in enumerate(bodies):
        url = f"https://e.ir/fa/news/{n}/x"
        found = page_article(url, Response(url, 200, {"content-type": "text/html; charset=utf-8"}, body),
                             Source("s", "site", url="https://e.ir/"), _now())
        outcomes.append(getattr(found, "reason", type(found).__name__))
    return "; ".join(sorted(set(outcomes)))


def _budget_off() -> None:
    import etl.crawl.page
    import etl.fetch.pages
    etl.crawl.page.page_over_budget = etl.fetch.pages.page_over_budget = lambda body: None


def case_pages(before: bool, workdir: Path, pg: str) -> str:
    import etl.crawl.page  # noqa: F401  (imported before the clock starts)
    depth = _size(200_000, 2_000)
    if before:
        _budget_off()
    pages = [_nested(depth) for _ in range(3)]
    start = time.perf_counter()
    outcome = _crawl_pages(pages)
    return _result(start, f"3 pages of {depth:,} nested <div>s -> {outcome}")


def case_budget(ordinary: bool, workdir: Path, pg: str) -> str:
    unit = '<div class="c"><p>متن خبر می‌رسد و <a href="/x">پیوند</a> و <b>بیشتر</b></p></div>\n'
    units = _size(750 if ordinary else 7_490, 300)  # 4 elements a unit: 3,000, or just under 30,000
    page = ("<html><head><title>خبر</title></head><body><h1>عنوان</h1><article>" + unit * units
            + "</article></body></html>").encode()
    import etl.crawl.page  # noqa: F401  (imported before the clock starts)
    start = time.perf_counter()
    outcome = _crawl_pages([page])
    return _result(start, f"a page of {page.count(b'<') // 2:,} elements, {len(page) / 1e6:.1f} MB -> {outcome}")


def case_item(before: bool, workdir: Path, pg: str) -> str:
    import feedparser

    import etl.fetch.feedfile as feedfile
    from etl.clean.article import to_article
    from etl.models import RawItem
    unit = "&lt;p&gt;متن خبر می‌رسد و ادامه دارد&lt;/p&gt;"
    description = unit * (_size(14_000_000, 1_000_000) // len(unit.encode()))
    feed = ('<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://e.ir/1</link>'
            f"<description>{description}</description></item><item><title>y</title><link>https://e.ir/2</link>"
            "<description>متن کوتاه</description></item></channel></rss>").encode()
    del description
    if before:  # the sanitizer on, and no cap on an item
        feedfile._parse = lambda data, content_type: feedparser.parse(
            data, response_headers={"content-type": content_type} if content_type else {})
        feedfile.capped_item = lambda item, limits=None: item
    start = time.perf_counter()
    parsed = feedfile.read_feed(feed, "https://e.ir/rss")
    items = [feedfile.capped_item(i) for i in parsed.items]
    cleaned = [to_article(i, _now()) if isinstance(i, RawItem) else i for i in items]
    what = ", ".join(getattr(c, "reason", f"{type(c).__name__} of {len(getattr(c, 'body', '')):,} chars")
                     for c in cleaned)
    return _result(start, f"a {len(feed) / 1e6:.1f} MB feed -> {what}")


def _serve_bytes(path: str, body: bytes, headers: dict[str, str]) -> tuple[str, object]:
    """A loopback HTTP server in a thread answering ``path`` with ``body``; its URL and the server."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == path else 404)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}{path}", server


def _gzipped_sitemap(urls: int, workdir: Path) -> bytes:
    """A sitemap of ``urls`` URLs (about 880 bytes each, image tags as news sites write them),
    gzipped as it is written: the XML itself never sits in this process's memory."""
    path = workdir / "sitemap.xml.gz"
    image = f"<image:image><image:loc>https://cdn.example/{'p' * 740}.jpg</image:loc></image:image>"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                  b'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">')
        for n in range(urls):
            out.write(f"<url><loc>https://e.ir/fa/news/1403/05/12/{n}/x</loc>{image}</url>".encode())
        out.write(b"</urlset>")
    return path.read_bytes()


def case_sitemap(before: bool, workdir: Path, pg: str) -> str:
    from etl.crawl.sitemap import MAX_UNCOMPRESSED, parse_sitemap, read_sitemap
    from etl.fetch.http import HttpClient, HttpSettings
    body = _gzipped_sitemap(_size(50_000, 1_000), workdir)
    url, server = _serve_bytes("/sitemap.xml", body, {"Content-Type": "application/xml", "Content-Encoding": "gzip"})
    start = time.perf_counter()
    with HttpClient(HttpSettings(per_host_delay=0)) as client:
        if before:  # in memory: the body, then every entry
            response = client.get(url, allow_loopback=True, max_bytes=MAX_UNCOMPRESSED)
            size, count = len(response.body), len(parse_sitemap(response.body, url).entries)
        else:
            with tempfile.TemporaryFile() as spool:
                client.get(url, allow_loopback=True, max_bytes=MAX_UNCOMPRESSED, into=spool)
                size = spool.tell()
                spool.seek(0)
                count = sum(1 for _ in read_sitemap(spool, url).entries)
    server.shutdown()
    return _result(start, f"{size / 1e6:.1f} MB inflated -> {count:,} URLs")


def case_robots(before: bool, workdir: Path, pg: str) -> str:
    from protego import Protego

    from etl.crawl.discover import ROBOTS_AGENT, read_robots
    from etl.fetch.http import HttpClient, HttpSettings
    rules = _size(480_000, 20_000)
    body = ("User-agent: *\n" + "".join(f"Disallow: /ab/c{n:06d}/*\n" for n in range(rules))).encode()  # 12 MB
    url, server = _serve_bytes("/robots.txt", body, {"Content-Type": "text/plain"})
    root = url.removesuffix("robots.txt")
    start = time.perf_counter()
    with HttpClient(HttpSettings(per_host_delay=0)) as client:
        if before:
            robots = Protego.parse(client.get(url, allow_loopback=True).body.decode())
        else:
            robots = read_robots(lambda u, **options: client.get(u, allow_loopback=True, **options), root).rules
    parsed = time.perf_counter() - start
    checks = 5 if before else 200
    tick = time.perf_counter()
    for n in range(checks):
        robots.can_fetch(f"{root}fa/news/{n}/x", ROBOTS_AGENT)
    per_check = (time.perf_counter() - tick) / checks
    server.shutdown()
    return _result(start, f"{len(body) / 1e6:.1f} MB, {rules:,} rules: read and parsed in {parsed:.2f} s, "
                          f"{per_check * 1000:.2f} ms per rule check", seconds=parsed + per_check)


# --- slowloris ---------------------------------------------------------------------------------

def _serve_app(guarded: bool, port: int, database: str, files: int) -> None:
    """Run the web app in this process, limited to ``files`` open files (the child of the child)."""
    import uvicorn

    from etl.load.db import make_engine
    from etl.web import create_app
    from etl.web.server import ServeLimits, uvicorn_options
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    app = create_app(make_engine(database))
    options = uvicorn_options(ServeLimits(files - 128, 32, 10.0)) if guarded else {"http": "h11"}
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", **options)).run()


def case_slowloris(before: bool, workdir: Path, pg: str) -> str:
    from etl.load.db import make_engine
    from etl.load.migrate import upgrade
    files, slow_count = _size(1_024, 256), _size(1_100, 300)
    database = f"sqlite:///{workdir / 'news.db'}"
    upgrade(make_engine(database), _now())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", "plain" if before else "guarded", str(port),
                               database, str(files)], cwd=REPO)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, slow_count + 200)), hard))
    slow: list[socket.socket] = []
    try:
        _wait_listening(port)
        for _ in range(slow_count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            slow.append(sock)
        time.sleep(1.0)
        start = time.perf_counter()
        answer = _request(port, "127.0.0.2")
        took = time.perf_counter() - start
        return _result(start, f"{slow_count:,} slow connections, {files:,} files: a request from another "
                              f"address -> {answer} in {took:.2f} s", seconds=took)
    finally:
        for sock in slow:
            sock.close()
        server.terminate()
        server.wait(30)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _request(port: int, source: str) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as conn:
            conn.sendall(b"GET /api/sources HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return conn.recv(64).split(b"\r\n")[0].decode() or "closed"
    except OSError as exc:
        return f"no answer ({exc})"


CASES = {"pages": case_pages, "item": case_item, "budget": case_budget, "sitemap": case_sitemap,
         "robots": case_robots, "slowloris": case_slowloris}

if __name__ == "__main__":  # --serve MODE PORT DATABASE FILES: the server of the slowloris case
    sys.path.insert(0, str(REPO))
    if sys.argv[1:2] == ["--serve"]:
        _serve_app(sys.argv[2] == "guarded", int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
