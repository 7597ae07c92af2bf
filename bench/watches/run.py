"""What watches cost: the matching per committed batch, and the time from commit to webhook.

    .venv/bin/python bench/watches/run.py [--watches 10,100,1000] [--batch 500] [--database postgresql|sqlite]
                                         [--items 60] [--pg-url URL] [--tiny]

Prints figures; asserts nothing. Two parts:

1. Matching cost. A throwaway database holds a corpus built from the real Fars News paragraphs
   (bench/search's generator); N watches are declared (their queries drawn from the same text:
   single words, two-word phrases, ZWNJ compounds); then batches of --batch new articles are
   loaded through ``load_batch`` with alerts on, and the time spent in ``match_batch`` (the one
   statement that records the batch's hits, with its deliveries) is measured, beside the whole
   batch's load time without alerts in the same run. On PostgreSQL both plans are measured at
   every N (pairs tested one by one, and the batch's own GIN index) so ``GIN_PAIRS`` can be
   checked; the plan the loader picks is marked.
2. Commit to webhook. `news-etl run` (the local executor) polls a live local feed that publishes
   an item every 0.5 s, each matching a watch whose webhook is a local server; for each article,
   the time from its hit's ``matched_at`` (the batch's load time, just before its commit) to the
   webhook's receipt of it: p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "search")]

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from etl.clean.article import to_article  # noqa: E402
from etl.config import Source  # noqa: E402
from etl.load import watches as watches_module  # noqa: E402
from etl.load.batch import load_batch  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.sources import ensure_source  # noqa: E402
from etl.load.watches import sync_watches  # noqa: E402
from etl.models import RunReport  # noqa: E402
from etl.watches.model import Watch  # noqa: E402
from run import paragraphs, raw_items  # noqa: E402  (bench/search/run.py)

ZWNJ = "\u200c"


def queries(count: int, seed: int = 7, broad: bool = False) -> list[str]:
    """Watch queries drawn from the corpus text: a third single words, a third two-word phrases
    as written, a third ZWNJ compounds (in their joined spelling, so the Persian-aware match has
    work to do). A desk watches a name or a topic, so by default each is drawn among those in
    0.05% to 0.5% of the paragraphs (an article has 3 to 8: about 0.3% to 3% of the articles, a
    few hits per watch and batch); ``broad``: drawn from the running text, common words included
    (tens of hits per watch and batch: a stress case)."""
    rng = random.Random(seed)
    _, paras = paragraphs()
    tokens = [p.split() for p in paras]
    words = [w for t in tokens for w in t if len(w) >= 5 and w.isalpha()]
    pairs = [f'"{a} {b}"' for t in tokens for a, b in zip(t, t[1:]) if a.isalpha() and b.isalpha()]
    compounds = [w.replace(ZWNJ, "") for t in tokens for w in t
                 if ZWNJ in w.strip(ZWNJ) and len(w) >= 6 and w.replace(ZWNJ, "").isalpha()]
    pools = [words, pairs, compounds]
    if not broad:
        pools = [_selective(pool, tokens) for pool in pools]
    return [rng.choice(pools[n % 3]) for n in range(count)]


def _selective(pool: list[str], tokens: list[list[str]]) -> list[str]:
    """The distinct entries of ``pool`` found in 0.05% to 0.5% of the paragraphs (as a word, a
    joined compound, or a pair of words)."""
    low, high = max(1, len(tokens) // 2000), len(tokens) // 200
    seen: Counter = Counter()
    for t in tokens:
        seen.update({w.replace(ZWNJ, "") for w in t} | {f'"{a} {b}"' for a, b in zip(t, t[1:])})
    return sorted(entry for entry in set(pool) if low <= seen[entry] <= high) or sorted(set(pool))


def matching(url: str, counts: list[int], batch: int, base: int, repeat: int, broad: bool = False) -> None:
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    upgrade(engine, now)
    with engine.begin() as conn:
        sid = ensure_source(conn, Source(name="bench", kind="files", path="x"), now, in_config=False)
    items = raw_items(base + batch * repeat * (len(counts) * 3 + 1), seed=1)
    fetched = [to_article(i, now) for i in items]
    cursor = 0

    def next_batch():
        nonlocal cursor
        chunk = fetched[cursor:cursor + batch]
        cursor += batch
        return chunk

    for start in range(0, base, batch):
        load_batch(engine, sid, RunReport(kind="bench", source="bench"), fetched[start:start + batch], [], now)
    cursor = base
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    plain = [_timed(lambda: load_batch(engine, sid, RunReport(kind="bench", source="bench"), next_batch(), [], now))
             for _ in range(repeat)]
    load_ms = statistics.median(plain) * 1000
    print(f"{engine.dialect.name}: a {batch}-article batch loads in {load_ms:.0f} ms without watches "
          f"(median of {repeat}, onto {base:,} articles)")
    for count in counts:
        with engine.begin() as conn:
            sync_watches(conn, [Watch(f"w{n}", q, webhook="http://127.0.0.1:9/h")
                                for n, q in enumerate(queries(count, broad=broad))], now)
        plans = ([("pairs", False), ("gin", True)] if engine.dialect.name == "postgresql" else [("fts5", None)])
        chosen = count * batch >= watches_module.GIN_PAIRS
        for label, gin in plans:
            spent, hits = _match_cost(engine, sid, next_batch, now, repeat, gin)
            mark = " (the loader's choice)" if gin is None or gin == chosen else ""
            print(f"  {count:>5} watches, {label:>5} plan: {spent:7.1f} ms per batch, {hits / repeat:7.0f} hits "
                  f"per batch, {spent / load_ms:.2f}x the batch's load{mark}")
    engine.dispose()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _match_cost(engine, sid: int, next_batch, now, repeat: int, gin: bool | None) -> tuple[float, int]:
    """Median milliseconds in match_batch per batch (the plan forced on PostgreSQL), and all hits."""
    spent: list[float] = []
    hits = 0
    original_match, original_pg = watches_module.match_batch, watches_module._match_pg

    def forced(conn, ids, new, at, gin=None, plan=gin):
        return original_pg(conn, ids, new, at, gin=plan if plan is not None else gin)

    def timed(conn, new_ids, updated_ids, at):
        start = time.perf_counter()
        found = original_match(conn, new_ids, updated_ids, at)
        spent.append((time.perf_counter() - start) * 1000)
        return found

    import etl.load.batch as batch_module
    batch_module.match_batch = timed
    watches_module._match_pg = forced
    try:
        for _ in range(repeat):
            report = RunReport(kind="bench", source="bench")
            load_batch(engine, sid, report, next_batch(), [], now, alerts=True)
            hits += report.hits
    finally:
        batch_module.match_batch = original_match
        watches_module._match_pg = original_pg
    return statistics.median(spent), hits


# --- commit to webhook ---------------------------------------------------------------------------


class Live:
    """A feed on 127.0.0.2 publishing an item every ``every`` seconds (each matching "نفت"),
    and a webhook on 127.0.0.1 noting when each article arrives."""

    def __init__(self, items: int, every: float) -> None:
        self.items, self.every, self.start = items, every, time.monotonic()
        self.received: dict[int, datetime] = {}
        live = self

        class Feed(BaseHTTPRequestHandler):
            def do_GET(self):
                body = live.rss()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                arrived = datetime.now(timezone.utc)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                live.received.setdefault(body["article"]["id"], arrived)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.feed = ThreadingHTTPServer(("127.0.0.2", 0), Feed)
        self.hook = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
        for server in (self.feed, self.hook):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def published(self) -> int:
        return min(self.items, int((time.monotonic() - self.start) / self.every) + 1)

    def rss(self) -> bytes:
        stamp = format_datetime(datetime(2026, 1, 8, 10, 0, tzinfo=timezone.utc))
        items = "".join(f"<item><title>خبر {k}</title><guid>bench-{k}</guid><link>https://live.example/{k}</link>"
                        f"<description>قیمت نفت در ساعت {k} تغییر کرد.</description><pubDate>{stamp}</pubDate></item>"
                        for k in range(self.published()))
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>b</title>{items}</channel></rss>'.encode()

    def close(self) -> None:
        for server in (self.feed, self.hook):
            server.shutdown()
            server.server_close()


def latency(url: str, items: int, every: float) -> None:
    live = Live(items, every)
    folder = Path(tempfile.mkdtemp())
    config = folder / "sources.toml"
    config.write_text(f'[[sources]]\nname = "live"\nkind = "feed"\nurl = "http://127.0.0.2:{live.feed.server_address[1]}/f"\n'
                      f'interval = 1\nmax_interval = 1\n\n[[watches]]\nname = "oil"\nquery = "نفت"\n'
                      f'webhook = "http://127.0.0.1:{live.hook.server_address[1]}/hook"\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", url, "--config", str(config), "-q", "run",
                             "--per-host-delay", "0", "--http-retries", "0"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + items * every + 60
    try:
        while len(live.received) < items and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(40)
        live.close()
    engine = make_engine(url)
    with engine.connect() as conn:
        matched = dict(conn.execute(text("SELECT article_id, matched_at FROM watch_hits")).all())
    engine.dispose()
    delays = sorted((live.received[aid] - _aware(matched[aid])).total_seconds() * 1000
                    for aid in live.received if aid in matched)
    if not delays:
        print("commit to webhook: nothing delivered (see `news-etl watches`)")
        return
    p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
    print(f"commit to webhook over a live feed ({len(delays)} of {items} items, one every {every:g} s, polled every "
          f"1 s): p50 {statistics.median(delays):.0f} ms, p95 {p95:.0f} ms, max {delays[-1]:.0f} ms")


def _aware(value: datetime | str) -> datetime:
    """A stored time as aware UTC (a raw SQLite query returns its text)."""
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watches", default="10,100,1000", help="watch counts, comma-separated")
    parser.add_argument("--batch", type=int, default=500, help="articles per committed batch")
    parser.add_argument("--base", type=int, default=5000, help="articles stored before the measured batches")
    parser.add_argument("--repeat", type=int, default=3, help="batches measured per figure (the median is shown)")
    parser.add_argument("--items", type=int, default=60, help="live feed items for the commit-to-webhook part")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--broad", action="store_true", help="queries of common words too (a stress case)")
    parser.add_argument("--no-latency", action="store_true", help="leave out the commit-to-webhook part")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: 3 and 10 watches, batches of 20, 5 items")
    args = parser.parse_args()
    counts = [int(n) for n in args.watches.split(",")]
    if args.tiny:
        counts, args.batch, args.base, args.repeat, args.items = [3, 10], 20, 40, 1, 5
    with _database(args) as url:
        matching(url, counts, args.batch, args.base, args.repeat, args.broad)
    if not args.no_latency:
        with _database(args) as url:
            latency(url, args.items, 0.5)


class _database:
    """A throwaway database: a new PostgreSQL database dropped at the end, or a SQLite file."""

    def __init__(self, args) -> None:
        self.args, self.name = args, f"news_etl_bench_{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> str:
        if self.args.database == "sqlite":
            self.tmp = tempfile.TemporaryDirectory()
            return f"sqlite:///{self.tmp.name}/bench.db"
        self.admin = make_engine(self.args.pg_url)
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return make_url(self.args.pg_url).set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        if self.args.database == "sqlite":
            self.tmp.cleanup()
            return
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


if __name__ == "__main__":
    main()
