"""Feeds/s of the procrastinate executor with 1, 2 and 4 worker processes, beside the local executor.

    .venv/bin/python bench/scale/run.py [--feeds 600] [--hosts 30] [--delay 0.1] [--concurrency 8] [--pg-url URL]

The site (loopback hosts 127.0.0.x, one server each) answers every request after ``--delay``
seconds, so the work is network-bound as on the internet. Each configuration gets a fresh
PostgreSQL database with the same feeds: the workers (plus one dispatcher, ``--queues schedule``)
are started and registered first, then every feed is made due at once, and the clock runs until
every feed has been fetched successfully. The local executor's figure is one pass of
``etl.executors.once.run_once`` (each source's pass, as ``news-etl run`` runs it) with ``--concurrency`` threads.
Prints figures and ratios against one worker, measured in the same run; asserts nothing. Beside
each rate: CPU milliseconds per feed of the worker processes, the dispatcher, PostgreSQL's backends
of the bench database (all from /proc/PID/stat) and this process (the site; the local executor's
work too), how busy the whole machine was (/proc/stat: other jobs included), and the PostgreSQL
connections to the bench database when the last feed was done. CPU- or network-bound shows there.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from etl.config import load_sources  # noqa: E402
from etl.tasks.context import Context  # noqa: E402
from etl.executors.queue import ensure_queue_schema  # noqa: E402
from etl.fetch.http import HttpClient, HttpSettings  # noqa: E402
from etl.executors.once import run_once  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.sources import sync_sources  # noqa: E402

TIMEOUT = 300.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a live process, from /proc/PID/stat; 0 once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15 of proc(5))


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat: every process, others' too."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def backend_pids(engine, database: str) -> list[int]:
    with engine.connect() as conn:
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
        return list(conn.execute(text(sql), {"d": database}).scalars())


@dataclass
class Figure:
    """One configuration's rate and where the CPU went while it ran (seconds per feed)."""

    rate: float
    seconds: float
    workers_cpu: float = 0.0
    dispatcher_cpu: float = 0.0
    postgres_cpu: float = 0.0
    bench_cpu: float = 0.0     # this process: the loopback site's servers (and the local executor)
    machine_busy: float = 0.0  # fraction of both cores busy, every process on the machine included
    connections: int = 0       # PostgreSQL connections to the bench database when the last feed was done

    def per_feed_ms(self, cpu: float, feeds: int) -> float:
        return 1000 * cpu / feeds


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Site:
    def __init__(self, hosts: int, delay: float) -> None:
        self.delay = delay
        self.stop = threading.Event()
        self.servers = [self._serve(f"127.0.0.{2 + i}") for i in range(hosts)]

    def _serve(self, host: str) -> ThreadingHTTPServer:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.stop.wait(site.delay)
                name = f"{host}{self.path}"
                body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                        f"<item><title>خبر‌ {name}</title><guid>{name}</guid><description>متن خبر می‌آید</description>"
                        f"</item></channel></rss>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def sources_file(self, feeds: int, path: Path) -> Path:
        lines = []
        for i in range(feeds):
            server = self.servers[i % len(self.servers)]
            host, port = server.server_address
            lines.append(f'[[sources]]\nname = "f{i}"\nkind = "feed"\nurl = "http://{host}:{port}/{i}.xml"\n'
                         "interval = 3600\n")
        path.write_text("".join(lines), encoding="utf-8")
        return path

    def close(self) -> None:
        self.stop.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


