"""The procrastinate executor end to end: 3 `news-etl worker --queues polls` processes and a
dispatcher (`--queues schedule`) on real PostgreSQL, 200 feeds on 10 loopback hosts. The site
records every request and checks that no feed is fetched by two workers at once and no host serves
more than its limit at once; every article is stored once; a worker killed with SIGKILL in the
middle of a poll has that poll done again by another worker within the stalled-job bound; a killed
dispatcher is replaced and dispatch resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email.utils import format_datetime
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import REPO, scalar, wait_for
from etl.executors.queue import STALL_BOUND

HOSTS = [f"127.0.0.{i}" for i in range(2, 12)]
FEEDS_PER_HOST = 20
ITEMS = 3
PER_HOST = 2
ANSWER_AFTER = 0.03
SLOW_FIRST = 8.0  # the slow feed's first answer takes this long: the worker serving it is killed meanwhile


class Site:
    """One ThreadingHTTPServer per loopback host; counts concurrent requests per host and per feed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active_host: Counter = Counter()
        self.active_feed: Counter = Counter()
        self.max_host = 0
        self.max_feed = 0
        self.requests: list[tuple[float, str, str, int]] = []  # (time, host, path, client port)
        self.slow_seen = threading.Event()
        self.stop = threading.Event()
        self.servers = [self._serve(host) for host in HOSTS]

    def _serve(self, host: str) -> ThreadingHTTPServer:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.handle(self, host)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def url(self, host_index: int, feed: int) -> str:
        server = self.servers[host_index]
        return f"http://{HOSTS[host_index]}:{server.server_address[1]}/feed{feed}.xml"

    def handle(self, request: BaseHTTPRequestHandler, host: str) -> None:
        key = (host, request.path)
        with self.lock:
            first = not any(h == host and p == request.path for _, h, p, _ in self.requests)
            self.requests.append((time.monotonic(), host, request.path, request.client_address[1]))
            self.active_host[host] += 1
            self.active_feed[key] += 1
            self.max_host = max(self.max_host, self.active_host[host])
            self.max_feed = max(self.max_feed, self.active_feed[key])
        try:
            slow = request.path == "/feed0.xml" and host == HOSTS[0] and first
            if slow:
                self.slow_seen.set()
            self.stop.wait(SLOW_FIRST if slow else ANSWER_AFTER)
            body = rss(host, request.path)
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass  # the client was killed mid-answer
        finally:
            with self.lock:
                self.active_host[host] -= 1
                self.active_feed[key] -= 1

    def count(self, host: str, path: str) -> list[float]:
        with self.lock:
            return [t for t, h, p, _ in self.requests if h == host and p == path]

    def close(self) -> None:
        self.stop.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


def rss(host: str, path: str) -> bytes:
    name = f"{host}{path}"
    stamp = format_datetime(datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc))
    items = "".join(f"<item><title>خبر‌های {name} شماره {i}</title><guid>{name}#{i}</guid>"
                    f"<description>متن کوتاه خبر {i} می‌آید</description><pubDate>{stamp}</pubDate></item>"
                    for i in range(ITEMS))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def worker(db_url: str, config: Path, log: Path, queues: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "etl", "--database-url", db_url, "--config", str(config), "worker", "--queues", queues,
         "--concurrency", "8", "--per-host", str(PER_HOST), "--per-host-delay", "0"],
        cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def pid_of_client_port(port: int, pids: list[int]) -> int | None:
    """The process holding the TCP connection from local ``port`` (via /proc: no extra package)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in pids:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return pid
    return None




@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


@pytest.mark.slow
def test_three_workers_and_a_dispatcher_share_the_schedule(pg_url, tmp_path, site):
    config = tmp_path / "sources.toml"
    config.write_text("".join(
        f'[[sources]]\nname = "h{h}f{f}"\nkind = "feed"\nurl = "{site.url(h, f)}"\ninterval = 3\n'
        for h in range(len(HOSTS)) for f in range(FEEDS_PER_HOST)), encoding="utf-8")
    engine = create_engine(pg_url)
    procs: list[subprocess.Popen] = []
    try:
        polls = [worker(pg_url, config, tmp_path / f"w{i}.log", "polls") for i in range(3)]
        dispatcher = worker(pg_url, config, tmp_path / "d1.log", "schedule")
        procs += polls + [dispatcher]
        assert site.slow_seen.wait(90), (tmp_path / "d1.log").read_text()
        _, _, _, port = next(r for r in site.requests if r[1] == HOSTS[0] and r[2] == "/feed0.xml")
        victim = pid_of_client_port(port, [p.pid for p in polls])
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: len(site.count(HOSTS[0], "/feed0.xml")) >= 2, STALL_BOUND + 20, "the killed poll redone")
        assert site.count(HOSTS[0], "/feed0.xml")[1] - killed_at <= STALL_BOUND + 10

        total = len(HOSTS) * FEEDS_PER_HOST * ITEMS
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM articles") == total, 120, f"{total} articles")
        os.killpg(dispatcher.pid, signal.SIGKILL)
        dispatcher.wait(10)
        time.sleep(2)
        before = len(site.requests)
        procs.append(worker(pg_url, config, tmp_path / "d2.log", "schedule"))
        wait_for(lambda: len(site.requests) > before + 50, 60, "dispatch to resume under a new dispatcher")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT key FROM articles")).scalars().all()
        polled = conn.execute(text("SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL")).scalar()
    engine.dispose()
    assert len(keys) == len(set(keys)) == total  # every article stored once
    assert polled == len(HOSTS) * FEEDS_PER_HOST
    assert site.max_feed == 1, "a feed was fetched by two workers at once"
    assert 1 < site.max_host <= PER_HOST, f"a host served {site.max_host} requests at once (limit {PER_HOST})"
    assert len(site.requests) > len(HOSTS) * FEEDS_PER_HOST  # feeds were polled again on their schedule
