"""Hostile input, round 2 (issue 26): one test per attack of the second adversarial trial, named
for what it proves. Storage cases run on PostgreSQL and SQLite (``engine``/``db_url``); HTTP
cases on loopback servers this test starts. Memory is checked with tracemalloc, never time.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import NOW, invoke
from etl.clean.dates import parse_date
from etl.config import Source
from etl.crawl.sitemap import parse_sitemap
from etl.executors.once import run_once
from etl.fetch.http import HttpClient, HttpSettings
from etl.load.schema import SCHEMA_VERSION, articles, ingest_runs, sources
from etl.load.sources import sync_sources
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context
from etl.web import create_app

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
OVERFLOW = "Fri, 31 Dec 9999 23:59:59 -1400"


def rss(*items: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            + "".join(items) + "</channel></rss>").encode()


def item(n: int, extra: str = "") -> str:
    return (f"<item><title>خبر شماره {n}</title><link>http://example.invalid/{n}</link><guid>g{n}</guid>"
            f"<description>متن خبر {n}</description>{extra}</item>")


def poll(engine, http_server, body: bytes, name: str = "feed"):
    """One pass over a loopback feed serving ``body``; its report and its source row."""
    http_server.route(f"/{name}", 200, RSS, body)
    source = Source(name=name, kind="feed", url=http_server.url(f"/{name}"))
    with engine.begin() as conn:
        sync_sources(conn, [source], NOW)
    with HttpClient(HttpSettings(per_host_delay=0.0)) as client:
        [report] = run_once(Context(engine, lambda: NOW, client), [source])
    with engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.name == name)).one()
    return report, row


# --- 1. a date that overflows -----------------------------------------------------------------

@pytest.mark.parametrize("value", [
    OVERFLOW, "01 Jan 0001 00:00:00 +1400", "31 Dec 9999 23:59:59 +0000", "9999-12-31T23:59:59-14:00",
    "Sat, 01 Jan 2500 00:00:00 GMT", "۳۱ دی ۹۹۹۹", "9999/12/31",
])
def test_a_date_out_of_range_is_no_date(value):
    assert parse_date(value) is None


def test_dates_at_the_ends_of_the_range_still_parse():
    assert parse_date("Tue, 31 Dec 2199 23:59:59 -1400").year == 2200
    assert parse_date("Mon, 01 Jan 1900 00:00:00 +1400").year == 1899


def test_feed_item_with_an_overflowing_pubdate_is_stored_undated(engine, http_server):
    report, row = poll(engine, http_server, rss(item(1, f"<pubDate>{OVERFLOW}</pubDate>"), item(2)))
    assert report.error is None and report.new == 2 and row.consecutive_failures == 0
    with engine.connect() as conn:
        stored = conn.execute(select(articles.c.published_at, articles.c.meta).where(articles.c.key == "guid:g1")).one()
    assert stored.published_at is None
    assert stored.meta["published_raw"] == OVERFLOW and stored.meta["date_flag"] == "unparsed"


def test_backfill_with_an_overflowing_date_at_line_2500_loads_every_line(engine, tmp_path):
    path = tmp_path / "dump.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, 3001):
            row = {"title": f"خبر {i}", "body": f"متن خبر {i}", "url": f"https://e.ir/n/{i}"}
            if i == 2500:
                row["published"] = OVERFLOW
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    report = run_backfill(Context(engine, lambda: NOW), Backfill(Source("s", "files"), [path], in_config=False, cleaners=0))
    assert report.error is None and (report.new, report.failed) == (3000, 0)
    with engine.connect() as conn:
        assert conn.execute(select(ingest_runs.c.status)).scalar_one() == "ok"
        meta = conn.execute(select(articles.c.meta).where(articles.c.url == "https://e.ir/n/2500")).scalar_one()
    assert meta["published_raw"] == OVERFLOW


def test_sitemap_lastmod_that_overflows_is_no_lastmod():
    body = (f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>https://e.ir/1</loc>"
            f"<lastmod>{OVERFLOW}</lastmod></url></urlset>").encode()
    [entry] = parse_sitemap(body, "https://e.ir/sitemap.xml").entries
    assert entry.loc == "https://e.ir/1" and entry.lastmod is None


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_cli_date_that_overflows_is_a_usage_error(option, sqlite_url):
    result = invoke("--database-url", sqlite_url, "--config", "/dev/null", "search", "خبر", option, OVERFLOW)
    assert result.returncode == 2 and f"not a date: {OVERFLOW!r}" in result.stderr and "Traceback" not in result.stderr


def test_web_since_that_overflows_is_a_400_naming_it(engine):
    with TestClient(create_app(engine, now=lambda: NOW)) as client:
        api, page = client.get("/api/search", params={"q": "خبر", "since": OVERFLOW}), client.get(
            "/search", params={"q": "خبر", "since": OVERFLOW})
    assert api.status_code == 400 and api.json()["error"].startswith("since: not a date")
    assert page.status_code == 400 and "since: not a date" in page.text


def test_retry_after_that_is_not_a_number_is_ignored():
    from etl.fetch.http import parse_retry_after
    assert parse_retry_after("²", 0.0) is None and parse_retry_after("9" * 400, 0.0) == float("inf")


# --- 5. numbers that JSON cannot hold -------------------------------------------------------------

NUMBERS = (b'{"title": "a", "body": "b", "x": 1e999999}\n'
           b'{"title": "c", "body": "d", "x": NaN, "y": [-Infinity]}\n'
           b'{"title": "e", "body": "f", "x": ' + b"7" * 100_000 + b', "published": ' + b"9" * 100_000 + b"}\n"
           b'{"title": "g", "body": "h", "n": 123456789012345678901234567890}\n'
           b'{"title": "ok", "body": "ok", "n": 12, "f": 1.5}\n')


def test_unrepresentable_numbers_are_stored_as_text_and_the_database_exports(engine, db_url, tmp_path):
    path = tmp_path / "numbers.jsonl"
    path.write_bytes(NUMBERS)
    report = run_backfill(Context(engine, lambda: NOW), Backfill(Source("s", "files"), [path], in_config=False, cleaners=0))
    assert report.error is None and (report.new, report.failed) == (5, 0)
    with engine.connect() as conn:
        meta = dict(conn.execute(select(articles.c.title, articles.c.meta)).all())
    assert meta["a"]["x"] == "1e999999" and meta["c"]["x"] == "NaN" and meta["c"]["y"] == ["-Infinity"]
    assert meta["g"]["n"] == "123456789012345678901234567890" and (meta["ok"]["n"], meta["ok"]["f"]) == (12, 1.5)
    assert meta["e"]["date_flag"] == "unparsed"  # the 100,000-digit date: unknown, its text kept (cut)
    exported = invoke("--database-url", db_url, "--config", "/dev/null", "export")
    assert exported.returncode == 0, exported.stderr
    assert len([json.loads(line) for line in exported.stdout.splitlines()]) == 5
    ids = {row["title"]: row["id"] for row in map(json.loads, exported.stdout.splitlines())}
    assert invoke("--database-url", db_url, "--config", "/dev/null", "show", str(ids["a"])).returncode == 0
    with TestClient(create_app(engine, now=lambda: NOW)) as client:
        page = client.get(f"/api/articles/{ids['c']}")
    assert page.status_code == 200 and page.json()["meta"]["x"] == "NaN"


def test_upgrade_repairs_meta_an_older_version_stored_as_invalid_json_on_sqlite(sqlite_url):
    from sqlalchemy import text

    from etl.load.db import make_engine
    from etl.load.migrate import current_version, upgrade
    engine = make_engine(sqlite_url)
    upgrade(engine, NOW)
    with engine.begin() as conn:  # the database as version 7 left it: a row json.dumps wrote with Infinity
        conn.execute(text("INSERT INTO sources (name, kind, enabled, in_config, items_seen, consecutive_failures, "
                          "created_at, updated_at) VALUES ('s', 'files', 1, 0, 0, 0, '2026-01-01', '2026-01-01')"))
        conn.execute(text("INSERT INTO articles (id, source_id, key, title, title_derived, body, published_time_known, "
                          "fetched_at, updated_at, content_hash, meta) VALUES (1, 1, 'k', 't', 0, 'b', 0, '2026-01-01', "
                          """'2026-01-01', 'h', '{"x": Infinity, "y": [NaN], "agency": "مهر"}')"""))
        conn.execute(text("ALTER TABLE sources DROP COLUMN blocked_by"))  # and the steps after it (12)
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 9"))
    assert invoke("--database-url", sqlite_url, "--config", "/dev/null", "db", "schema").returncode == 0
    upgrade(engine, NOW)
    with engine.connect() as conn:
        assert current_version(conn) == SCHEMA_VERSION
        assert conn.execute(text("SELECT json_extract(meta, '$.x'), json_extract(meta, '$.agency') FROM articles")).one() \
            == ("inf", "مهر")
    exported = invoke("--database-url", sqlite_url, "--config", "/dev/null", "export")
    assert exported.returncode == 0 and json.loads(exported.stdout)["meta"]["y"] == ["nan"]
    engine.dispose()


def test_an_extra_field_with_no_json_form_fails_its_item_alone():
    from etl.clean.article import to_article
    from etl.models import Article, ItemError, RawItem
    bad = to_article(RawItem("f.jsonl:1", title="t", extra={"x": 10**5000}), NOW)
    good = to_article(RawItem("f.jsonl:2", title="t", extra={"x": float("inf"), "y": 2**70}), NOW)
    assert isinstance(bad, ItemError) and bad.location == "f.jsonl:1" and "5,000 digits" in bad.reason
    assert isinstance(good, Article) and good.meta == {"x": "inf", "y": str(2**70)}


# --- 2. large but legal input and PostgreSQL's limits -------------------------------------------

def test_lookups_over_more_values_than_one_statement_binds_are_cut(engine, http_server, tmp_path, monkeypatch):
    monkeypatch.setattr("etl.load.chunks.BOUND_VALUES", 7)  # 50 items: 8 statements per lookup
    report, _ = poll(engine, http_server, rss(*(item(n) for n in range(50))))
    assert report.error is None and report.new == 50
    edited = rss(*(item(n) for n in range(49)), item(49).replace("متن خبر 49", "متن تازه"))
    report, row = poll(engine, http_server, edited)
    assert (report.unchanged, report.updated, row.consecutive_failures) == (49, 1, 0)
    path = tmp_path / "dump.jsonl"
    path.write_text("".join(json.dumps({"title": f"خبر {i}", "body": "متن"}, ensure_ascii=False) + "\n"
                            for i in range(50)), encoding="utf-8")
    job = Backfill(Source("files", "files"), [path], in_config=False, cleaners=0)
    assert run_backfill(Context(engine, lambda: NOW), job).new == 50
    assert run_backfill(Context(engine, lambda: NOW), job).unchanged == 50  # the raw-hash lookup, cut in 8


@pytest.mark.slow
def test_feed_of_70000_items_loads_on_postgresql(pg_engine, http_server):
    report, row = poll(pg_engine, http_server, rss(*(item(n) for n in range(70_000))))
    assert report.error is None and report.new == 70_000 and row.consecutive_failures == 0


@pytest.mark.slow
def test_crawl_with_70000_urls_in_range_plans_on_postgresql(pg_engine):
    import responses as mock

    from datetime import datetime, timezone

    from etl.crawl.select import Window
    from etl.tasks.crawl import CrawlJob, crawl
    site = "https://news.example/"
    window = Window(datetime(2024, 7, 1, tzinfo=timezone.utc), datetime(2024, 9, 1, tzinfo=timezone.utc))
    with mock.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(site + "robots.txt", body=f"User-agent: *\nSitemap: {site}a.txt\nSitemap: {site}b.txt\n")
        for name, start in (("a", 0), ("b", 35_000)):
            rsps.get(site + f"{name}.txt", body="".join(f"{site}fa/news/1403/05/12/{n}/x\n"
                                                      for n in range(start, start + 35_000)))
        public = lambda *args, **kwargs: [(2, 1, 6, "", ("93.184.215.14", 0))]  # noqa: E731
        with HttpClient(HttpSettings(per_host_delay=0, retries=0), resolve=public) as client:
            report = crawl(Context(pg_engine, lambda: NOW, client),
                           CrawlJob(Source("news", "site", url=site), window, dry_run=True))
    assert report.error is None and report.pages_total == 70_000


def test_an_article_of_250000_distinct_words_is_stored_whole_and_searchable(engine, http_server, db_url):
    words = " ".join(f"w{n:x}" for n in range(250_000))
    report, row = poll(engine, http_server, rss(item(1), f"<item><title>بزرگ</title><guid>big</guid>"
                                                         f"<description>{words} پایان</description></item>"))
    assert report.error is None and report.new == 2 and row.consecutive_failures == 0
    with engine.connect() as conn:
        body = conn.execute(select(articles.c.body).where(articles.c.key == "guid:big")).scalar_one()
    assert body.endswith("w3d08f پایان")  # the stored body is intact
    found = invoke("--database-url", db_url, "--config", "/dev/null", "search", "w10", "--json")
    assert [hit["title"] for hit in json.loads(found.stdout)] == ["بزرگ"]  # indexed from what fits
    late = invoke("--database-url", db_url, "--config", "/dev/null", "search", "w3d08f", "--json")
    assert json.loads(late.stdout) == []  # past the 256 KiB the index keeps


def test_search_document_is_cut_at_its_cap_and_ordinary_ones_are_not():
    from etl.clean.fold import DOCUMENT_BYTES, document, fold_document
    words = [f"w{n:x}" for n in range(250_000)]
    capped = document(words, ["joinedcompound"])
    assert len(capped.encode()) <= DOCUMENT_BYTES and capped.startswith("w0 w1 w2") and capped.endswith(" joinedcompound")
    assert fold_document("حرف‌هایشان را گفتند") == "حرف هایشان را گفتند حرفهایشان"


def test_a_pass_the_database_refuses_ends_its_run_failed_and_counts_on_its_source(engine, http_server):
    """Issue 22's design: a database failure is not held against the source's own failure count
    (``etl/tasks/lifecycle.py``); it is counted apart (``database_failures``), backs the source off
    and fails the run with the database's reason."""
    with engine.begin() as conn:  # the database breaks under the pass, for every article
        conn.exec_driver_sql("ALTER TABLE article_minhash RENAME TO article_minhash_gone")
    from etl.tasks.passes import end_pass
    long = " ".join(f"واژه{n}" for n in range(60))  # long enough for a near-duplicate signature
    report, _ = poll(engine, http_server, rss(item(1).replace("متن خبر 1", long)))
    assert report.error.startswith("database error:")
    source = Source(name="feed", kind="feed", url=http_server.url("/feed"))
    due = end_pass(Context(engine, lambda: NOW), source, report)  # as the service does after each pass
    with engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.name == "feed")).one()
    assert row.database_failures == 1 and row.next_attempt_at == due.at > NOW
    with engine.connect() as conn:
        status, error = conn.execute(select(ingest_runs.c.status, ingest_runs.c.error)).one()
    assert status == "failed" and error.startswith("database error:")


