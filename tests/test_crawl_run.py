"""The crawl task on recorded responses (no connection is made) and fake time: politeness,
push-back, failures, feed and crawl on one row; the sources file's 'site' kind; the CLI."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timezone

import pytest
import responses
from sqlalchemy import select

from conftest import NOW, invoke
from etl.clean.article import to_article
from etl.cli.crawl import ProgressBar
from etl.config import ConfigError, parse_config
from etl.config import Source
from etl.config import CrawlOptions
from etl.crawl.select import Window
from etl.tasks.context import Context
from etl.tasks.crawl import CrawlJob, crawl as run_crawl
from etl.load.schema import articles, crawl_pages, ingest_errors
from etl.load.sources import ensure_source
from etl.models import RawItem, RunReport
from etl.fetch.http import HttpClient, HttpSettings
from etl.load.batch import load_batch

SITE = "https://news.example/"
SOURCE = Source(name="news", kind="site", url=SITE)
WINDOW = Window(datetime(2024, 7, 31, 20, 30, tzinfo=timezone.utc), datetime(2024, 8, 31, 20, 30, tzinfo=timezone.utc))
PAGE = ('<html><head><meta property="og:title" content="تیتر {n}">'
        '<meta property="article:published_time" content="2024-08-0{n}T10:00:00+03:30"></head>'
        '<body><article><h1>تیتر {n}</h1><p>متن خبر شماره {n} که در بایگانی نگه‌داری می‌شود و خوانده می‌شود.</p>'
        '<p>پاراگراف دوم خبر با جزئیات بیشتر دربارهٔ موضوع و نقل‌قول‌ها از منابع رسمی.</p></article></body></html>')


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def public(host, port, family=0, type=0, *args):
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))]


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def site(rsps, robots="User-agent: *\nDisallow: /private/\n", pages=(1, 2)):
    rsps.get(SITE + "robots.txt", body=robots + f"Sitemap: {SITE}sitemap.xml\n")
    locs = "".join(f"<url><loc>{SITE}fa/news/1403/05/1{n}/{n}/x</loc></url>" for n in pages)
    rsps.get(SITE + "sitemap.xml", body=f"<urlset>{locs}</urlset>")


def page(n: int) -> dict:
    return {"body": PAGE.format(n=n).encode(), "content_type": "text/html; charset=utf-8"}


def crawl(engine, clock: FakeTime, source=SOURCE):
    with HttpClient(HttpSettings(per_host_delay=0, retries=0), resolve=public, sleep=clock.sleep,
                    monotonic=clock.monotonic) as client:
        context = Context(engine, lambda: NOW, client, sleep=clock.sleep, monotonic=clock.monotonic)
        return run_crawl(context, CrawlJob(source, WINDOW))


def test_429_and_retry_after_slow_the_crawl_down_instead_of_failing_it(engine, rsps):
    site(rsps, robots="User-agent: *\nCrawl-delay: 3\n")
    rsps.get(SITE + "fa/news/1403/05/11/1/x", status=429, headers={"Retry-After": "7"})
    rsps.get(SITE + "fa/news/1403/05/11/1/x", **page(1))
    rsps.get(SITE + "fa/news/1403/05/12/2/x", **page(2))
    clock = FakeTime()
    report = crawl(engine, clock)
    assert (report.new, report.slowdowns, report.failed, report.pages_left) == (2, 1, 0, 0) and report.ok
    assert max(clock.sleeps) >= 7  # what Retry-After asked
    assert all(s >= 3 for s in clock.sleeps)  # never faster than robots.txt's Crawl-delay


def test_page_429_to_the_end_is_a_transient_failure_tried_again_next_run(engine, rsps):
    site(rsps, pages=(1,))
    rsps.get(SITE + "fa/news/1403/05/11/1/x", status=503)
    report = crawl(engine, FakeTime())
    assert report.failed == 1 and "(transient)" in report.errors[0].reason and report.slowdowns == 2
    rsps.replace(responses.GET, SITE + "fa/news/1403/05/11/1/x", **page(1))
    assert crawl(engine, FakeTime()).new == 1


def test_a_missing_page_is_recorded_once_and_not_fetched_again(engine, rsps):
    site(rsps)
    rsps.get(SITE + "fa/news/1403/05/11/1/x", status=404)
    rsps.get(SITE + "fa/news/1403/05/12/2/x", **page(2))
    report = crawl(engine, FakeTime())
    assert (report.new, report.failed) == (1, 1) and "HTTP 404" in report.errors[0].reason
    with engine.connect() as conn:
        assert conn.execute(select(ingest_errors.c.location)).scalars().all() == [SITE + "fa/news/1403/05/11/1/x"]
    calls = len(rsps.calls)
    again = crawl(engine, FakeTime())
    assert (again.pages_fetched, again.failed) == (0, 0) and len(rsps.calls) == calls + 1  # robots.txt only


def test_an_article_the_feed_stored_under_its_guid_stays_one_row(engine, rsps):
    site(rsps, pages=(1,))
    rsps.get(SITE + "fa/news/1403/05/11/1/x", **page(1))
    item = RawItem(location="feed", title="تیتر 1", summary="خلاصه", url=SITE + "fa/news/1403/05/11/1/x",
                   guid="https://news.example/?p=1", published="2024-08-01T10:00:00+03:30")
    with engine.begin() as conn:
        source_id = ensure_source(conn, SOURCE, NOW, True)
    load_batch(engine, source_id, RunReport("fetch", "news", run_id=None), [to_article(item, NOW)], [], NOW)
    report = crawl(engine, FakeTime())
    assert (report.new, report.updated, report.pages_fetched) == (0, 1, 1)
    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.key, articles.c.body)).all()
        assert len(rows) == 1 and rows[0].key == "guid:https://news.example/?p=1" and "می‌شود" in rows[0].body
        assert conn.execute(select(crawl_pages.c.article_key)).scalar_one() == rows[0].key


def test_site_kind_in_the_sources_file():
    table = {"name": "tasnim", "kind": "site", "url": "https://www.tasnimnews.com/",
             "sitemaps": ["https://www.tasnimnews.com/sitemap.xml"], "crawl": {"every": "1d", "days": 2}}
    (source,) = parse_config({"sources": [table]}, "s.toml").sources
    assert (source.kind, source.crawl) == (
        "site", CrawlOptions(sitemaps=("https://www.tasnimnews.com/sitemap.xml",), every=86400, days=2))
    for bad, message in [({"url": None}, "key 'url': missing (required for kind 'site')"),
                         ({"crawl": {"every": "1d", "days": 0}}, "key 'crawl': days must be a whole number from 1"),
                         ({"crawl": {"often": 1}}, "key 'crawl': must be a table"),
                         ({"sitemaps": "x"}, "key 'sitemaps': must be a list")]:
        broken = {k: v for k, v in {**table, **bad}.items() if v is not None}
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_config({"sources": [broken]}, "s.toml")


def test_progress_bar_line():
    bar = ProgressBar(enabled=False)
    bar.first_done = 100
    assert bar.line(250, 600, 75.0) == "[##########--------------] 250/600 pages  2.0/s  left 2m55s"


def test_cli_refuses_unknown_sources_and_resume_without_a_crawl(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nname = "files"\nkind = "files"\npath = "x"\n'
                      '[[sources]]\nname = "site"\nkind = "site"\nurl = "https://news.example/"\n', encoding="utf-8")
    base = ["--config", str(config), "--database-url", f"sqlite:///{tmp_path / 'n.db'}", "crawl"]
    result = invoke(*base, "files", "--since", "2024-01-01")
    assert result.returncode == 2 and "no feed or site source named 'files'" in result.stderr
    result = invoke(*base, "site", "--resume")
    assert result.returncode == 2 and "has no earlier crawl" in result.stderr
    result = invoke(*base, "site", "--since", "1403/05/01", "--until", "1403/04/01")
    assert result.returncode == 2 and "must be after --since" in result.stderr


def test_siblings_already_read_prune_the_rest_of_a_newest_first_index(engine, rsps):
    """sitemap-1 .. sitemap-6 carry no dates and no lastmod; their URLs run newest-first by month."""
    rsps.get(SITE + "robots.txt", body=f"Sitemap: {SITE}index.xml\n")
    months = ["10", "09", "08", "07", "06", "05"]  # 2024, newest first
    rsps.get(SITE + "index.xml", body="<sitemapindex>" + "".join(
        f"<sitemap><loc>{SITE}sitemap-{i}.xml</loc></sitemap>" for i in range(1, 7)) + "</sitemapindex>")
    for i, month in enumerate(months, 1):
        locs = "".join(f"<url><loc>{SITE}news/2024/{month}/{d:02d}/{month}{d}/x</loc></url>" for d in (3, 20))
        rsps.get(f"{SITE}sitemap-{i}.xml", body=f"<urlset>{locs}</urlset>")
    rsps.get(SITE + "news/2024/08/03/083/x", **page(3))
    rsps.get(SITE + "news/2024/08/20/0820/x", **page(4))
    report = crawl(engine, FakeTime())
    fetched = [c.request.url.rsplit("/", 1)[1] for c in rsps.calls if "sitemap-" in c.request.url]
    assert fetched == ["sitemap-1.xml", "sitemap-2.xml", "sitemap-3.xml", "sitemap-4.xml"]
    assert (report.sitemaps_skipped, report.new, report.pages_fetched) == (2, 2, 2)