class Database:
    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"news_etl_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def prepared(admin_url: str, config: Path) -> tuple[Database, object]:
    db = Database(admin_url)
    engine = make_engine(db.url)
    upgrade(engine, utcnow())
    ensure_queue_schema(engine)
    with engine.begin() as conn:
        sync_sources(conn, load_sources(config), utcnow())
        conn.execute(text("UPDATE sources SET next_attempt_at = now() + interval '1 day'"))  # not due yet
    return db, engine


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def wait(engine, sql: str, want: int, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while scalar(engine, sql) < want:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/scale: timed out waiting for {what}")
        time.sleep(0.05)


class Meter:
    """CPU seconds of the given processes, this one, PostgreSQL's backends of one database and the
    whole machine between ``start`` and ``stop``."""

    def __init__(self, engine, database: str, pids: list[int]) -> None:
        self.engine, self.database, self.pids = engine, database, pids

    def start(self) -> None:
        self.backends = {pid: cpu_of(pid) for pid in backend_pids(self.engine, self.database)}
        self.procs = {pid: cpu_of(pid) for pid in self.pids}
        self.bench, self.machine = time.process_time(), machine_busy()
        self.wall = time.monotonic()

    def stop(self, feeds: int, dispatcher: int | None) -> Figure:
        seconds = time.monotonic() - self.wall
        busy, total = machine_busy()
        # A backend opened during the run counts from zero; one closed during it is lost (pools keep them).
        pids = backend_pids(self.engine, self.database)
        backends = sum(cpu_of(pid) - self.backends.get(pid, 0.0) for pid in pids)
        procs = {pid: cpu_of(pid) - before for pid, before in self.procs.items()}
        disp = procs.pop(dispatcher, 0.0) if dispatcher else 0.0
        return Figure(rate=feeds / seconds, seconds=seconds, workers_cpu=sum(procs.values()), dispatcher_cpu=disp,
                      postgres_cpu=backends, bench_cpu=time.process_time() - self.bench,
                      machine_busy=(busy - self.machine[0]) / max(1e-9, total - self.machine[1]),
                      connections=len(pids))


def queue_run(admin_url: str, config: Path, feeds: int, workers: int, concurrency: int, logs: Path) -> Figure:
    db, engine = prepared(admin_url, config)
    cmd = [sys.executable, "-m", "etl", "--database-url", db.url, "--config", str(config), "-q", "worker",
           "--concurrency", str(concurrency), "--per-host-delay", "0"]
    procs = [subprocess.Popen(cmd + ["--queues", "schedule"], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=(logs / f"d{workers}.log").open("wb"))]
    procs += [subprocess.Popen(cmd + ["--queues", "polls"], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=(logs / f"w{workers}-{i}.log").open("wb")) for i in range(workers)]
    try:
        wait(engine, "SELECT count(*) FROM procrastinate_workers", workers + 1, "the workers to start")
        meter = Meter(engine, db.name, [p.pid for p in procs])
        meter.start()
        with engine.begin() as conn:
            conn.execute(text("UPDATE sources SET next_attempt_at = now()"))
        wait(engine, "SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL", feeds, "every feed fetched")
        return meter.stop(feeds, procs[0].pid)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        engine.dispose()
        db.drop()


def local_run(admin_url: str, config: Path, feeds: int, concurrency: int) -> Figure:
    db, engine = prepared(admin_url, config)
    try:
        sources = load_sources(config)
        with HttpClient(HttpSettings(per_host_delay=0.0, retries=1)) as client:
            meter = Meter(engine, db.name, [])
            meter.start()
            reports = run_once(Context(engine, utcnow, client), sources, concurrency)
            figure = meter.stop(feeds, None)
        failed = [r for r in reports if r.error]
        if failed:
            raise SystemExit(f"bench/scale: local executor: {len(failed)} feed(s) failed, e.g. {failed[0].error}")
        return figure
    finally:
        engine.dispose()
        db.drop()


def row(label: str, figure: Figure, feeds: int, base: Figure | None) -> str:
    ratio = f"{figure.rate / base.rate:5.2f}x" if base else "     "
    ms = lambda cpu: f"{figure.per_feed_ms(cpu, feeds):5.1f}"  # noqa: E731
    return (f"  {label:<34} {figure.rate:7.1f} {ratio}  {ms(figure.workers_cpu)} {ms(figure.dispatcher_cpu)} "
            f"{ms(figure.postgres_cpu)} {ms(figure.bench_cpu)}   {100 * figure.machine_busy:3.0f}%"
            f"  {figure.connections:4d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=600)
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before the site answers")
    parser.add_argument("--concurrency", type=int, default=8, help="tasks per worker (threads of the local executor)")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to measure")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG",
                                                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    site = Site(args.hosts, args.delay)
    with tempfile.TemporaryDirectory() as tmp:
        config = site.sources_file(args.feeds, Path(tmp) / "sources.toml")
        try:
            local = local_run(args.pg_url, config, args.feeds, args.concurrency)
            figures = {n: queue_run(args.pg_url, config, args.feeds, n, args.concurrency, Path(tmp))
                       for n in map(int, args.workers.split(","))}
        finally:
            site.close()
    print(f"bench/scale: {args.feeds} feeds on {args.hosts} loopback hosts, answers after {args.delay * 1000:.0f} ms, "
          f"{args.concurrency} tasks per worker, per-host limit 2 across workers")
    print(f"  {'configuration':<34} {'feeds/s':>7} {'ratio':>5}  CPU ms per feed: workers dispatcher postgres "
          f"site(bench)   machine busy  PG conns")
    print(row(f"local executor ({args.concurrency} threads)", local, args.feeds, None))
    base = figures.get(1)
    for n, figure in figures.items():
        print(row(f"procrastinate, {n} worker(s)", figure, args.feeds, base))
    print(f"  (load average before the run: {load_before}; machine busy counts every process, other jobs' too)")


if __name__ == "__main__":
    main()