# --- 6. robots.txt as a weapon --------------------------------------------------------------------

@pytest.mark.parametrize("written, read", [("1e308", 60.0), ("100000", 60.0), ("nan", 0.0),
                                           ("-5", 0.0), ("2.5", 2.5), ("soon", 0.0)])
def test_crawl_delay_is_capped_at_60_s_and_nonsense_is_none(written, read):
    from protego import Protego

    from etl.crawl.discover import Robots
    assert Robots(Protego.parse(f"User-agent: *\nCrawl-delay: {written}\n")).crawl_delay == read


SITE = "https://news.example/"
PAGE = ('<html><head><meta property="article:published_time" content="2024-08-0{n}T10:00:00+03:30"></head>'
        "<body><article><h1>تیتر {n}</h1><p>متن خبر شماره {n} که در بایگانی نگه‌داری می‌شود.</p></article></body></html>")


class FakeTime:
    def __init__(self) -> None:
        self.now, self.sleeps = 100.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def public(*args, **kwargs):
    return [(2, 1, 6, "", ("93.184.215.14", 0))]


def fake_crawl(engine, robots: str, pages: int = 2, dry_run: bool = False, bodies: dict | None = None):
    """A crawl of news.example (recorded responses, fake time) whose robots.txt is ``robots``;
    ``bodies`` replaces the page of some numbers."""
    import responses as mock

    from datetime import datetime, timezone

    from etl.crawl.select import Window
    from etl.tasks.crawl import CrawlJob, crawl
    window = Window(datetime(2024, 7, 31, tzinfo=timezone.utc), datetime(2024, 8, 31, tzinfo=timezone.utc))
    clock = FakeTime()
    with mock.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(SITE + "robots.txt", body=f"Sitemap: {SITE}sitemap.txt\n" + robots)
        rsps.get(SITE + "sitemap.txt", body="".join(f"{SITE}fa/news/1403/05/1{n}/{n}/x\n" for n in range(1, pages + 1)))
        for n in range(1, pages + 1):
            rsps.get(f"{SITE}fa/news/1403/05/1{n}/{n}/x", body=(bodies or {}).get(n, PAGE.format(n=n).encode()),
                     content_type="text/html; charset=utf-8")
        with HttpClient(HttpSettings(per_host_delay=0, retries=0), resolve=public, sleep=clock.sleep,
                        monotonic=clock.monotonic) as client:
            context = Context(engine, lambda: NOW, client, sleep=clock.sleep, monotonic=clock.monotonic)
            report = crawl(context, CrawlJob(Source("news", "site", url=SITE), window, dry_run=dry_run))
    return report, clock


