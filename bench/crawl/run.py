"""Crawl efficiency and speed: a three-month crawl of the loopback news site of tests/crawlsite.py
(two years, about 5,000 article URLs, three-level sitemap index).

    .venv/bin/python bench/crawl/run.py [--delay 0.05] [--database sqlite|postgresql] [--pg-url URL] [--tiny]

``--tiny`` crawls a week instead of three months (the smoke test in tests/test_benches.py).

Prints figures; asserts nothing. Baselines, from the same run:
  - requests made against the minimum needed: robots.txt, the sitemaps that list at least one
    article of the range plus the indexes leading to them, and the range's pages robots.txt allows;
    beside what a crawl without date pruning would request (every sitemap and every listed page);
  - pages per second against the politeness floor, 1 / per-host delay (the fastest the crawl may go).
Then the same crawl again: requests made by a re-crawl of a range already done.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crawlsite import CrawlSite  # noqa: E402
from httpserver import LocalServer  # noqa: E402
from etl.clean.dates import parse_date  # noqa: E402
from etl.config import Source  # noqa: E402
from etl.crawl.select import Window  # noqa: E402
from etl.tasks.context import Context  # noqa: E402
from etl.tasks.crawl import CrawlJob, crawl  # noqa: E402
from etl.fetch.http import HttpClient, HttpSettings  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402

SINCE, UNTIL = "2024-02-01", "2024-05-01"
INDEXES = {"/sitemap_index.xml", "/sitemaps/index-1402.xml", "/sitemaps/index-1403.xml"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def minimum(site: CrawlSite, window: Window) -> int:
    holding = site.sitemaps_holding(window.since, window.until)
    return 1 + len(holding | INDEXES) + len(site.expected(window.since, window.until))


def crawl_once(engine, server: LocalServer, window: Window, delay: float):
    server.requests.clear()
    source = Source(name="bench", kind="site", url=server.base + "/")
    with HttpClient(HttpSettings(per_host_delay=delay)) as client:
        started = time.monotonic()
        report = crawl(Context(engine, utcnow, client), CrawlJob(source, window))
        return report, time.monotonic() - started, len(server.requests)


def bench(url: str, delay: float, since: str = SINCE, until: str = UNTIL) -> None:
    server = LocalServer().start()
    try:
        site = CrawlSite().serve(server)
        window = Window(parse_date(since), parse_date(until))
        engine = make_engine(url)
        upgrade(engine, utcnow())
        report, seconds, requests = crawl_once(engine, server, window, delay)
        needed = minimum(site, window)
        unpruned = 1 + len(site.sitemaps) + len(site.posts)
        rate = report.pages_fetched / seconds
        print(f"site: {len(site.posts)} article URLs in {len(site.sitemaps)} sitemaps; range {since}..{until}: "
              f"{len(site.expected(window.since, window.until))} articles")
        print(f"requests: {requests} made, {needed} minimum needed ({requests / needed:.3f}x); "
              f"without date pruning: {unpruned} ({unpruned / needed:.1f}x)")
        print(f"stored: {report.new} new articles; sitemaps {report.sitemaps_fetched} fetched, "
              f"{report.sitemaps_skipped} skipped, {report.sitemaps_failed} failed")
        floor = f"politeness floor {1 / delay:.1f} pages/s (per-host delay {delay:g} s): {rate * delay:.2f} of the floor" \
            if delay > 0 else "no per-host delay (no politeness floor)"
        print(f"speed: {rate:.1f} pages/s in {seconds:.1f} s; {floor}")
        again, seconds, requests = crawl_once(engine, server, window, delay)
        print(f"re-crawl of the same range: {requests} requests ({again.pages_fetched} pages) in {seconds:.1f} s")
        engine.dispose()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.05, help="per-host delay in seconds (default 0.05)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG",
                                                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--tiny", action="store_true", help="a week of the site instead of three months")
    args = parser.parse_args()
    span = ("2024-02-01", "2024-02-08") if args.tiny else (SINCE, UNTIL)
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            bench(f"sqlite:///{folder}/bench.db", args.delay, *span)
        return
    name = f"news_etl_bench_crawl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        bench(make_url(args.pg_url).set(database=name).render_as_string(hide_password=False), args.delay, *span)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
