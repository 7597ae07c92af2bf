"""The per-host minimum delay shared through PostgreSQL (etl/load/host_pace.py, table host_pace):
reservations from many connections are at least the delay apart, a Retry-After pushes every
worker back, and three `news-etl worker` processes polling one loopback host space their requests
by the delay as one process would (the server records every request's arrival)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from conftest import REPO, scalar, wait_for
from etl.fetch.http import FetchError, HttpClient, HttpSettings
from etl.load.host_pace import SharedPace, hold_off, reserve
from test_queue_e2e import rss

DELAY = 0.4


def test_reservations_from_many_connections_are_a_delay_apart(pg_engine):
    waits: list[float] = []
    lock = threading.Lock()

    def take():
        with pg_engine.begin() as conn:
            wait = reserve(conn, "www.farsnews.ir", 2.0)
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Taken within a moment of each other: the k-th start is k delays after the first.
    assert sorted(round(w / 2.0) for w in waits) == [0, 1, 2, 3, 4]
    with pg_engine.begin() as conn:  # another host is not held up
        assert reserve(conn, "www.mehrnews.com", 2.0) == 0.0


def test_retry_after_holds_every_worker_back_and_never_shortens(pg_engine):
    with pg_engine.begin() as conn:
        hold_off(conn, "www.irna.ir", 30.0)
        hold_off(conn, "www.irna.ir", 5.0)  # a shorter one later does not undo the longer
        assert 29.0 < reserve(conn, "www.irna.ir", 1.0) <= 30.0


def test_the_shared_pace_refuses_sqlite_with_the_reason(sqlite_url):
    from etl.load.db import make_engine
    engine = make_engine(sqlite_url)
    with engine.begin() as conn, pytest.raises(ValueError, match="needs PostgreSQL, not sqlite"):
        reserve(conn, "www.irna.ir", 1.0)
    engine.dispose()


def test_the_client_asks_the_pacer_and_tells_it_the_retry_after(pg_engine, http_server):  # noqa: F811
    http_server.route("/busy", 503, {"Retry-After": "9"}, b"")
    slept: list[float] = []
    pace = SharedPace(pg_engine, 0.5, sleep=slept.append)
    with HttpClient(HttpSettings(retries=0), pacer=pace) as client:
        with pytest.raises(FetchError):
            client.get(http_server.url("/busy"), allow_loopback=True)
        with pytest.raises(FetchError):
            client.get(http_server.url("/busy"), allow_loopback=True)
    # The second request waited for the Retry-After (9 s, less the moment between) the first got.
    assert len(slept) == 1 and 8.0 < slept[0] <= 9.0
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT host FROM host_pace")).scalars().all() == ["127.0.0.1"]


class OneHost:
    """A loopback host serving FEEDS feeds; records when each request arrived."""

    def __init__(self, host: str = "127.0.0.5") -> None:
        self.arrivals: list[float] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with site.lock:
                    site.arrivals.append(time.monotonic())
                body = rss(host, self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FEEDS = 9


@pytest.mark.slow
def test_three_workers_space_their_requests_to_one_host_by_the_delay(pg_url, tmp_path):
    host = OneHost()
    config = tmp_path / "sources.toml"
    config.write_text("".join(f'[[sources]]\nname = "f{i}"\nkind = "feed"\nurl = "{host.url}/f{i}.xml"\n'
                              "interval = 3600\n" for i in range(FEEDS)), encoding="utf-8")
    cmd = [sys.executable, "-m", "etl", "--database-url", pg_url, "--config", str(config), "worker",
           "--concurrency", "4", "--per-host", "3", "--per-host-delay", str(DELAY)]
    logs = [(tmp_path / f"w{i}.log").open("wb") for i in range(3)]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    from etl.load.db import make_engine
    engine = make_engine(pg_url)
    try:
        wait_for(lambda: _ready(engine, 3), 90, "three workers")
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL") == FEEDS,
                 120, "every feed polled")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        engine.dispose()
        host.close()
    arrivals = sorted(host.arrivals)
    assert len(arrivals) == FEEDS
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    # Each start is reserved at least DELAY after the previous; a request's way from its slot to
    # the server varies by a few milliseconds on a loaded machine, so each gap gets some slack and
    # the whole span (where that variation does not add up) none beyond the first request's.
    assert min(gaps) > DELAY * 0.6, gaps
    assert arrivals[-1] - arrivals[0] >= (FEEDS - 1) * DELAY - 0.05, gaps


def _ready(engine, workers: int) -> bool:
    try:
        return scalar(engine, "SELECT count(*) FROM procrastinate_workers") >= workers
    except Exception:  # the first worker has not installed the queue schema yet
        return False