def test_crawl_delay_1e308_slows_the_crawl_to_the_cap_and_the_run_finishes(engine):
    report, clock = fake_crawl(engine, "User-agent: *\nCrawl-delay: 1e308")
    assert report.error is None and report.pages_fetched == 2
    assert clock.sleeps and max(clock.sleeps) <= 60.0
    with engine.connect() as conn:
        assert conn.execute(select(ingest_runs.c.status)).scalar_one() == "ok"


def test_robots_txt_is_read_to_500_kib_the_rest_ignored(engine):
    rules = "".join(f"Disallow: /private/section-{n}/*\n" for n in range(480_000))  # 12 MB
    robots = "User-agent: *\nDisallow: /fa/news/1403/05/11/\n" + rules + "Disallow: /fa/news/1403/05/12/\n"
    report, _ = fake_crawl(engine, robots)
    # The rule before the cut holds, the one after it (12 MB in) is never read.
    assert report.error is None and (report.pages_disallowed, report.pages_fetched) == (1, 1)


def test_robots_txt_cut_keeps_its_first_500_kib():
    import responses as mock

    from etl.crawl.discover import ROBOTS_MAX_BYTES, read_robots
    body = "User-agent: *\n" + "".join(f"Disallow: /p{n}/\n" for n in range(200_000))
    with mock.RequestsMock() as rsps, HttpClient(HttpSettings(per_host_delay=0, retries=0), resolve=public) as client:
        rsps.get(SITE + "robots.txt", body=body)
        got = []
        robots = read_robots(lambda url, **options: got.append(client.get(url, **options)) or got[-1], SITE)
    assert len(got[0].body) == ROBOTS_MAX_BYTES
    assert not robots.allows(SITE + "p100/x") and robots.allows(SITE + "p199999/x")


