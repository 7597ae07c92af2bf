"""Watches end to end on PostgreSQL (issue 25): a live local feed publishes an item every 2 s,
half of them matching the watch in one spelling or another; the watch's webhook (a local
server) answers 500 to its first two posts; an SMTP server started here takes its e-mails. The
service is killed with -9 once and started again. Then every stored article that `search`
matches has reached the webhook, each with one Idempotency-Key, and no other article has; every
hit has been mailed; the watch's Atom feed lists exactly the matches. Once with `news-etl run`
(the local executor), once with two `news-etl worker`s (the queue), one of them killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from conftest import REPO, scalar, wait_for
from etl.load.search import search
from etl.watches.message import hit_key
from etl.web import create_app

ITEMS = 12  # published one every EVERY seconds
EVERY = 2.0
QUERY = "میشود نفت"  # the joined spelling; the items write it with a ZWNJ, joined, or apart
BODIES = ["گفته می‌شود قیمت نفت خام امروز {k} درصد بالا رفت.",   # ZWNJ
          "گفته میشود صادرات نفت در روز {k} کم شد.",               # joined
          "بازار سهام در روز {k} آرام بود و گفته می‌شود رشد کرد.",  # one term only: no match
          "قیمت گاز در روز {k} ثابت ماند."]                         # neither


class LiveFeed:
    """An RSS feed on 127.0.0.2 that publishes item k at start + k * EVERY seconds, up to ITEMS."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = feed.rss()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.2:{self.server.server_address[1]}/rss.xml"

    def published(self) -> int:
        return min(ITEMS, int((time.monotonic() - self.start) / EVERY) + 1)

    def rss(self) -> bytes:
        stamp = format_datetime(datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc))
        items = "".join(f"<item><title>خبر شماره {k}</title><guid isPermaLink=\"false\">item-{k}</guid>"
                        f"<link>https://live.example/news/{k}</link>"
                        f"<description>{BODIES[k % len(BODIES)].format(k=k)}</description>"
                        f"<pubDate>{stamp}</pubDate></item>" for k in range(self.published()))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>live</title>{items}'
                "</channel></rss>").encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """The webhook: 500 to the first two posts, then 200; every post kept."""

    def __init__(self, server) -> None:
        self.posts = []
        self.lock = threading.Lock()
        server.route("/hook", self.reply)

    def reply(self, request):
        with self.lock:
            self.posts.append(request)
            return (500, {}, b"not yet") if len(self.posts) <= 2 else (200, {}, b"ok")

    def accepted(self) -> list:
        with self.lock:
            return [p for p in self.posts[2:] if p.method == "POST"]



def _config(root: Path, feed: LiveFeed, hook: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "sources.toml"
    config.write_text(f"""
[[sources]]
name = "live"
kind = "feed"
url = "{feed.url}"
interval = 1
max_interval = 2

[[watches]]
name = "oil"
query = "{QUERY}"
webhook = "{hook}"
secret_env = "OIL_SECRET"
email = ["desk@example.org"]
""", encoding="utf-8")
    return config


def _env(smtp_port: int) -> dict:
    return {**os.environ, "OIL_SECRET": "k3y", "NEWS_ETL_SMTP_HOST": "127.0.0.1", "NEWS_ETL_SMTP_PORT": str(smtp_port),
            "NEWS_ETL_SMTP_STARTTLS": "false", "NEWS_ETL_SMTP_FROM": "news-etl@example.org"}


def _process(db_url: str, config: Path, log: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--database-url", db_url, "--config", str(config), *args],
                            cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True, env=env)


def _kill9(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _stop(procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()


def _settled(engine) -> bool:
    """Every item stored and every delivery finished."""
    return (scalar(engine, "SELECT count(*) FROM articles") == ITEMS
            and scalar(engine, "SELECT count(*) FROM watch_deliveries WHERE status <> 'sent'") == 0)


def _check(engine, receiver: Receiver, mails) -> None:
    with engine.connect() as conn:
        matched = {h.id: h.url for h in search(conn, QUERY, limit=1000)}
    expected = [k for k in range(ITEMS) if k % len(BODIES) in (0, 1)]
    assert sorted(matched.values()) == sorted(f"https://live.example/news/{k}" for k in expected)
    keys: dict[int, set[str]] = {}
    for post in receiver.accepted():
        body = json.loads(post.body)
        keys.setdefault(body["article"]["id"], set()).add(post.headers["idempotency-key"])
    assert set(keys) == set(matched), "every match reached the webhook, and nothing else"
    assert all(k == {hit_key("oil", aid)} for aid, k in keys.items()), "one Idempotency-Key per article"
    mailed = {m["Message-ID"].strip("<>").split("@")[0] for m in mails}
    assert mailed == {hit_key("oil", aid) for aid in matched}, "every hit mailed"
    with TestClient(create_app(engine)) as client:
        feed = feedparser.parse(client.get("/watches/oil.atom").content)
    assert not feed.bozo and sorted(e.link for e in feed.entries) == sorted(matched.values())


@pytest.mark.slow
def test_local_executor_killed_once_delivers_every_match_once_per_key(pg_url, tmp_path, http_server, smtp_server):
    controller, smtp = smtp_server
    feed = LiveFeed()
    receiver = Receiver(http_server)
    config = _config(tmp_path, feed, http_server.url("/hook"))
    engine = create_engine(pg_url)
    env = _env(controller.port)
    args = ("run", "--per-host-delay", "0", "--http-retries", "0")
    run = _process(pg_url, config, tmp_path / "run.log", env, *args)
    procs = [run]
    try:
        wait_for(lambda: len(receiver.accepted()) >= 1, 60, "a first delivery after two refusals")
        _kill9(run)
        procs.append(_process(pg_url, config, tmp_path / "run2.log", env, *args))
        wait_for(lambda: feed.published() == ITEMS and _settled(engine), 150, "every item stored and delivered")
        _check(engine, receiver, smtp.parsed())
    finally:
        _stop(procs)
        feed.close()
        engine.dispose()


@pytest.mark.slow
def test_two_queue_workers_one_killed_deliver_every_match_once_per_key(pg_url, tmp_path, http_server, smtp_server):
    controller, smtp = smtp_server
    feed = LiveFeed()
    receiver = Receiver(http_server)
    config = _config(tmp_path, feed, http_server.url("/hook"))
    engine = create_engine(pg_url)
    env = _env(controller.port)
    args = ("worker", "--per-host-delay", "0", "--concurrency", "4")
    workers = [_process(pg_url, config, tmp_path / f"w{i}.log", env, *args) for i in range(2)]
    procs = list(workers)
    try:
        wait_for(lambda: len(receiver.accepted()) >= 1, 90, "a first delivery after two refusals")
        _kill9(workers[0])
        procs.append(_process(pg_url, config, tmp_path / "w3.log", env, *args))
        wait_for(lambda: feed.published() == ITEMS and _settled(engine), 180, "every item stored and delivered")
        _check(engine, receiver, smtp.parsed())
    finally:
        _stop(procs)
        feed.close()
        engine.dispose()
