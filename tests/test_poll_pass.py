"""A feed pass with many workers on one database: what the poll benchmark showed and fixed.

Real loopback server, real databases; no timing is asserted.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from conftest import NOW
from etl.config import Source
from etl.fetch.http import HttpClient, HttpSettings
from etl.fetch.session import LeanSession
from etl.executors.once import run_once
from etl.tasks.context import Context
from etl.load.bulk import allocate_ids
from etl.load.db import make_engine
from etl.load.groupcommit import GroupCommit
from etl.load.migrate import upgrade
from etl.load.schema import articles, ingest_runs, sources
from etl.load.sources import sync_sources
from httpserver import Recorded

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
        reports = run_once(Context(engine, lambda: NOW, client), feeds, 16)
    assert [r.error for r in reports] == [None] * 24 and sum(r.new for r in reports) == 72
    with engine.connect() as conn:
        titles = conn.execute(select(articles.c.title)).scalars().all()
    assert len(titles) == 72 and all("\u200c" in t for t in titles)


WARM = NOW + timedelta(minutes=15)
STATE = ("etag", "last_modified", "last_fetch_at", "last_success_at", "last_status", "consecutive_failures",
         "last_error", "items_seen", "updated_at")
RUN = ("kind", "status", "started_at", "finished_at", "seen", "new", "updated", "unchanged", "failed", "error")


def revalidating(n: int, changed_after: int | None = None, fails_after: int | None = None):
    """Feed ``n`` with validators: 304 to its own ETag; from request ``changed_after`` on a new
    version (a new item), from request ``fails_after`` on HTTP 500."""
    served = {"count": 0}

    def reply(request: Recorded):
        served["count"] += 1
        if fails_after is not None and served["count"] > fails_after:
            return 500, {"Content-Type": "text/plain"}, b"down"
        version = 2 if changed_after is not None and served["count"] > changed_after else 1
        etag = f'"v{version}"'
        if request.headers.get("if-none-match") == etag:
            return 304, {"ETag": etag, "Last-Modified": "Thu, 08 Jan 2026 11:00:00 GMT"}, b""
        body = feed(n) if version == 1 else feed(n).replace(b"</channel>", f"<item><title>تازه {n}</title>"
                                                            f"<guid>new{n}</guid><description>خبر تازه‌ای"
                                                            f"</description></item></channel>".encode())
        return 200, {**RSS, "ETag": etag, "Last-Modified": "Thu, 08 Jan 2026 11:00:00 GMT"}, body
    return reply


def test_the_state_after_a_warm_pass(engine, http_server):
    """Cold pass at NOW, warm pass at WARM: the rows every 304, a failure and a change leave."""
    feeds = [Source(name=f"f{n}", kind="feed", url=http_server.url(f"/f{n}.xml")) for n in range(8)]
    for n in range(6):
        http_server.route(f"/f{n}.xml", revalidating(n))
    http_server.route("/f6.xml", revalidating(6, fails_after=1))
    http_server.route("/f7.xml", revalidating(7, changed_after=1))
    with engine.begin() as conn:
        sync_sources(conn, feeds, NOW)
    with HttpClient(HttpSettings(per_host_delay=0.0, per_host_concurrency=8, retries=0)) as client:
        cold = run_once(Context(engine, lambda: NOW, client), feeds, 8)
        warm = run_once(Context(engine, lambda: WARM, client), feeds, 8)
    assert [r.error for r in cold] == [None] * 8
    down = f"{feeds[6].url}: HTTP 500 (transient)"
    assert [r.error for r in warm] == [None] * 6 + [down, None]
    assert [(r.seen, r.new, r.unchanged) for r in warm] == [(0, 0, 0)] * 7 + [(4, 1, 3)]
    with engine.connect() as conn:
        state = {r.name: tuple(getattr(r, c) for c in STATE) for r in conn.execute(select(sources))}
        runs = {}
        for r in conn.execute(select(ingest_runs).order_by(ingest_runs.c.id)):
            runs.setdefault(r.source_id, []).append(r)
        ids = {r.name: r.id for r in conn.execute(select(sources.c.name, sources.c.id))}
    lm = "Thu, 08 Jan 2026 11:00:00 GMT"
    for n in range(6):
        assert state[f"f{n}"] == ('"v1"', lm, WARM, WARM, 304, 0, None, 3, WARM)
    assert state["f6"] == ('"v1"', lm, WARM, NOW, 500, 1, down, 3, WARM)
    assert state["f7"] == ('"v2"', lm, WARM, WARM, 200, 0, None, 7, WARM)
    for n in range(8):
        first, second = runs[ids[f"f{n}"]]
        assert tuple(getattr(first, c) for c in RUN) == ("fetch", "ok", NOW, NOW, 3, 3, 0, 0, 0, None)
        assert first.detail["url"] == feeds[n].url and first.detail["process"]["pid"] > 0
        expected = {6: ("failed", 0, 0, 0, down), 7: ("ok", 4, 1, 3, None)}.get(n, ("ok", 0, 0, 0, None))
        status, seen, new, unchanged, error = expected
        assert tuple(getattr(second, c) for c in RUN) == ("fetch", status, WARM, WARM, seen, new, 0, unchanged,
                                                          0, error)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/feed.xml?a=1&b=خبر", "https://user:pass@xn--mgbai9a.ir/rss",
                                 "https://خبر.ir/خبرها/نیم‌فاصله"])
def test_the_lean_session_prepares_what_requests_prepares(url):
    lean, plain = LeanSession(), requests.Session()
    for session in (lean, plain):
        session.cookies.set("sid", "42", domain="127.0.0.1", path="/")
        session.cookies.set("sid", "7", domain="xn--mgbai9a.ir", path="/")
    headers = {"User-Agent": "news-etl/test", "If-None-Match": '"v1"'}
    ours, theirs = lean.prepare_get(url, headers), plain.prepare_request(requests.Request("GET", url, headers=headers))
    assert (ours.method, ours.url, dict(ours.headers), ours.body) == (theirs.method, theirs.url,
                                                                      dict(theirs.headers), theirs.body)
    if "\u200c" in url:
        assert "%E2%80%8C" in ours.url  # the ZWNJ is kept, percent-encoded, never dropped


def test_the_lean_session_keeps_cookies_per_host(http_server):
    http_server.route("/set", 200, {"Set-Cookie": "sid=abc; Path=/"}, b"ok")
    http_server.route("/feed", 200, RSS, feed(1))
    session = LeanSession()
    session.trust_env = False
    session.get(http_server.url("/set"), timeout=5).close()
    session.get(http_server.url("/feed"), timeout=5).close()
    assert http_server.requests[-1].headers.get("cookie") == "sid=abc"


def test_group_commit_batches_waiting_writes_and_a_refused_one_fails_alone(sqlite_url):
    engine = make_engine(sqlite_url)
    go, batches, lock = threading.Event(), [], threading.Lock()

    def write(conn, items):
        with lock:
            batches.append(list(items))
        if items == ["a"]:
            go.wait(10)  # "a"'s transaction is slow: the others queue behind it
        if "bad" in items:
            raise ValueError("refused: bad")
        conn.execute(text("SELECT 1"))
        return [f"{item}!" for item in items]

    group = GroupCommit(engine, write)
    results: dict[str, object] = {}

    def submit(item):
        try:
            results[item] = group.submit(item)
        except ValueError as exc:
            results[item] = exc

    first = threading.Thread(target=submit, args=("a",))
    first.start()
    while not batches:
        time.sleep(0.01)
    others = [threading.Thread(target=submit, args=(item,)) for item in ("b", "bad", "c")]
    for thread in others:
        thread.start()
    while len(group._queue) < 3:
        time.sleep(0.01)
    go.set()
    for thread in [first, *others]:
        thread.join(10)
    assert results["a"] == "a!" and results["b"] == "b!" and results["c"] == "c!"
    assert isinstance(results["bad"], ValueError)
    assert batches[0] == ["a"] and sorted(batches[1]) == ["b", "bad", "c"]
    assert sorted(map(tuple, batches[2:])) == [("b",), ("bad",), ("c",)]  # then one by one
    engine.dispose()