# --- 7. a legal sitemap, 44 MB -------------------------------------------------------------------

def _sitemap(urls: int, pad: int) -> bytes:
    image = f"<image:image><image:loc>https://cdn.example/{'p' * pad}.jpg</image:loc></image:image>"
    return ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
            + "".join(f"<url><loc>{SITE}fa/news/1403/05/12/{n}/x</loc>{image}</url>" for n in range(urls))
            + "</urlset>").encode()


def test_a_44_mb_sitemap_served_gzipped_is_read_streaming_in_bounded_memory(http_server):
    import gzip
    import tempfile
    import tracemalloc

    from etl.crawl.sitemap import read_sitemap
    from etl.crawl.walk import SITEMAP_MAX_BYTES
    xml = _sitemap(50_000, 740)
    assert len(xml) > 44_000_000
    http_server.route("/sitemap.xml", 200, {"Content-Type": "application/xml", "Content-Encoding": "gzip"},
                      gzip.compress(xml, 1))
    del xml
    with HttpClient(HttpSettings(per_host_delay=0)) as client:
        with pytest.raises(Exception, match="body over 15 MiB"):  # the page cap would refuse it
            client.get(http_server.url("/sitemap.xml"), allow_loopback=True)
        tracemalloc.start()
        try:
            with tempfile.TemporaryFile() as spool:
                client.get(http_server.url("/sitemap.xml"), allow_loopback=True, max_bytes=SITEMAP_MAX_BYTES,
                           into=spool)
                spool.seek(0)
                sitemap = read_sitemap(spool, "sitemap.xml")
                count = sum(1 for _ in sitemap.entries)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
        finally:
            tracemalloc.stop()
    assert (sitemap.kind, count) == ("urlset", 50_000)
    assert peak < 20  # not the 44 MB document, nor 50,000 entries at once


