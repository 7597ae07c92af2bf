"""Hostile input, round 2 (issue 26): one test per attack of the second adversarial trial, named
for what it proves. Storage cases run on PostgreSQL and SQLite (``engine``/``db_url``); HTTP
cases on loopback servers this test starts. Memory is checked with tracemalloc, never time.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import NOW, invoke
from etl.clean.dates import parse_date
from etl.config import Source
from etl.crawl.sitemap import parse_sitemap
from etl.fetch.http import HttpClient, HttpSettings
from etl.fetch_run import run_fetch
from etl.load.schema import articles, ingest_runs, sources
from etl.load.sources import sync_sources
from etl.pipeline import Backfill, run_backfill
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
        [report] = run_fetch(engine, [source], client, lambda: NOW)
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
    report = run_backfill(engine, Backfill(Source("s", "files"), [path], in_config=False, workers=0), lambda: NOW)
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
    report = run_backfill(engine, Backfill(Source("s", "files"), [path], in_config=False, workers=0), lambda: NOW)
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


def test_an_extra_field_with_no_json_form_fails_its_item_alone():
    from etl.clean.article import to_article
    from etl.models import Article, ItemError, RawItem
    bad = to_article(RawItem("f.jsonl:1", title="t", extra={"x": 10**5000}), NOW)
    good = to_article(RawItem("f.jsonl:2", title="t", extra={"x": float("inf"), "y": 2**70}), NOW)
    assert isinstance(bad, ItemError) and bad.location == "f.jsonl:1" and "5,000 digits" in bad.reason
    assert isinstance(good, Article) and good.meta == {"x": "inf", "y": str(2**70)}
