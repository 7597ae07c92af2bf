"""Time to first byte of the web page's search, at 100,000 articles, under a few concurrent clients.

    .venv/bin/python bench/web/run.py [--articles 100000] [--clients 4] [--requests 400]
                                      [--database-url URL  (reuse a loaded database; kept)]

Prints figures; asserts nothing. Builds the corpus with bench/search/run.py's generator (real
Fars News paragraphs, each article a random mix; imported, not copied) and loads it through the
real loader into a throwaway PostgreSQL database, then starts `news-etl serve` on 127.0.0.1 (an
ephemeral port, its own process) and lets --clients threads, each on one keep-alive connection,
request /search?q=... for bench/search's queries round-robin. TTFB is the time from sending a
request to having its status line and headers. Two baselines from the same run and database:
  - the static stylesheet through the same server (HTTP and framework overhead alone);
  - the library's search() called in-process, one client (the database work the page wraps).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import make_url

from etl.config import Source
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.search import search
from etl.load.sources import ensure_source

REPO = Path(__file__).resolve().parents[2]


def _search_bench():
    """bench/search/run.py as a module (bench/ is not a package): its corpus generator and loader."""
    spec = importlib.util.spec_from_file_location("bench_search_run", REPO / "bench" / "search" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(url: str, articles: int, bench) -> None:
    now = datetime.now(timezone.utc)
    engine = make_engine(url)
    try:
        upgrade(engine, now)
        with engine.begin() as conn:
            sid = ensure_source(conn, Source(name="bench", kind="files", path="x"), now, in_config=False)
        with engine.connect() as conn:
            present = conn.execute(text("SELECT count(*) FROM articles WHERE source_id = :s"), {"s": sid}).scalar()
        start = time.perf_counter()
        loaded = present + bench.load(engine, sid, bench.raw_items(max(0, articles - present), seed=1, start=present), now)
        print(f"{loaded} articles ({present} already there); loading took {time.perf_counter() - start:.0f} s")
        with engine.begin() as conn:  # committed: statistics from a rolled-back transaction are lost
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def library_baseline(url: str, queries: list[str], rounds: int) -> list[float]:
    engine = make_engine(url)
    times = []
    try:
        with engine.connect() as conn:
            for _ in range(rounds):
                for query in queries:
                    t0 = time.perf_counter()
                    search(conn, query, limit=21)  # what one page of 20 asks for
                    times.append((time.perf_counter() - t0) * 1000)
    finally:
        engine.dispose()
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", url, "serve", "--port", str(port)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "NEWS_ETL_WEB_TOKEN": ""})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"news-etl serve exited: {server.stderr.read()}")
            time.sleep(0.2)
    server.kill()
    raise SystemExit("news-etl serve did not start within 60 s")


def ttfb(conn: http.client.HTTPConnection, path: str) -> float:
    """Milliseconds from sending the request to having the status line and headers."""
    t0 = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    first = (time.perf_counter() - t0) * 1000
    body = response.read()
    if response.status != 200 or not body:
        raise SystemExit(f"GET {path}: HTTP {response.status}")
    return first


def load_test(port: int, paths: list[str], clients: int, total: int) -> tuple[list[float], float]:
    """``clients`` threads share ``total`` requests, cycling through ``paths``; returns TTFBs and wall time."""
    times: list[float] = []
    lock = threading.Lock()
    per_client = total // clients

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = [ttfb(conn, paths[(offset + n) % len(paths)]) for n in range(per_client)]
        conn.close()
        with lock:
            times.extend(mine)
    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, time.perf_counter() - start


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def figures(label: str, values: list[float]) -> str:
    return f"{label}: median {statistics.median(values):.1f} ms, p95 {p95(values):.1f} ms ({len(values)} requests)"


def measure(url: str, clients: int, total: int, queries: list[str]) -> None:
    port = free_port()
    server = start_server(url, port)
    try:
        pages = [f"/search?q={quote(q)}" for q in queries]
        load_test(port, pages, 1, len(pages))  # warm-up: each query once, pool and caches filled
        searched, wall = load_test(port, pages, clients, total)
        static, _ = load_test(port, ["/static/style.css"], clients, total)
        single, _ = load_test(port, pages, 1, len(pages) * 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    library = library_baseline(url, queries, 2)
    print(figures(f"search page TTFB, {clients} concurrent clients", searched)
          + f"; {len(searched) / wall:.1f} pages/s")
    print(figures("search page TTFB, 1 client", single))
    print(figures(f"baseline: static file TTFB, {clients} clients", static))
    print(figures("baseline: library search() in-process, 1 client", library))
    print(f"ratio: page (1 client) / library search() median "
          f"{statistics.median(single) / statistics.median(library):.2f}x; "
          f"page ({clients} clients) / static median {statistics.median(searched) / statistics.median(static):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400, help="search requests in the concurrent phase")
    parser.add_argument("--database-url", help="an existing PostgreSQL database (loaded up to --articles first); kept")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    bench = _search_bench()
    admin = make_engine(args.pg_url)
    name = f"news_etl_bench_{uuid.uuid4().hex[:8]}"
    url = args.database_url
    if not url:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        prepare(url, args.articles, bench)
        measure(url, args.clients, args.requests, bench.QUERIES)
    finally:
        if not args.database_url:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
