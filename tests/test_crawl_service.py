"""The service crawls a site source on its schedule: the last days, through the sitemaps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from etl.clean.dates import TEHRAN
from etl.config import Source
from etl.fetch.http import HttpClient, HttpSettings
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.schema import articles, ingest_runs
from etl.config import Config, CrawlOptions
from etl.executors.local import LocalExecutor, LocalOptions
from etl.health import check_health

PAGE = ('<html><head><meta property="og:title" content="خبر {n}"></head><body><article><h1>خبر {n}</h1>'
        '<p>متن خبر شماره {n} که امروز منتشر می‌شود و در سرویس خزیده می‌شود.</p>'
        '<p>پاراگراف دوم با جزئیات بیشتر دربارهٔ موضوع خبر و نقل‌قول‌ها.</p></article></body></html>')


def test_service_runs_a_scheduled_crawl_of_the_last_days(sqlite_url, http_server):
    today = datetime.now(TEHRAN).date()
    old = today - timedelta(days=30)
    paths = [f"/news/{today:%Y/%m/%d}/1/a", f"/news/{today:%Y/%m/%d}/2/b", f"/news/{old:%Y/%m/%d}/3/c"]
    http_server.route("/robots.txt", 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n")
    locs = "".join(f"<url><loc>{http_server.url(p)}</loc></url>" for p in paths)
    http_server.route("/sitemap.xml", 200, {"Content-Type": "application/xml"}, f"<urlset>{locs}</urlset>".encode())
    for n, path in enumerate(paths, 1):
        http_server.route(path, 200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.format(n=n).encode())
    source = Source("daily", "site", url=http_server.base + "/", interval=3600, crawl=CrawlOptions(days=2))
    engine = make_engine(sqlite_url)
    clock = lambda: datetime.now(timezone.utc)  # noqa: E731
    upgrade(engine, clock())
    with HttpClient(HttpSettings(per_host_delay=0.001)) as client:
        service = LocalExecutor(engine, Config((source,)), LocalOptions(config_path=Path("unused.toml")), client, clock)
        service.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _finished_crawl(engine):
                time.sleep(0.1)
        finally:
            assert service.stop(grace=10)
    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.title, articles.c.published_at, articles.c.published_time_known)
                            .order_by(articles.c.title)).all()
    # The 30-day-old page is outside the last two days; the pages state no date: the URL's day is used.
    assert [r.title for r in rows] == ["خبر 1", "خبر 2"]
    assert all(r.published_at.astimezone(TEHRAN).date() == today and not r.published_time_known for r in rows)
    assert paths[2] not in http_server.paths()
    assert check_health(engine, clock()).ok  # a site source's success is its crawl's
    engine.dispose()


def _finished_crawl(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(ingest_runs.c.id).where(ingest_runs.c.kind == "crawl",
                                                           ingest_runs.c.finished_at.is_not(None))).first() is not None
