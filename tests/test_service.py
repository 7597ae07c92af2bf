"""`news-etl run` end to end (a real subprocess, loopback HTTP feeds, real PostgreSQL), plus the
pieces it is built from: timing policy, files watching, health.

Every wait has a deadline; intervals are one second so the whole file stays near a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import NOW, REPO, free_port, invoke, wait_for
from etl.config import Source
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.schema import source_files
from etl.health import check_health
from etl.models import Failure
from etl.tasks.context import Context
from etl.tasks.due import State, next_delay, timing_of
from etl.tasks.files import files_pass
from httpserver import LocalServer, Recorded

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


# --- helpers --------------------------------------------------------------------------------

class Feed:
    """A feed that grows while the service runs; ETag = item count, so unchanged means 304."""

    def __init__(self, server: LocalServer, path: str, status: int = 200) -> None:
        self.server, self.path, self.status = server, path, status
        self.items: list[str] = []
        self._lock = threading.Lock()
        server.route(path, self.reply)

    def publish(self, n: int = 1) -> None:
        with self._lock:
            start = len(self.items)
            self.items += [f"{self.path.strip('/')}-{start + i}" for i in range(n)]

    def reply(self, request: Recorded):
        if self.status != 200:
            return self.status, {"Content-Type": "text/plain"}, b"broken"
        with self._lock:
            items = list(self.items)
        etag = f'"{len(items)}"'
        if request.headers.get("if-none-match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {**RSS, "ETag": etag}, _rss(self.server, items)

    def requests(self) -> int:
        return sum(1 for p in self.server.paths() if p == self.path)


def _rss(server: LocalServer, ids: list[str]) -> bytes:
    base = datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc)
    items = "".join(
        f"<item><title>خبر شماره {i}</title><link>{server.url('/news/' + i)}</link><guid>{i}</guid>"
        f"<description>متن کوتاه خبر {i} برای آزمون سرویس</description>"
        f"<pubDate>{format_datetime(base + timedelta(minutes=n))}</pubDate></item>" for n, i in enumerate(ids))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"{items}</channel></rss>").encode()


def feed_table(name: str, url: str, interval: int = 1, **options) -> str:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    return f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{url}"\ninterval = {interval}\n{extra}'


class Running:
    """``news-etl run`` as a subprocess, its log in a file."""

    def __init__(self, db_url: str, config: Path, log: Path, *extra: str) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "etl", "--database-url", db_url, "--config", str(config), "run",
             "--per-host-delay", "0", "--http-retries", "0", "--grace", "10", *extra],
            cwd=REPO, stdout=self._out, stderr=subprocess.STDOUT)

    def terminate(self, timeout: float = 15) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def service_runs():
    started: list[Running] = []

    def start(*args, **kwargs) -> Running:
        started.append(Running(*args, **kwargs))
        return started[-1]
    yield start
    for running in started:
        running.kill()


def slow_route(server: LocalServer) -> threading.Event:
    """A feed that answers only when the server stops; the event says a request is waiting."""
    entered = threading.Event()

    def reply(request: Recorded):
        entered.set()
        server.stopping.wait(30)
        return 200, RSS, _rss(server, [])
    server.route("/slow", reply)
    return entered



def query(db_url: str, sql: str):
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()



def stored_keys(db_url: str, source: str | None = None) -> list[str]:
    where = f"WHERE s.name = '{source}'" if source else ""
    return [k for (k,) in query(db_url, f"SELECT a.key FROM articles a JOIN sources s ON s.id = a.source_id {where}")]


def has_all(db_url: str, feed: Feed, source: str) -> bool:
    return len(stored_keys(db_url, source)) == len(feed.items)


# --- end to end -----------------------------------------------------------------------------

@pytest.mark.slow
def test_service_fetches_on_schedule_backs_off_stops_cleanly_and_resumes(pg_url, tmp_path, http_server, service_runs):
    a, b = Feed(http_server, "/a"), Feed(http_server, "/b")
    broken = Feed(http_server, "/broken", status=500)
    a.publish(2)
    b.publish(1)
    config = tmp_path / "sources.toml"
    config.write_text("\n".join([
        feed_table("a", http_server.url("/a"), max_interval=1),
        feed_table("b", http_server.url("/b"), max_interval=1),
        feed_table("broken", http_server.url("/broken")),
    ]), encoding="utf-8")
    run = service_runs(pg_url, config, tmp_path / "run.log")
    wait_for(lambda: has_all(pg_url, a, "a") and has_all(pg_url, b, "b"), 20, "first items")

    for _ in range(3):  # the server publishes while the service runs
        a.publish(1)
        b.publish(2)
        wait_for(lambda: has_all(pg_url, a, "a") and has_all(pg_url, b, "b"), 10, "newly published items")
    started = time.monotonic()
    a_before, broken_before = a.requests(), broken.requests()
    time.sleep(6)
    elapsed = time.monotonic() - started
    assert a.requests() - a_before >= elapsed * 0.6  # about one a second, on time
    assert broken.requests() - broken_before <= 3   # backing off: 4 s and 8 s gaps by now
    [(failures, next_at, error)] = query(
        pg_url, "SELECT consecutive_failures, next_attempt_at, last_error FROM sources WHERE name = 'broken'")
    assert failures >= 4 and "HTTP 500" in error
    assert next_at > datetime.now(timezone.utc)

    assert run.terminate() == 0
    log = run.text()
    assert "fetch source=a status=ok" in log and "duration=" in log and "Traceback" not in log
    assert query(pg_url, "SELECT count(*) FROM ingest_runs WHERE status = 'running'") == [(0,)]
    [(stored, counted)] = query(pg_url, "SELECT (SELECT count(*) FROM articles), "
                                        "(SELECT sum(new) FROM ingest_runs)")
    assert stored == counted == len(a.items) + len(b.items)  # every batch whole, counts committed with it

    # Restart: the stored validators make the first requests conditional, nothing is stored twice.
    mark = len(http_server.requests)
    a.publish(1)
    run = service_runs(pg_url, config, tmp_path / "run2.log")
    wait_for(lambda: has_all(pg_url, a, "a"), 15, "item published before the restart")
    wait_for(lambda: any(r.path == "/b" for r in http_server.requests[mark:]), 10, "b fetched after restart")
    first_b = next(r for r in http_server.requests[mark:] if r.path == "/b")
    assert first_b.headers.get("if-none-match") == f'"{len(b.items)}"'
    assert run.terminate() == 0
    keys = stored_keys(pg_url)
    assert len(keys) == len(set(keys)) == len(a.items) + len(b.items)


@pytest.mark.slow
def test_sighup_reloads_sources_and_keeps_them_when_the_file_is_invalid(pg_url, tmp_path, http_server, service_runs):
    a, c = Feed(http_server, "/a"), Feed(http_server, "/c")
    a.publish(1)
    c.publish(2)
    config = tmp_path / "sources.toml"
    config.write_text(feed_table("a", http_server.url("/a")), encoding="utf-8")
    run = service_runs(pg_url, config, tmp_path / "run.log", "--log-json")
    wait_for(lambda: has_all(pg_url, a, "a"), 20, "a's items")

    config.write_text('[[sources]]\nname = "a"\nkind = "feed"\n', encoding="utf-8")  # no url
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in run.text(), 10, "the refusal in the log")
    a.publish(1)
    wait_for(lambda: has_all(pg_url, a, "a"), 10, "a still fetched with the old configuration")

    config.write_text(feed_table("c", http_server.url("/c")), encoding="utf-8")  # a removed, c added
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: has_all(pg_url, c, "c"), 10, "the added source's items")
    time.sleep(1.5)  # a pass of a already running may still finish
    before = a.requests()
    time.sleep(2.5)
    assert a.requests() == before  # the removed source is no longer fetched
    assert run.terminate() == 0
    assert query(pg_url, "SELECT name, in_config FROM sources ORDER BY name") == [("a", False), ("c", True)]
    lines = [json.loads(line) for line in run.text().splitlines()]
    fetches = [line for line in lines if line["msg"] == "fetch" and line["source"] == "c"]
    assert fetches and {"status", "seen", "new", "duration", "next_in"} <= fetches[0].keys()


@pytest.mark.slow
def test_service_survives_losing_the_database(pg_cluster, tmp_path, http_server, service_runs):
    a = Feed(http_server, "/a")
    a.publish(3)
    config = tmp_path / "sources.toml"
    config.write_text(feed_table("a", http_server.url("/a"), max_interval=1), encoding="utf-8")
    run = service_runs(pg_cluster.url, config, tmp_path / "run.log")
    wait_for(lambda: has_all(pg_cluster.url, a, "a"), 20, "the first items")

    pg_cluster.stop()
    for _ in range(3):
        a.publish(1)
        time.sleep(1)
    assert run.proc.poll() is None, run.text()
    pg_cluster.start()
    wait_for(lambda: has_all(pg_cluster.url, a, "a"), 20, "items published while the database was down")
    assert run.proc.poll() is None
    assert "database error" in run.text()
    assert run.terminate() == 0
    keys = stored_keys(pg_cluster.url)
    assert sorted(keys) == sorted(set(keys)) and len(keys) == len(a.items) == 6


@pytest.mark.slow
def test_sigterm_waits_for_a_running_pass_and_a_second_signal_exits_at_once(pg_url, tmp_path, http_server,
                                                                              service_runs):
    entered = slow_route(http_server)
    config = tmp_path / "sources.toml"
    config.write_text(feed_table("slow", http_server.url("/slow")), encoding="utf-8")
    run = service_runs(pg_url, config, tmp_path / "run.log")
    assert entered.wait(20), "the slow request never came"
    run.proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    assert run.proc.poll() is None  # still waiting for the pass in flight (grace 10 s)
    started = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    assert run.proc.wait(5) == 128 + signal.SIGTERM and time.monotonic() - started < 2


@pytest.mark.slow
def test_a_pass_outliving_the_grace_period_ends_with_exit_1(pg_url, tmp_path, http_server, service_runs):
    entered = slow_route(http_server)
    config = tmp_path / "sources.toml"
    config.write_text(feed_table("slow", http_server.url("/slow")), encoding="utf-8")
    run = service_runs(pg_url, config, tmp_path / "run.log", "--grace", "1")
    assert entered.wait(20), "the slow request never came"
    started = time.monotonic()
    assert run.terminate(timeout=10) == 1 and time.monotonic() - started < 5
    assert "grace period over" in run.text()


@pytest.mark.slow
def test_status_exit_code_follows_health(pg_url, tmp_path, http_server, service_runs):
    a = Feed(http_server, "/a")
    a.publish(1)
    config = tmp_path / "sources.toml"
    config.write_text(feed_table("a", http_server.url("/a")), encoding="utf-8")
    port = free_port()
    run = service_runs(pg_url, config, tmp_path / "run.log", "--metrics-port", str(port))
    wait_for(lambda: has_all(pg_url, a, "a"), 20, "a's items")
    # The counters move just after the pass commits its rows: wait for them, not for the rows.
    def scraped() -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    wait_for(lambda: 'news_etl_articles_stored_total{source="a"} 1.0' in scraped(), 20, "the pass's metrics")
    assert 'news_etl_fetches_total{outcome="ok",source="a"}' in scraped()
    healthy = invoke("--database-url", pg_url, "status")
    assert healthy.returncode == 0 and "healthy" in healthy.stdout
    assert run.terminate() == 0
    a.status = 404
    query(pg_url, "UPDATE sources SET last_success_at = now() - interval '1 hour', "
                  "last_error = 'HTTP 404 (permanent)', consecutive_failures = 7")
    late = invoke("--database-url", pg_url, "status")
    assert late.returncode == 1 and "a: no successful run for 1h00m" in late.stdout and "HTTP 404" in late.stdout
    gone = invoke("--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/none", "status")
    assert gone.returncode == 3 and "database unreachable" in gone.stdout


# --- the pieces -----------------------------------------------------------------------------

def test_backoff_grows_to_a_cap_and_honours_retry_after():
    timing = timing_of(Source("s", "feed", url="http://x", interval=60))
    down = Failure("http", "x: HTTP 503 (transient)", transient=True)
    delays = [next_delay(timing, State(failures=n), down)[0] for n in range(1, 8)]
    assert delays == [60, 120, 240, 480, 960, 960, 960]  # cap: 16x interval
    later = Failure("http", "x: HTTP 429 (transient)", transient=True, retry_after=3600)
    assert next_delay(timing, State(failures=1), later)[0] == 3600


def test_quiet_sources_are_polled_less_often_within_bounds():
    timing = timing_of(Source("s", "feed", url="http://x", interval=60, max_interval=180))
    state, seen = State(healthy_delay=60.0), []
    for _ in range(5):
        delay, state = next_delay(timing, state, None, new=0)
        seen.append(delay)
    assert seen == [90, 135, 180, 180, 180]
    assert next_delay(timing, State(healthy_delay=180), None, new=3)[0] == 60  # news: back to the interval
    assert timing_of(Source("t", "feed", url="http://x", interval=10)).max_interval == 40  # default 4x


def test_watched_folder_loads_new_and_changed_files_once(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    upgrade(engine, NOW)
    folder = tmp_path / "drop"
    folder.mkdir()
    line = '{{"title": "خبر {n}", "body": "متن خبر شماره {n} برای آزمون پوشه", "url": "https://example.ir/{n}"}}\n'
    first = folder / "a.jsonl"
    first.write_text(line.format(n=1), encoding="utf-8")
    os.utime(first, (time.time() - 10, time.time() - 10))  # settled
    source = Source("drop", "files", path=str(folder), pattern="*.jsonl")
    context = Context(engine, lambda: datetime.now(timezone.utc))

    assert files_pass(context, source).new == 1
    again = files_pass(context, source)
    assert (again.seen, again.error) == (0, None)  # a restart would see the same rows

    first.write_text(line.format(n=1) + line.format(n=2), encoding="utf-8")
    os.utime(first, (time.time() - 5, time.time() - 5))
    fresh = folder / "b.jsonl"
    fresh.write_text(line.format(n=3), encoding="utf-8")  # still being written: next pass
    changed = files_pass(context, source)
    assert (changed.new, changed.unchanged, changed.skipped) == (1, 1, 1)
    os.utime(fresh, (time.time() - 5, time.time() - 5))
    os.utime(first, (time.time() - 3, time.time() - 3))  # touched, same bytes: not reloaded
    assert files_pass(context, source).seen == 1
    with engine.connect() as conn:
        files = conn.execute(source_files.select()).all()
        runs = conn.execute(text("SELECT count(*) FROM ingest_runs")).scalar()
    assert sorted(Path(f.path).name for f in files) == ["a.jsonl", "b.jsonl"] and runs == 3
    engine.dispose()


def test_health_of_a_new_source_is_ok_until_it_is_due(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    upgrade(engine, NOW)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, kind, url, settings, created_at, updated_at) "
                          "VALUES ('n', 'feed', 'http://x', '{\"interval\": 60}', :t, :t)"),
                     {"t": NOW.replace(tzinfo=None)})
    assert check_health(engine, NOW + timedelta(minutes=5)).ok
    late = check_health(engine, NOW + timedelta(minutes=13))
    assert late.problems == ["n: never succeeded (configured 13m00s ago)"]
    engine.dispose()


# --- an unexpected exception in one source's pass (issue 14) ----------------------------------

def test_an_unexpected_exception_in_a_pass_is_recorded_and_backs_the_source_off(engine, monkeypatch, tmp_path):
    """A pass that raises a bug-like error after its run started: the source's failure count and
    last error are set, the run is finished as failed, the next attempt is backed off, and the
    executor's job returns normally (APScheduler would only log it and leave the run 'running')."""
    from sqlalchemy import select
    from etl.config import Config
    from etl.executors.local import LocalExecutor, LocalOptions
    from etl.fetch.http import HttpClient, HttpSettings
    from etl.load.schema import ingest_runs, sources
    from etl.tasks import poll

    def buggy_fetch(client, source, etag=None, last_modified=None):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(poll, "fetch_feed", buggy_fetch)
    source = Source(name="buggy", kind="feed", url="http://127.0.0.1:9/rss", interval=60)
    times = iter(NOW + timedelta(seconds=n) for n in range(100))
    with HttpClient(HttpSettings(per_host_delay=0.0)) as client:
        service = LocalExecutor(engine, Config((source,)), LocalOptions(tmp_path / "sources.toml"), client,
                                lambda: next(times))
        service._sync()
        service._sources = {source.name: source}
        next_at = [service.pass_and_time(source) for _ in range(2)][-1]
    with engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.name == "buggy")).one()
        runs = conn.execute(select(ingest_runs)).all()
    assert row.consecutive_failures == 2 and row.last_error.startswith("unexpected error: RecursionError")
    assert [r.status for r in runs] == ["failed", "failed"] and all(r.finished_at for r in runs)
    assert next_at - NOW > timedelta(seconds=60)  # backed off beyond the interval
    assert row.next_attempt_at == next_at  # and stored on the row, as the queue executor stores it
