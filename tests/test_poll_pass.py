"""A feed pass with many workers on one database: what the poll benchmark showed and fixed.

Real loopback server, real databases; no timing is asserted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from conftest import NOW
from etl.config import Source
from etl.fetch.http import HttpClient, HttpSettings
from etl.fetch_run import run_fetch
from etl.load.bulk import allocate_ids
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.schema import articles
from etl.load.sources import sync_sources
from httpserver import http_server  # noqa: F401  (fixture)

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feed(n: int) -> bytes:
    items = "".join(f"<item><title>خبر {n}-{i} می‌رسد</title><link>http://example.invalid/{n}/{i}</link>"
                    f"<guid>g{n}-{i}</guid><description>متن نیم‌فاصله {n} {i}</description></item>"
                    for i in range(3))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f{n}</title>'
            f"{items}</channel></rss>").encode()


def test_sqlite_reserves_article_ids_under_the_write_lock(sqlite_url):
    # A read of max(id) outside the write lock let two loads at once reserve the same ids
    # (the second then failed with "UNIQUE constraint failed: articles.id").
    engine = make_engine(sqlite_url)
    upgrade(engine, NOW)
    with engine.connect() as first, engine.connect() as second:
        second.exec_driver_sql("PRAGMA busy_timeout=0")
        second.commit()
        with first.begin():
            assert allocate_ids(first, 2) == [1, 2]
            with pytest.raises(OperationalError, match="locked"), second.begin():
                allocate_ids(second, 2)
    engine.dispose()


def test_many_new_feeds_at_once_all_load(engine, http_server):
    feeds = [Source(name=f"f{n}", kind="feed", url=http_server.url(f"/f{n}.xml")) for n in range(24)]
    for n in range(24):
        http_server.route(f"/f{n}.xml", 200, RSS, feed(n))
    with engine.begin() as conn:
        sync_sources(conn, feeds, NOW)
    with HttpClient(HttpSettings(per_host_delay=0.0, per_host_concurrency=16)) as client:
        reports = run_fetch(engine, feeds, client, lambda: NOW, workers=16)
    assert [r.error for r in reports] == [None] * 24 and sum(r.new for r in reports) == 72
    with engine.connect() as conn:
        titles = conn.execute(select(articles.c.title)).scalars().all()
    assert len(titles) == 72 and all("\u200c" in t for t in titles)