def test_a_crawl_reads_a_sitemap_over_the_page_cap(engine, http_server):
    import gzip

    from datetime import datetime, timezone

    from etl.crawl.select import Window
    from etl.tasks.crawl import CrawlJob, crawl
    http_server.route("/robots.txt", 200, {"Content-Type": "text/plain"}, b"User-agent: *\n")
    http_server.route("/sitemap.xml", 200, {"Content-Type": "application/xml", "Content-Encoding": "gzip"},
                      gzip.compress(_sitemap(6_000, 2_800), 1))  # 17.5 MB inflated, found as a well-known path
    window = Window(datetime(2024, 7, 31, tzinfo=timezone.utc), datetime(2024, 8, 31, tzinfo=timezone.utc))
    source = Source("local", "site", url=http_server.url("/"))
    with HttpClient(HttpSettings(per_host_delay=0, retries=0)) as client:
        report = crawl(Context(engine, lambda: NOW, client), CrawlJob(source, window, dry_run=True))
    assert report.error is None and (report.sitemaps_fetched, report.sitemaps_failed) == (1, 0)
    assert report.pages_total == 6_000


def test_a_sitemap_that_inflates_past_its_limit_fails_and_records_nothing():
    import gzip

    from etl.crawl.sitemap import SitemapError
    body = gzip.compress(_sitemap(100, 100))
    with pytest.raises(SitemapError, match="over 0 MiB uncompressed"):
        parse_sitemap(body, "s.xml.gz", max_bytes=4096)
    assert len(parse_sitemap(body, "s.xml.gz").entries) == 100


