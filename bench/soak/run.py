"""Soak test of `news-etl run`: hundreds of local feeds publishing over time, one throwaway database.

    .venv/bin/python bench/soak/run.py [--minutes 10] [--feeds 300] [--interval 10] [--pg-url URL]

A ThreadingHTTPServer on 127.0.0.1 serves ``--feeds`` RSS feeds (the newest ``WINDOW`` items each,
with ETag/304 like a real site); every second each feed publishes a new item with probability
1/``--publish-every``. The service runs as a subprocess against a database created on the shared
server (dropped at the end; the server is never stopped). Prints the service's RSS at start, every
``--sample`` seconds and at the end, then (after publishing stops and the service drains) articles
stored versus published, which must be equal, and how SIGTERM went. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
WINDOW = 50
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
WORDS = ("خبرگزاری گزارش وزارت خارجه مجلس دولت اقتصاد بازار ارز تهران استان نشست رئیس جمهور "
         "کشور سازمان برنامه توسعه صنعت کشاورزی آموزش دانشگاه ورزش فوتبال").split()


class Feeds:
    """Items per feed, added over time; thread-safe because the server reads while we publish."""

    def __init__(self, count: int) -> None:
        self.items: list[list[int]] = [[] for _ in range(count)]
        self.published = 0
        self.requests = 0
        self.lock = threading.Lock()

    def publish(self, feed: int) -> None:
        with self.lock:
            self.items[feed].append(len(self.items[feed]))
            self.published += 1

    def body(self, feed: int) -> tuple[str, bytes]:
        with self.lock:
            self.requests += 1
            ids = self.items[feed][-WINDOW:]
            etag = f'"{len(self.items[feed])}"'
        return etag, _rss(feed, ids)


def _rss(feed: int, ids: list[int]) -> bytes:
    parts = []
    for i in reversed(ids):
        rng = random.Random(feed * 1_000_003 + i)
        body = " ".join(rng.choice(WORDS) for _ in range(150))
        when = format_datetime(BASE + timedelta(minutes=feed + i))
        parts.append(f"<item><title>خبر {i} از منبع {feed} {rng.choice(WORDS)}</title>"
                     f"<link>http://127.0.0.1/{feed}/{i}</link><guid>f{feed}-{i}</guid>"
                     f"<description>{body}</description><pubDate>{when}</pubDate></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {feed}</title>'
            f"{''.join(parts)}</channel></rss>").encode()


def serve(feeds: Feeds) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                feed = int(self.path.rsplit("/", 1)[1])
                etag, body = feeds.body(feed)
            except (ValueError, IndexError):
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def publisher(feeds: Feeds, every: float, stop: threading.Event) -> None:
    rng = random.Random(7)
    while not stop.wait(1.0):
        for feed in range(len(feeds.items)):
            if rng.random() < 1 / every:
                feeds.publish(feed)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM articles")).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--interval", type=int, default=10, help="seconds between polls of one feed")
    parser.add_argument("--publish-every", type=float, default=60, help="mean seconds between items of one feed")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sample", type=float, default=60, help="seconds between RSS samples")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    name = f"news_etl_soak_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    feeds = Feeds(args.feeds)
    for feed in range(args.feeds):
        feeds.publish(feed)  # every feed starts with one item
    server = serve(feeds)
    work = Path(tempfile.mkdtemp(prefix="news-etl-soak-"))
    config = work / "sources.toml"
    config.write_text("".join(
        f'[[sources]]\nname = "f{n:04d}"\nkind = "feed"\nurl = "http://127.0.0.1:{server.server_address[1]}/feed/{n}"\n'
        f"interval = {args.interval}\n\n" for n in range(args.feeds)), encoding="utf-8")
    log = (work / "service.log").open("wb")
    engine = create_engine(db_url)
    proc = None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", db_url, "--config", str(config),
                                 "run", "--log-json", "--per-host-delay", "0", "--workers", str(args.workers)],
                                cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        report(args, feeds, proc, engine, work)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        log.close()
        server.shutdown()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def report(args, feeds: Feeds, proc: subprocess.Popen, engine, work: Path) -> None:
    print(f"soak: {args.feeds} feeds every {args.interval} s, an item per feed every ~{args.publish_every:g} s, "
          f"{args.minutes:g} min; log {work / 'service.log'}", flush=True)
    stop = threading.Event()
    started = time.monotonic()
    time.sleep(min(args.interval, 10) + 3)  # the first pass over every feed, then "start"
    print(f"  t={time.monotonic() - started:5.0f}s  rss {rss_kib(proc.pid) / 1024:6.1f} MiB (start)  "
          f"stored {stored(engine)} / published {feeds.published}", flush=True)
    threading.Thread(target=publisher, args=(feeds, args.publish_every, stop), daemon=True).start()
    end = started + args.minutes * 60
    next_sample = time.monotonic() + args.sample
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(max(0.0, min(next_sample, end) - time.monotonic()))
        if time.monotonic() >= next_sample:
            next_sample += args.sample
            print(f"  t={time.monotonic() - started:5.0f}s  rss {rss_kib(proc.pid) / 1024:6.1f} MiB  "
                  f"stored {stored(engine)} / published {feeds.published}  requests {feeds.requests}", flush=True)
    stop.set()
    drain_until = time.monotonic() + 4 * args.interval * 1.2 + 15  # quiet feeds are polled up to 4x interval apart
    while time.monotonic() < drain_until and stored(engine) < feeds.published:
        time.sleep(1)
    rss_end = rss_kib(proc.pid)
    count = stored(engine)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(60)
    lines = [json.loads(x) for x in (work / "service.log").read_text(encoding="utf-8").splitlines() if x.startswith("{")]
    fetches = [x for x in lines if x.get("msg") == "fetch"]
    errors = [x for x in fetches if x.get("status") == "error"]
    print(f"  end    rss {rss_end / 1024:6.1f} MiB; requests {feeds.requests}; fetch passes {len(fetches)}, "
          f"failed {len(errors)}")
    print(f"  articles stored {count} / published {feeds.published}: {'MATCH' if count == feeds.published else 'MISMATCH'}")
    print(f"  SIGTERM -> exit {code} in {time.monotonic() - t0:.2f} s")


if __name__ == "__main__":
    main()
