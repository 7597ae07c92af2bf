"""Poll benchmark: how many feeds one process polls, beside what its own politeness rules allow.

    .venv/bin/python bench/poll/run.py [--feeds 1000] [--hosts 249] [--concurrency N]
        [--per-host-delay 1.0] [--database-url URL]

server.py (a separate process) serves ``--feeds`` RSS feeds from ``--hosts`` sites on 127.0.0.2 ..
127.0.0.250 (more sites go on to 127.0.1.2 .. 127.0.1.250 and so on, all loopback), so per-host
politeness does not serialize them; a share of the sites are full-text
sites whose every item's page is fetched. The product's own fetch path (``run_once`` with a real
HttpClient and a real database) makes one cold pass (every feed and page fetched, every article
written) and one warm pass (every feed answers 304). For each pass it prints seconds, feeds/s,
pages/s and peak RSS, beside the floor: the least wall time the per-host rules permit (requests
to one host start ``per_host_delay`` apart, so a host with R requests needs (R - 1) x delay), and
the ratio of the two. Asserts nothing.

--database-url: a SQLite URL is used as given (default: a new file in a temporary folder); a
PostgreSQL URL names the server, on which a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from etl.config import DEFAULT_CONCURRENCY, Source  # noqa: E402
from etl.clean.article import to_article  # noqa: E402
from etl.fetch.http import HttpClient, HttpSettings  # noqa: E402
from etl.fetch.pages import site_hosts  # noqa: E402
from etl.models import RawItem  # noqa: E402
from etl.executors import once  # noqa: E402
from etl.executors.once import run_once  # noqa: E402
from etl.tasks.context import Context  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.sources import sync_sources  # noqa: E402
from server import MAX_HOSTS, plan  # noqa: E402

MiB = 1024 * 1024


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PeakRss:
    """Samples this process's resident set every 20 ms; ``peak`` is the largest seen."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss())
            if self._stop.wait(0.02):
                return


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def start_server(args) -> tuple[subprocess.Popen, dict[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("server.py")), "--feeds", str(args.feeds), "--hosts",
         str(args.hosts), "--items", str(args.items), "--full-text-share", str(args.full_text_share)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the feed server did not start")
    return proc, json.loads(line)["ports"]


def sources_of(args, ports: dict[str, int]) -> list[Source]:
    found = []
    for address, feeds, full in plan(args.feeds, args.hosts, args.full_text_share):
        found += [Source(name=f"feed{n}", kind="feed", url=f"http://{address}:{ports[address]}/feed/{n}.xml",
                         full_text=full, interval=900) for n in feeds]
    return sorted(found, key=lambda s: int(s.name[4:]))  # the order a sources file would list them


def floor(args, cold: bool) -> float:
    """Least wall time the per-host rules allow: a host's R requests start per_host_delay apart."""
    worst = 0
    for _, feeds, full in plan(args.feeds, args.hosts, args.full_text_share):
        requests = len(feeds) * (1 + (args.items if full and cold else 0))
        worst = max(worst, requests)
    return max(0, worst - 1) * args.per_host_delay


class Database:
    """The URL to load into; a throwaway PostgreSQL database when a PostgreSQL URL is given."""

    def __init__(self, url: str | None) -> None:
        self._tmp = None
        self._admin = None
        if url is None or url.startswith("sqlite"):
            if url is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="bench-poll-")
                url = f"sqlite:///{self._tmp.name}/news.db"
            self.url = url
            return
        server = make_url(url if "+" in url.split("://")[0] else url.replace("postgresql://", "postgresql+psycopg://", 1))
        self._name = f"news_etl_bench_poll_{uuid.uuid4().hex[:10]}"
        self._admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self._name}"'))
        self.url = server.set(database=self._name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
            self._admin.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()


def warm_up(feeds: list[Source]) -> None:
    """Load what the cleaner and the site rule load once per process (the ZWNJ lexicon, the public
    suffix list), so the passes measure polling, not a process's first use of them."""
    site_hosts(feeds[0].url)
    to_article(RawItem("warm-up", title="خبر آزمایشی می‌شود", body="متن"), utcnow())


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_pass(engine, feeds, client, args, server_pid: int, profile: "ThreadProfiles | None" = None) -> dict:
    with PeakRss() as memory:
        started, cpu, served = time.perf_counter(), time.process_time(), process_cpu(server_pid)
        if profile is None:
            reports = run_once(Context(engine, utcnow, client), feeds, args.concurrency)
        else:
            with profile:
                reports = run_once(Context(engine, utcnow, client), feeds, args.concurrency)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        served = process_cpu(server_pid) - served
    errors = Counter((r.error or "").split(": ", 1)[-1][:60] for r in reports if r.error)
    return {"seconds": seconds, "cpu": cpu, "server_cpu": served, "rss": memory.peak,
            "failed_sources": sum(errors.values()), "errors": errors,
            "new": sum(r.new for r in reports), "failed_items": sum(r.failed for r in reports)}


class ThreadProfiles:
    """CPU profile of every worker thread of a pass (cProfile sees only the thread that enables it):
    each thread's first call to ``run_pass`` starts a profiler of its own; ``stats`` merges them."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        self._original = None

    def __enter__(self) -> "ThreadProfiles":
        self._original = once.run_pass
        once.run_pass = self._wrapped
        return self

    def __exit__(self, *exc: object) -> None:
        once.run_pass = self._original

    def _wrapped(self, *args, **kwargs):
        profiler = getattr(self._local, "profiler", None)
        if profiler is None:
            # Per-thread CPU time: a worker waiting on a socket, a lock or its host's turn costs nothing.
            profiler = self._local.profiler = cProfile.Profile(time.thread_time)
            with self._lock:
                self._all.append(profiler)
        return profiler.runcall(self._original, *args, **kwargs)

    def print(self, limit: int) -> None:
        stats = pstats.Stats(*self._all) if self._all else None
        if stats is None:
            return
        print(f"CPU profile of the warm pass ({len(self._all)} threads, thread CPU seconds), by own time:")
        stats.sort_stats("tottime").print_stats(limit)
        print("by cumulative time:")
        stats.sort_stats("cumulative").print_stats(limit)


def server_counts(ports: dict[str, int]) -> Counter:
    import urllib.request
    address, port = next(iter(ports.items()))
    with urllib.request.urlopen(f"http://{address}:{port}/_stats", timeout=10) as response:
        return Counter(json.loads(response.read()))


def report(name: str, result: dict, feeds: int, pages: int, floor_s: float) -> None:
    s = result["seconds"]
    ratio = f"{s / floor_s:.2f}x" if floor_s > 0 else "n/a"
    per_feed = result["cpu"] / feeds * 1000
    print(f"{name:5} {s:8.2f} s (CPU {result['cpu']:6.2f} s)  {feeds / s:8.1f} feeds/s  {pages / s:8.1f} pages/s  "
          f"peak RSS {result['rss'] / MiB:6.1f} MiB  floor {floor_s:6.2f} s  time/floor {ratio}  "
          f"(new articles {result['new']}, failed sources {result['failed_sources']}, "
          f"failed items {result['failed_items']})")
    # The fetcher's CPU per feed does not depend on how loaded the machine is; one core at that
    # cost polls 1000 / ms feeds a second (the server and the database need the other core).
    print(f"      fetcher CPU {per_feed:.2f} ms/feed ({1000 / per_feed:.0f} feeds/s on one quiet core, "
          f"{result['cpu'] / s:.0%} of a core used); server CPU {result['server_cpu'] / feeds * 1000:.2f} ms/feed")
    for error, count in result["errors"].most_common(3):
        print(f"      {count} x {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=249,
                        help="sites on 127.0.0.2 .. 127.0.0.250, then 127.0.1.2 .. and on (loopback only)")
    parser.add_argument("--items", type=int, default=5, help="items per feed")
    parser.add_argument("--full-text-share", type=float, default=0.1, help="share of sites fetched in full text")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="sources fetched at once")
    parser.add_argument("--per-host-delay", type=float, default=1.0, help="seconds between requests to one host")
    parser.add_argument("--per-host-concurrency", type=int, default=2)
    parser.add_argument("--database-url", metavar="URL", help="sqlite:///... or a PostgreSQL server URL")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="print the N costliest functions of the warm pass (cProfile of every worker thread)")
    args = parser.parse_args()
    if not 1 <= args.hosts <= MAX_HOSTS:
        parser.error(f"--hosts {args.hosts}: must be 1 .. {MAX_HOSTS}")
    proc, ports = start_server(args)
    database = Database(args.database_url)
    try:
        run(args, ports, database.url, proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(30)
        database.drop()


def run(args, ports: dict[str, int], url: str, server_pid: int) -> None:
    engine = make_engine(url)
    upgrade(engine, utcnow())
    feeds = sources_of(args, ports)
    with engine.begin() as conn:
        sync_sources(conn, feeds, utcnow())
    settings = HttpSettings(per_host_delay=args.per_host_delay, per_host_concurrency=args.per_host_concurrency)
    print(f"{len(feeds)} feeds on {len(ports)} hosts, {args.items} items each, "
          f"{sum(f.full_text for f in feeds)} full-text feeds; concurrency {args.concurrency}, per host: delay "
          f"{args.per_host_delay:g} s, {args.per_host_concurrency} at once; database {urlsplit(url).scheme}")
    warm_up(feeds)
    with HttpClient(settings) as client:
        cold = one_pass(engine, feeds, client, args, server_pid)
        after_cold = server_counts(ports)
        profile = ThreadProfiles() if args.profile else None
        warm = one_pass(engine, feeds, client, args, server_pid, profile)
        after_warm = server_counts(ports)
    engine.dispose()
    pages = after_cold["200"] - len(feeds)
    report("cold", cold, len(feeds), pages, floor(args, cold=True))
    report("warm", warm, len(feeds), after_warm["200"] - after_cold["200"], floor(args, cold=False))
    print(f"server: cold {after_cold['200']} x 200, {after_cold['304']} x 304; warm "
          f"{after_warm['200'] - after_cold['200']} x 200, {after_warm['304'] - after_cold['304']} x 304")
    if profile is not None:
        profile.print(args.profile)
    cold_floor = floor(args, cold=True)
    print(f"targets: warm >= 500 feeds/s (got {len(feeds) / warm['seconds']:.0f}); cold <= 1.5x floor (got "
          + (f"{cold['seconds'] / cold_floor:.2f}x)" if cold_floor > 0 else "n/a: this layout has no cold floor)"))


if __name__ == "__main__":
    main()