# --- 12a. a page's extraction budget --------------------------------------------------------------

def nested_page(depth: int) -> bytes:
    return ("<html><body><h1>عنوان</h1>" + "<div>" * depth + "<p>متن خبر می‌رسد</p>" + "</div>" * depth
            + "</body></html>").encode()


def test_a_page_of_200000_nested_divs_fails_before_any_tree_is_built():
    import tracemalloc

    from etl.fetch.pages import page_to_item
    from etl.models import ItemError, RawItem
    page = nested_page(200_000)
    tracemalloc.start()
    try:
        found = page_to_item(RawItem("feed#3", title="t", url="https://e.ir/1"), page, "text/html", "https://e.ir/1")
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert isinstance(found, ItemError) and found.location == "feed#3"
    assert found.reason == "full text: page nested over 256 levels deep (the extraction budget)"
    assert peak < 5  # BeautifulSoup alone took 160 MB for this page


@pytest.mark.parametrize("page, reason", [
    (b"<html><body>" + b"<span>x</span>" * 30_001, "page has over 30,000 elements (the extraction budget)"),
    (b"<html><body><p>" + b"x" * (5 * 1024 * 1024) + b"</p>", "page of 5.2 MB is over the 5 MiB extraction budget"),
])
def test_a_page_over_its_element_or_size_budget_fails_naming_it(page, reason):
    from etl.fetch.budget import page_over_budget
    assert page_over_budget(page) == reason


def test_ordinary_pages_are_within_the_budget():
    from conftest import DATA
    from etl.fetch.budget import page_over_budget
    pages = sorted((DATA / "pages").glob("*.html"))
    assert pages and all(page_over_budget(p.read_bytes()) is None for p in pages)
    sloppy = b"<html><body>" + b"<p>para <br>" * 3_000 + b"<ul>" + b"<li>item" * 3_000 + b"</ul>"
    assert page_over_budget(sloppy) is None  # unclosed <p> and <li> do not nest
    assert page_over_budget(nested_page(250)) is None
    script = b"<html><body><script>" + b"<div>" * 100_000 + b"</script><p>x</p>"
    assert page_over_budget(script) is None  # markup inside a script is text


def test_a_crawled_page_over_budget_is_a_located_failure_and_the_crawl_goes_on(engine):
    report, _ = fake_crawl(engine, "User-agent: *", pages=3, bodies={3: nested_page(100_000)})
    assert report.error is None and (report.new, report.failed) == (2, 1)
    with engine.connect() as conn:
        from etl.load.schema import ingest_errors
        location, reason = conn.execute(select(ingest_errors.c.location, ingest_errors.c.reason)).one()
    assert location == f"{SITE}fa/news/1403/05/13/3/x" and "nested over 256 levels" in reason


