"""End to end: crawl the loopback news site of tests/crawlsite.py for a date range.

The site has robots.txt (Disallow /private/), a three-level sitemap index over two years with
about 5,000 article URLs and the usual sitemap quirks; its request log shows what was fetched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from conftest import PG_ADMIN_URL, REPO, invoke
from crawlsite import CrawlSite
from etl.clean.dates import parse_date
from etl.config import Source
from etl.crawl.select import Window
from etl.tasks.context import Context
from etl.tasks.crawl import CrawlJob, crawl as run_crawl
from etl.fetch.http import HttpClient, HttpSettings
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.schema import articles, crawl_pages, ingest_errors, ingest_runs

SINCE, UNTIL = "2024-02-01", "2024-05-01"  # three months over both year indexes
FAST = HttpSettings(per_host_delay=0.001, retries=0)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def site(http_server):
    return CrawlSite().serve(http_server)


@pytest.fixture
def other_pg_url(pg_admin):
    name = f"news_etl_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def crawl(engine, server, since=SINCE, until=UNTIL, dry_run=False):
    source = Source(name="site", kind="site", url=server.base + "/")
    window = Window(parse_date(since), parse_date(until))
    with HttpClient(FAST) as client:
        return run_crawl(Context(engine, utcnow, client), CrawlJob(source, window, dry_run=dry_run))


def stored(engine) -> dict[str, tuple]:
    query = select(articles.c.url, articles.c.key, articles.c.title, articles.c.body, articles.c.published_at,
                   articles.c.content_hash)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    assert len(rows) == len({r.url for r in rows}), "an article stored twice"
    return {r.url.split("/", 3)[3]: tuple(r[1:]) for r in rows}


def page_paths(server) -> list[str]:
    return [p for p in server.paths() if "sitemap" not in p and p != "/robots.txt"]


def assert_exact_range(engine, server, site, since=SINCE, until=UNTIL):
    window = Window(parse_date(since), parse_date(until))
    expected = site.expected(window.since, window.until)
    rows = stored(engine)
    assert set(rows) == {p.lstrip("/") for p in expected}
    for path, (key, title, body, published_at, _) in rows.items():
        post = expected["/" + path]
        assert published_at == post.published
        assert "می‌شود" in body and f"({post.id})" in title  # ZWNJ kept, title from the page
    fetched = page_paths(server)
    assert Counter(fetched) == Counter(list(expected)), "a page outside the range, or one fetched twice"
    assert not [p for p in server.paths() if p.startswith("/private/")]
    holding = site.sitemaps_holding(window.since, window.until)
    broken = "/sitemaps/1403/video-1403-01.xml.gz"  # in range by its URL: it could hold some
    indexes = {"/sitemap_index.xml", "/sitemaps/index-1402.xml", "/sitemaps/index-1403.xml"}
    assert {p for p in server.paths() if "sitemap" in p} == holding | indexes | {broken}
    assert len([p for p in server.paths() if "sitemap" in p]) == len(holding | indexes | {broken})


@pytest.mark.slow
def test_crawl_of_three_months_stores_that_range_once_and_resumes_after_kill_9(
        pg_engine, other_pg_url, http_server, site, tmp_path):
    report = crawl(pg_engine, http_server)
    assert_exact_range(pg_engine, http_server, site)
    assert (report.new, report.pages_fetched, report.pages_disallowed) == (625, 625, 5)
    assert report.failed == 1 and "HTML page" in report.errors[0].reason  # the .gz that is HTML
    with pg_engine.connect() as conn:
        run = conn.execute(select(ingest_runs).where(ingest_runs.c.id == report.run_id)).one()
        assert (run.kind, run.status, run.new, run.failed) == ("crawl", "partial", 625, 1)
        assert "video-1403-01" in conn.execute(select(ingest_errors.c.location)).scalar_one()
    baseline = stored(pg_engine)

    http_server.requests.clear()
    again = crawl(pg_engine, http_server)
    assert page_paths(http_server) == [] and (again.pages_fetched, again.new) == (0, 0)
    assert again.pages_done_before == 625 and http_server.paths() == ["/robots.txt"]

    # The same crawl in a subprocess, killed with SIGKILL while page 200 is on the wire.
    http_server.requests.clear()
    site.page_log.clear()
    config = tmp_path / "sources.toml"
    config.write_text(f'[[sources]]\nname = "site"\nkind = "site"\nurl = "{http_server.base}/"\n', encoding="utf-8")
    args = ["--config", str(config), "--database-url", other_pg_url, "crawl", "site", "--per-host-delay", "0.001"]
    site.hold_at = 200
    proc = subprocess.Popen([sys.executable, "-m", "etl", *args, "--since", SINCE, "--until", UNTIL],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert site.held.wait(120), proc.stderr.read() if proc.poll() is not None else "page 200 never asked for"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        site.hold_at = None
        site.release.set()
    before_kill = list(site.page_log)
    assert len(before_kill) == 199
    resumed = invoke(*args, "--resume", "--json")
    assert resumed.returncode in (0, 1), resumed.stderr
    assert Counter(site.page_log).most_common(1)[0][1] == 1, "a page fetched before the kill was fetched again"
    assert sorted(site.page_log) == sorted(p.path for p in site.expected(parse_date(SINCE), parse_date(UNTIL)).values())
    other = make_engine(other_pg_url)
    try:
        assert stored(other) == baseline
        with other.connect() as conn:
            states = dict(conn.execute(text("SELECT state, count(*) FROM crawl_pages GROUP BY state")).all())
        assert states["done"] == 625 and states["disallowed"] == 5
    finally:
        other.dispose()


@pytest.mark.slow
def test_crawl_on_sqlite_one_month_then_nothing_to_fetch(sqlite_url, http_server, site):
    engine = make_engine(sqlite_url)
    upgrade(engine, utcnow())
    report = crawl(engine, http_server, "2024-03-01", "2024-04-01")
    assert_exact_range(engine, http_server, site, "2024-03-01", "2024-04-01")
    assert report.new == len(site.expected(parse_date("2024-03-01"), parse_date("2024-04-01")))
    http_server.requests.clear()
    assert crawl(engine, http_server, "2024-03-01", "2024-04-01").pages_fetched == 0
    assert page_paths(http_server) == []
    engine.dispose()


def test_dry_run_counts_sitemaps_and_pages_without_fetching_pages(engine, http_server, site):
    report = crawl(engine, http_server, dry_run=True)
    assert page_paths(http_server) == []
    assert report.run_id is None and report.pages_total == 630 and report.pages_left == 625
    assert report.sitemaps_fetched == 7 and report.sitemaps_failed == 1
    with engine.connect() as conn:
        assert conn.execute(select(crawl_pages.c.id)).first() is not None  # the walk is kept for the real run
        assert conn.execute(select(articles.c.id)).first() is None
