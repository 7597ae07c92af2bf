"""One sources file, both executors, the same articles (issue 22).

20 feeds on 10 loopback hosts, a files folder that gains a file while the executor runs, and a site
crawled for a date range through its sitemaps: once with the local executor (`news-etl run`, and
`news-etl crawl` in one process), once with a dispatcher and 2 workers on PostgreSQL (`news-etl
crawl --queue`, one worker killed with SIGKILL in the middle of a crawl slice and started again).
The two databases hold the same articles (key, URL, title, body, dates, content hash, agency), each
stored once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from conftest import PG_ADMIN_URL, REPO, invoke, scalar, wait_for
from crawlsite import CrawlSite
from etl.clean.dates import parse_date
from test_queue_e2e import pid_of_client_port

HOSTS = [f"127.0.0.{i}" for i in range(2, 12)]
FEEDS_PER_HOST = 2
ITEMS = 3
SINCE, UNTIL = "1403/05/01", "1403/06/01"  # a Jalali month of the crawl site: 62 articles at 2 a day
ARTICLES = """SELECT s.name, a.key, a.url, a.title, a.body, a.summary, a.published_at, a.published_time_known,
                     a.content_hash, a.meta->>'agency' FROM articles a JOIN sources s ON s.id = a.source_id
              ORDER BY s.name, a.key"""


class Feeds:
    """Two RSS feeds on each of 10 loopback hosts, three items each."""

    def __init__(self) -> None:
        self.servers = [self._serve(host) for host in HOSTS]

    def _serve(self, host: str) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = _rss(host, self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def urls(self) -> list[str]:
        return [f"http://{HOSTS[h]}:{self.servers[h].server_address[1]}/feed{f}.xml"
                for h in range(len(HOSTS)) for f in range(FEEDS_PER_HOST)]

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _rss(host: str, path: str) -> bytes:
    name = f"{host}{path}"
    stamp = format_datetime(datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc))
    items = "".join(f"<item><title>خبر‌های {name} شماره {i}</title><guid isPermaLink=\"false\">{name}#{i}</guid>"
                    f"<description>به گزارش ایرنا، متن کوتاه خبر {i} می‌آید</description>"
                    f"<pubDate>{stamp}</pubDate></item>" for i in range(ITEMS))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode()


def _dump(folder: Path, name: str, first: int) -> None:
    records = [{"title": f"گزارش پرونده {n}", "body": f"به گزارش خبرگزاری مهر، متن گزارش شماره {n} از پوشه می‌آید.",
                "url": f"https://example.ir/files/{n}", "published": "2026-01-05T08:00:00+03:30"}
               for n in range(first, first + 5)]
    path = folder / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    past = time.time() - 30  # settled: not a file still being written
    os.utime(path, (past, past))


def _config(tmp_path: Path, feeds: Feeds, folder: Path, site_base: str) -> Path:
    tables = [f'[[sources]]\nname = "feed{n:02d}"\nkind = "feed"\nurl = "{url}"\ninterval = 3600\n'
              for n, url in enumerate(feeds.urls())]
    tables.append(f'[[sources]]\nname = "drop"\nkind = "files"\npath = "{folder}"\npattern = "*.jsonl"\ninterval = 1\n')
    tables.append(f'[[sources]]\nname = "site"\nkind = "site"\nurl = "{site_base}/"\ninterval = "1d"\n')
    config = tmp_path / "sources.toml"
    config.write_text("\n".join(tables), encoding="utf-8")
    return config


@pytest.fixture
def second_pg_url(pg_admin, pg_template):
    name = f"news_etl_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _process(db_url: str, config: Path, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--database-url", db_url, "--config", str(config), *args],
                            cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()


def _count(engine, source: str) -> int:
    return scalar(engine, "SELECT count(*) FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = :n",
                  n=source)


def _fed(engine) -> bool:
    return scalar(engine, "SELECT count(*) FROM articles a JOIN sources s ON s.id = a.source_id "
                          "WHERE s.kind = 'feed'") == len(HOSTS) * FEEDS_PER_HOST * ITEMS


@pytest.mark.slow
def test_local_and_queue_executors_store_the_same_articles(pg_url, second_pg_url, tmp_path, http_server):
    feeds = Feeds()
    site = CrawlSite(per_day=2).serve(http_server)
    expected = len(site.expected(parse_date(SINCE), parse_date(UNTIL)))
    try:
        local = _local_leg(pg_url, tmp_path / "local", feeds, site, expected)
        site.page_log.clear()
        queued = _queue_leg(second_pg_url, tmp_path / "queue", feeds, site, expected, http_server)
    finally:
        feeds.close()
    assert len(local) == len(HOSTS) * FEEDS_PER_HOST * ITEMS + 10 + expected
    urls = [(row[0], row[2]) for row in local if row[2]]  # the feed items have no link: their GUID is the key
    assert len(set(urls)) == len(urls) == 10 + expected  # each URL stored once per source
    assert queued == local
    agencies = {row[9] for row in local if row[0].startswith("feed")} | {row[9] for row in local if row[0] == "drop"}
    assert agencies == {"ایرنا", "مهر"}


def _local_leg(db_url: str, root: Path, feeds: Feeds, site: CrawlSite, expected: int) -> list[tuple]:
    folder = root / "drop"
    folder.mkdir(parents=True)
    _dump(folder, "a.jsonl", 0)
    config = _config(root, feeds, folder, site.base)
    engine = create_engine(db_url)
    run = _process(db_url, config, root / "run.log", "run", "--per-host-delay", "0", "--http-retries", "0")
    try:
        wait_for(lambda: _fed(engine) and _count(engine, "drop") == 5, 90, "the feeds and the first file (local)")
        _dump(folder, "b.jsonl", 5)  # the folder gains a file while the service runs
        wait_for(lambda: _count(engine, "drop") == 10, 30, "the file added during the run (local)")
        crawled = invoke("--database-url", db_url, "--config", str(config), "crawl", "site", "--since", SINCE,
                         "--until", UNTIL, "--per-host-delay", "0", "--json")
        assert crawled.returncode == 0, crawled.stderr
        assert _count(engine, "site") == expected
    finally:
        _stop([run])
        rows = _rows(engine)
        engine.dispose()
    return rows


def _queue_leg(db_url: str, root: Path, feeds: Feeds, site: CrawlSite, expected: int, server) -> list[tuple]:
    folder = root / "drop"
    folder.mkdir(parents=True)
    _dump(folder, "a.jsonl", 0)
    config = _config(root, feeds, folder, site.base)
    engine = create_engine(db_url)
    assert invoke("--database-url", db_url, "--config", str(config), "db", "upgrade").returncode == 0
    common = ("--per-host-delay", "0", "--concurrency", "4")
    procs = [_process(db_url, config, root / "dispatcher.log", "worker", "--queues", "schedule", *common)]
    workers = [_process(db_url, config, root / f"w{i}.log", "worker", "--queues", "polls,backfill", *common)
               for i in range(2)]
    procs += workers
    try:
        wait_for(lambda: _fed(engine) and _count(engine, "drop") == 5, 90, "the feeds and the first file (queue)")
        _dump(folder, "b.jsonl", 5)
        wait_for(lambda: _count(engine, "drop") == 10, 30, "the file added during the run (queue)")
        # The 20th page of the crawl is held until the worker fetching it has been killed.
        site.hold_at = 20
        queued = invoke("--database-url", db_url, "--config", str(config), "crawl", "site", "--since", SINCE,
                        "--until", UNTIL, "--queue")
        assert queued.returncode == 0 and "deferred a crawl of site" in queued.stdout, queued.stderr
        assert site.held.wait(60), "the crawl never reached the held page"
        holder = _holder(server, [w.pid for w in workers])
        os.kill(holder, signal.SIGKILL)
        site.hold_at = None
        site.release.set()
        procs.append(_process(db_url, config, root / "w3.log", "worker", "--queues", "polls,backfill", *common))
        wait_for(lambda: _count(engine, "site") == expected and scalar(
            engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE 'crawl%' "
                    "AND status NOT IN ('succeeded', 'failed')") == 0, 120, "the queued crawl, all its slices")
        assert scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'crawl_pages' "
                              "AND attempts > 1") >= 1, "the killed worker's slice was not retried"
        runs = invoke("--database-url", db_url, "--config", str(config), "runs", "--source", "site")
        assert runs.stdout.startswith("queued crawl of site: ") and " 0 running, 0 waiting, 0 failed" in runs.stdout
    finally:
        _stop(procs)
        rows = _rows(engine)
        engine.dispose()
    return rows


def _holder(server, pids: list[int]) -> int:
    """The worker whose request for the held page is waiting at the server."""
    port = next(r.client_port for r in reversed(server.requests) if "/news/" in r.path)
    pid = wait_for(lambda: pid_of_client_port(port, pids), 10, "the process holding the page request")
    return pid


def _rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(ARTICLES))]