def test_a_14_mb_feed_item_fails_alone_at_the_record_cap(engine, http_server):
    unit = "&lt;p&gt;متن خبر می‌رسد و ادامه دارد&lt;/p&gt;"
    huge = unit * (14_000_000 // len(unit.encode()))
    report, row = poll(engine, http_server, rss(item(1), f"<item><title>بزرگ</title><guid>big</guid>"
                                                         f"<description>{huge}</description></item>"))
    assert report.error is None and (report.new, report.failed) == (1, 1) and row.consecutive_failures == 0
    assert report.errors[0].reason == "record of 11.6 MB exceeds the 8 MiB cap"  # as text, once unescaped


# --- 4. secrets, and the web server's availability ----------------------------------------------

PASSWORD = "PW-s3cr3t-9f"


def test_a_feed_password_is_masked_everywhere_a_url_is_shown_and_still_used(engine, db_url, http_server, tmp_path):
    import base64
    import logging

    from etl.observe import JsonFormatter, KeyValueFormatter
    http_server.route("/feed", 404, {"Content-Type": "text/plain"}, b"gone")
    url = http_server.url("/feed").replace("http://", f"http://reader:{PASSWORD}@")
    config = tmp_path / "sources.toml"
    config.write_text(f'[[sources]]\nname = "locked"\nkind = "feed"\nurl = "{url}"\n', encoding="utf-8")
    env = {"DATABASE_URL": db_url}
    common = ("--config", str(config))
    fetched = invoke(*common, "fetch", env=env)
    sent = http_server.requests[0].headers["authorization"]
    assert sent == "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()  # still used
    outputs = [fetched, *(invoke(*common, *args, env=env) for args in (
        ["sources", "--json"], ["sources", "--wide"], ["status"], ["status", "--json"], ["runs", "--json"],
        ["runs", "--wide"]))]
    with TestClient(create_app(engine, now=lambda: NOW)) as client:
        pages = [client.get(path).text for path in ("/sources", "/api/sources", "/api/runs")]
    record = logging.LogRecord("etl.service", logging.WARNING, __file__, 1, "fetch %s", (url,), None)
    record.fields = {"source": "locked", "error": f"{url}: HTTP 404 (permanent)"}
    logs = [JsonFormatter().format(record), KeyValueFormatter().format(record)]
    shown = [o.stdout + o.stderr for o in outputs] + pages + logs
    assert all(PASSWORD not in text for text in shown)
    assert all("reader:***@" in text for text in shown[1:2] + pages[1:2] + logs)


def test_retry_after_and_a_url_in_a_sentence_are_masked_by_one_function():
    from etl.redact import redact
    assert redact(f"http://u:{PASSWORD}@h/feed?token=T&x=1: HTTP 503") == "http://u:***@h/feed?token=***&x=1: HTTP 503"
    assert redact("mail me@x.com, see https://h:8080/a") == "mail me@x.com, see https://h:8080/a"


@pytest.fixture
def served(sqlite_url, tmp_path):
    """``news-etl serve --token`` as a process whose open files are limited to 1,024, with a 1 s
    head deadline and 8 connections per client address; its output (the access log) goes to a file."""
    import resource
    import signal
    import subprocess
    import sys

    from conftest import REPO, free_port, wait_for
    assert invoke("--database-url", sqlite_url, "--config", "/dev/null", "db", "upgrade").returncode == 0
    port, log = free_port(), tmp_path / "serve.log"

    def limit_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    with log.open("wb") as err:
        server = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", sqlite_url, "--config", "/dev/null",
                                   "serve", "--port", str(port), "--token", "tok-s3cr3t", "--per-client", "8",
                                   "--head-timeout", "1"], cwd=REPO, stdout=err, stderr=err, preexec_fn=limit_files)
    try:
        wait_for(lambda: _get(port, "/static/style.css")[0] == 401, 20, "the server to answer")
        yield port, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)


def _get(port: int, path: str, headers: dict | None = None, source: str = "127.0.0.1"):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_token_never_reaches_the_access_log_and_the_redirect_stays_on_this_site(served):
    port, log = served
    status, headers, _ = _get(port, "//evil.example/x?token=tok-s3cr3t&q=1")
    assert status == 303 and headers["location"] == "/evil.example/x?q=1"
    status, headers, _ = _get(port, "/%5C%5Cevil.example/x?token=tok-s3cr3t")
    assert status == 303 and headers["location"].startswith("/%5C")
    assert _get(port, "/api/sources?token=tok-s3cr3t")[0] == 303
    text = log.read_text()
    assert "token=***" in text and "tok-s3cr3t" not in text


