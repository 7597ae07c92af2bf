"""A source's pass that raises something nobody foresaw (issue 14, "any unexpected exception"):
the source and its run record it, the other sources load, nothing is left 'running'.

The fault is injected at the HTTP client seam (a client whose ``get`` raises a bug-like error),
so the test holds whatever the cleaner learns to accept; the databases are real.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from conftest import NOW
from etl.config import Source
from etl.fetch.http import HttpClient, HttpSettings
from etl.executors.once import run_once
from etl.models import Failure
from etl.tasks.context import Context
from etl.load.schema import ingest_runs, sources
from etl.load.sources import sync_sources

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        '<item><title>خبر نیم‌فاصله</title><link>http://example.invalid/1</link><guid>g1</guid>'
        '<description>متن خبر</description></item></channel></rss>').encode()


class BuggyFor:
    """The real client, except that one URL's fetch raises a programming error."""

    def __init__(self, client: HttpClient, url: str) -> None:
        self._client, self._url = client, url
        self.resolve = client.resolve

    def get(self, url: str, **kwargs):
        if url == self._url:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return self._client.get(url, **kwargs)


def clock():
    times = iter(NOW + timedelta(seconds=n) for n in range(1000))
    return lambda: next(times)


def test_an_unexpected_error_fails_its_source_and_run_and_the_others_load(engine, http_server):
    http_server.route("/good", 200, RSS, FEED)
    http_server.route("/bad", 200, RSS, FEED)
    good = Source(name="good", kind="feed", url=http_server.url("/good"))
    bad = Source(name="bad", kind="feed", url=http_server.url("/bad"))
    with engine.begin() as conn:
        sync_sources(conn, [good, bad], NOW)
    with HttpClient(HttpSettings(per_host_delay=0.0)) as real:
        reports = run_once(Context(engine, clock(), BuggyFor(real, bad.url)), [bad, good], 2)
    assert reports[0].error.startswith("unexpected error: UnicodeEncodeError:") and reports[1].error is None
    assert reports[1].new == 1
    with engine.connect() as conn:
        state = {r.name: r for r in conn.execute(select(sources))}
        runs = {r.source_id: r for r in conn.execute(select(ingest_runs))}
    assert state["bad"].consecutive_failures == 1 and "UnicodeEncodeError" in state["bad"].last_error
    assert state["good"].consecutive_failures == 0
    assert runs[state["bad"].id].status == "failed" and runs[state["bad"].id].finished_at is not None
    assert runs[state["good"].id].status == "ok"


def test_a_second_failing_pass_counts_again(engine, http_server):
    http_server.route("/bad", 200, RSS, FEED)
    bad = Source(name="bad", kind="feed", url=http_server.url("/bad"))
    with engine.begin() as conn:
        sync_sources(conn, [bad], NOW)
    now = clock()
    with HttpClient(HttpSettings(per_host_delay=0.0)) as real:
        for _ in range(2):
            run_once(Context(engine, now, BuggyFor(real, bad.url)), [bad])
    with engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.name == "bad")).one()
        statuses = [r.status for r in conn.execute(select(ingest_runs))]
    assert row.consecutive_failures == 2 and statuses == ["failed", "failed"]


def test_unexpected_error_text_is_storable():
    text = Failure.bug(ValueError("bad \ud800 and \x00 here")).message
    assert text == "unexpected error: ValueError: bad \\ud800 and \\x00 here"
    text.encode("utf-8")  # no lone surrogate left
