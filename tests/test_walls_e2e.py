"""A bot wall answering instead of the site (issue 26): a feed, a full-text page, a sitemap and
robots.txt that answer with a challenge page (tests/data/walls/, look-alikes of the real ones) store
nothing, mark the source blocked with the vendor named, back off longer, and show in `sources`,
`status` and the web page; a later normal answer clears it. Real loopback server, real databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select
from starlette.testclient import TestClient

from conftest import NOW, invoke
from etl.config import Source
from etl.crawl.select import Window
from etl.fetch.http import HttpClient, HttpSettings
from etl.load.schema import articles, crawl_pages, sources
from etl.load.sources import sync_sources
from etl.tasks.context import Context
from etl.tasks.crawl import CrawlJob, crawl
from etl.tasks.passes import end_pass
from etl.tasks.poll import poll_feed
from etl.web import create_app

WALLS = Path(__file__).parent / "data" / "walls"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
ARVAN = (200, {**HTML, "Server": "ArvanCloud"}, (WALLS / "arvancloud_challenge.html").read_bytes())
CLOUDFLARE = (403, {**HTML, "Server": "cloudflare", "cf-mitigated": "challenge", "Retry-After": "30"},
              (WALLS / "cloudflare_just_a_moment.html").read_bytes())
DDOS_GUARD = (403, {**HTML, "Server": "ddos-guard"}, (WALLS / "ddos_guard.html").read_bytes())
PAGE = ('<html><head><meta property="og:title" content="تیتر {n}">'
        '<meta property="article:published_time" content="2026-01-10T1{n}:00:00+03:30"></head>'
        '<body><article><h1>تیتر {n}</h1><p>متن کامل خبر شماره {n} که در صفحه آمده و خوانده می‌شود.</p>'
        '<p>پاراگراف دوم خبر {n} با جزئیات بیشتر دربارهٔ موضوع و نقل‌قول‌ها از منابع رسمی.</p></article></body></html>')


def rss(server, n: int = 3) -> bytes:
    items = "".join(f"<item><title>تیتر {i}</title><link>{server.url(f'/news/{i}')}</link><guid>g{i}</guid>"
                    f"<description>لید خبر {i}</description><pubDate>Sat, 10 Jan 2026 0{i}:00:00 GMT</pubDate></item>"
                    for i in range(1, n + 1))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def client() -> HttpClient:
    return HttpClient(HttpSettings(per_host_delay=0.0, retries=2, backoff_base=0.01))


def setup(engine, source: Source) -> None:
    with engine.begin() as conn:
        sync_sources(conn, [source], NOW)


def row(engine, name: str):
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.name == name)).one()


def stored(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(articles.c.title)).scalars())


def test_a_walled_feed_stores_nothing_marks_the_source_and_a_normal_answer_clears_it(engine, http_server):
    source = Source(name="outlet", kind="feed", url=http_server.url("/rss"), interval=600)
    setup(engine, source)
    http_server.route("/rss", [ARVAN, (200, RSS, rss(http_server))])
    with client() as http:
        context = Context(engine, lambda: NOW, http)
        report = poll_feed(context, source)
        assert report.failure.kind == "blocked" and report.failure.blocked_by == "ArvanCloud"
        assert "blocked: ArvanCloud challenge" in report.error
        assert http_server.paths() == ["/rss"]  # a wall is not asked again within the pass
        walled = row(engine, "outlet")
        assert (walled.blocked_by, walled.consecutive_failures, walled.last_status) == ("ArvanCloud", 1, 200)
        assert stored(engine) == []
        # Backed off longer than a network error would be: 4x the interval.
        due = end_pass(context, source, report, uniform=lambda a, b: 0.0)
        assert due.at - NOW == timedelta(seconds=2400)

        report = poll_feed(context, source)  # the wall is gone
    assert report.ok and report.new == 3
    cleared = row(engine, "outlet")
    assert (cleared.blocked_by, cleared.consecutive_failures, cleared.last_error) == (None, 0, None)


def test_a_walled_page_of_a_full_text_feed_fails_the_pass_blocked_and_stores_no_lead(engine, http_server):
    source = Source(name="outlet", kind="feed", url=http_server.url("/rss"), full_text=True)
    setup(engine, source)
    http_server.route("/rss", 200, RSS, rss(http_server))
    http_server.route("/news/1", 200, HTML, PAGE.format(n=1).encode())
    http_server.route("/news/2", [CLOUDFLARE, (200, HTML, PAGE.format(n=2).encode())])
    http_server.route("/news/3", 200, HTML, PAGE.format(n=3).encode())
    with client() as http:
        report = poll_feed(Context(engine, lambda: NOW, http), source)
        # The page before the wall is stored whole; the walled one and the rest are not, not even their leads.
        assert report.failure.kind == "blocked" and report.failure.blocked_by == "Cloudflare"
        assert report.failure.retry_after == 30.0
        assert stored(engine) == ["تیتر 1"]
        assert "/news/3" not in http_server.paths()  # no more pages are asked for behind a wall
        assert row(engine, "outlet").blocked_by == "Cloudflare"
        report = poll_feed(Context(engine, lambda: NOW, http), source)  # the next pass gets through
    assert report.ok and (report.new, report.unchanged) == (2, 1)
    with engine.connect() as conn:
        bodies = conn.execute(select(articles.c.body)).scalars().all()
    assert all("متن کامل خبر" in body for body in bodies)  # whole articles only, never a lead alone
    assert row(engine, "outlet").blocked_by is None


def test_sitemap_robots_and_page_behind_a_wall_end_the_crawl_blocked(engine, http_server):
    root = http_server.url("/")
    source = Source(name="site", kind="site", url=root)
    setup(engine, source)
    window = Window(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc))
    urlset = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              + "".join(f"<url><loc>{http_server.url(f'/news/{i}')}</loc><lastmod>2026-01-10</lastmod></url>"
                        for i in (1, 2)) + "</urlset>").encode()
    http_server.route("/robots.txt", [DDOS_GUARD, (200, {"Content-Type": "text/plain"},
                                                   f"Sitemap: {http_server.url('/sitemap.xml')}\n".encode())])
    http_server.route("/sitemap.xml", [ARVAN, (200, {"Content-Type": "application/xml"}, urlset)])
    http_server.route("/news/1", 200, HTML, PAGE.format(n=1).encode())
    http_server.route("/news/2", [CLOUDFLARE, (200, HTML, PAGE.format(n=2).encode())])
    with client() as http:
        context = Context(engine, lambda: NOW, http, sleep=lambda s: None)
        outcomes = []
        for _ in range(4):
            report = crawl(context, CrawlJob(source, window))
            outcomes.append((report.failure.blocked_by if report.failure else None, len(stored(engine))))
    # robots.txt walled, then the sitemap, then the second page (the first is stored), then through.
    assert outcomes == [("DDoS-Guard", 0), ("ArvanCloud", 0), ("Cloudflare", 1), (None, 2)]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(crawl_pages).where(crawl_pages.c.state == "done")).scalar() == 2
    assert row(engine, "site").blocked_by is None


def test_sources_status_and_the_web_page_show_the_wall(engine, db_url, http_server, tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text(f'[[sources]]\nname = "walled"\nkind = "feed"\nurl = "{http_server.url("/rss")}"\n')
    http_server.route("/rss", *ARVAN)
    base = ["--database-url", db_url, "--config", str(config)]
    fetched = invoke(*base, "fetch")
    assert fetched.returncode == 1 and "blocked: ArvanCloud challenge" in fetched.stderr
    listed = invoke(*base, "sources", "--wide")
    line = next(line for line in listed.stdout.splitlines() if line.startswith("walled"))
    assert " blocked " in line and "blocked: ArvanCloud challenge" in line
    assert json.loads(invoke(*base, "sources", "--json").stdout)[0]["blocked_by"] == "ArvanCloud"
    status = invoke(*base, "status", "--json")
    health = json.loads(status.stdout)
    assert status.returncode == 1 and health["sources"][0]["blocked_by"] == "ArvanCloud"
    assert "ArvanCloud's bot wall answers instead of the site" in health["sources"][0]["reason"]
    with TestClient(create_app(engine)) as web:
        page = web.get("/sources").text
        api = web.get("/api/sources").json()
    assert 'class="blocked"' in page and "ArvanCloud" in page
    assert api["sources"][0]["blocked_by"] == "ArvanCloud"


def test_a_feed_behind_cloudflare_that_answers_normally_is_read(engine, http_server):
    """Cloudflare's headers on the site's own answer are not a wall."""
    source = Source(name="outlet", kind="feed", url=http_server.url("/rss"))
    setup(engine, source)
    http_server.route("/rss", 200, {**RSS, "Server": "cloudflare", "CF-RAY": "8f00-FRA"}, rss(http_server))
    with client() as http:
        report = poll_feed(Context(engine, lambda: NOW, http), source)
    assert report.ok and report.new == 3 and row(engine, "outlet").blocked_by is None