def test_a_token_cookie_after_a_cookie_with_json_or_spaces_is_accepted(engine):
    cookie = 'prefs={"theme": "dark", "n": [1, 2]}; greeting=hello world; news_etl_token=s3cret'
    with TestClient(create_app(engine, token="s3cret", now=lambda: NOW)) as client:
        assert client.get("/api/sources", headers={"Cookie": cookie}).status_code == 200
        assert client.get("/api/sources", headers={"Cookie": cookie.replace("s3cret", "wrong")}).status_code == 401


def test_1100_slow_connections_from_one_address_lock_nobody_out(served):
    import resource
    import socket
    import time

    port, _ = served
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip("this test needs 1,300 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300), hard))
    slow = []
    try:
        for _ in range(1100):  # over the server's 1,024 open files
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            slow.append(sock)
        status, _, _ = _get(port, "/api/sources", {"Authorization": "Bearer tok-s3cr3t"}, source="127.0.0.2")
        assert status == 200
        time.sleep(2.5)  # past the 1 s head deadline: the server has closed every slow connection
        closed = 0
        for sock in slow:
            sock.settimeout(5)
            try:
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == 1100
    finally:
        for sock in slow:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- 10. bidi and escape characters from local input ----------------------------------------------

def test_names_with_bidi_overrides_or_escapes_never_reach_the_terminal_raw(tmp_path, sqlite_url):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\u202etxt.jsonl").write_text('{"title": "t", "body": "b"}\n{bad\n', encoding="utf-8")
    (folder / "esc\x1b[31mred.jsonl").write_text("{bad\n", encoding="utf-8")
    (folder / "skip\x1b]0;t\x07.bin").write_bytes(b"x")
    name = "src\u202e\x1b[2J"
    env = {"DATABASE_URL": sqlite_url}
    outputs = [invoke("--config", "/dev/null", "backfill", str(folder), "--source", name, env=env),
               invoke("--config", "/dev/null", "backfill", str(folder), "--source", name, "--json", env=env)]
    for args in (["sources"], ["sources", "--wide"], ["runs"], ["runs", "--json"], ["errors"], ["errors", "--json"],
                 ["articles"], ["search", "t"], ["show", "1"], ["runs", "--source", name], ["status"]):
        outputs.append(invoke("--config", "/dev/null", *args, env=env))
    outputs.append(invoke("--config", "/dev/null", "backfill", str(tmp_path / "no\u202ehere"), "--source", name, env=env))
    for result in outputs:
        text = result.stdout + result.stderr
        assert "\u202e" not in text and "\x1b" not in text and "\x07" not in text, result.args
    assert "src\\u202e\\x1b[2J" in outputs[2].stdout  # the sources table names it, escaped
    assert "evil\\u202etxt.jsonl:2" in outputs[0].stderr


# --- 11. web parameters out of range --------------------------------------------------------------

@pytest.mark.parametrize("path, status", [
    ("/articles/9223372036854775808", 404), ("/articles/0", 404), ("/api/articles/99999999999999999999999", 404),
    ("/api/articles/9223372036854775807", 404), ("/api/runs?limit=99999999999999999999", 400),
    ("/api/search?q=x&page=99999999999999999999", 400), ("/api/search?q=x&size=-1", 400),
    ("/search?q=x&until=Fri,+31+Dec+9999+23:59:59+-1400", 400),
])
def test_web_parameters_out_of_range_are_404_or_a_400_naming_them(engine, path, status):
    with TestClient(create_app(engine, now=lambda: NOW)) as client:
        response = client.get(path)
    assert response.status_code == status, response.text
    if path.startswith("/api/"):
        error = response.json()["error"]
        assert error.startswith(("no article with id", "limit:", "page:", "size:"))


@pytest.mark.parametrize("args, code, message", [
    (["show", "99999999999999999999"], 2, "must be at most 9223372036854775807"),
    (["show", "9223372036854775807"], 1, "no article with id 9223372036854775807"),
    (["errors", "--run", "9223372036854775808"], 2, "must be at most"),
    (["runs", "--limit", "1" + "0" * 30], 2, "must be at most"),
    (["serve", "--head-timeout", "nan"], 2, "must be a number of seconds"),
    (["crawl", "x", "--per-host-delay", "1e308"], 2, "must be a number of seconds"),
])
def test_cli_numbers_out_of_range_are_one_line_errors(sqlite_url, args, code, message):
    result = invoke("--database-url", sqlite_url, "--config", "/dev/null", *args)
    assert result.returncode == code and message in result.stderr and "Traceback" not in result.stderr
