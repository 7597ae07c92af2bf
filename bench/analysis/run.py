"""What the analysis commands cost at archive size: trends, terms and search in the same run.

    .venv/bin/python bench/analysis/run.py [--articles 100000] [--database postgresql|sqlite]
                                           [--million  (1,000,000: 100,000 loaded, then multiplied in SQL)]
                                           [--tiny  (2,000 articles, a few repeats: the smoke test)]
                                           [--database-url URL  (kept: loaded first when it is empty)] [--repeat 20]

Prints figures; asserts nothing. Loads N articles of real Fars News text as eight outlets through
the product's own backfill (bench/analysis/corpus.py) into a throwaway database; with --million,
100,000 are loaded so and multiplied ten times in SQL with shifted dates (a multiplied corpus is
not a real one: see corpus.py). With --database-url the database is never dropped: an empty one
(``CREATE DATABASE bench_million``) is loaded as above once, and later runs reuse it. Then, REPEAT
times each, on a year of Tehran days:

  - trends by day for a rare and a common query (the common one in about half the articles),
    and the same with the totals counted live instead of read from article_day_counts, and with
    the matches counted at the server's own work_mem instead of exact bitmaps (the baselines);
  - trends of the common query counted ahead (``news-etl db precount``: counted, measured, and
    forgotten again, so a kept database stays as it was), with the time counting it ahead took;
  - terms of the common query on a 5,000-article sample (and as many other articles);
  - search for both queries (the ranked list, limit 20), as the reference every user knows.

and prints the median and p95 of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import corpus  # noqa: E402  (bench/analysis/corpus.py)

from bench.common import bench_database  # noqa: E402
from etl.analysis.terms import terms  # noqa: E402
from etl.analysis.trends import trends  # noqa: E402
from etl.analysis.words import countable, token, words  # noqa: E402
from etl.load import analysis as load_analysis  # noqa: E402
from etl.load import querycounts  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.search import Filters, search  # noqa: E402

YEAR = Filters(since=corpus.START, until=corpus.START + timedelta(days=365))


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


CPU: list[float] = []  # this process's CPU milliseconds per run of the last timed() call


def timed(repeat: int, call) -> tuple[list[float], object]:
    """Wall-clock milliseconds per run (and, in CPU, this process's CPU milliseconds: on a
    machine shared with other work the wall clock also counts the waiting)."""
    times, result = [], None
    CPU.clear()
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = call()
        times.append((time.perf_counter() - start) * 1000)
        CPU.append((time.process_time() - cpu) * 1000)
    return times, result


def pick_queries(paras: list[str], seed: int = 7) -> tuple[str, str]:
    """A common word (in about half the articles) and a rare one (in about 0.3%), estimated on
    articles built the way the corpus builds them."""
    rng = random.Random(seed)
    docs = [set(token(w).word for w in words("\n".join(rng.sample(paras, rng.randint(3, 8))))) for _ in range(3000)]
    df = Counter(w for doc in docs for w in doc if w and countable(w) and len(w) > 2)
    common = min(df, key=lambda w: (abs(df[w] / len(docs) - 0.5), w))
    persian = [w for w in df if all("\u0621" <= c <= "\u06cc" for c in w)]
    rare = min(persian, key=lambda w: (abs(df[w] / len(docs) - 0.003), w))
    return common, rare


@contextmanager
def live_totals():
    """Totals counted from the articles, as before article_day_counts: the baseline."""
    kept = load_analysis._precounted
    load_analysis._precounted = lambda conn, filters, match=None, ahead=None: \
        load_analysis._day_counts_pg(conn, filters, match)
    try:
        yield
    finally:
        load_analysis._precounted = kept


@contextmanager
def server_work_mem():
    """Live counts at the server's own work_mem, as before exact_bitmaps (lossy bitmaps on a
    large archive): the baseline of the live counts."""
    kept = load_analysis.exact_bitmaps
    load_analysis.exact_bitmaps = lambda conn: nullcontext()
    try:
        yield
    finally:
        load_analysis.exact_bitmaps = kept


def report(label: str, times: list[float], extra: str = "") -> None:
    print(f"  {label:<44} median {statistics.median(times):8.1f} ms   p95 {p95(times):8.1f} ms  {extra}")


def measure(engine, repeat: int, postgres: bool) -> None:
    _, paras = corpus.fars_text()
    common, rare = pick_queries(paras)
    if postgres:
        with engine.begin() as conn:  # a kept database left as a stopped run may have left it
            for query in (rare, common):
                querycounts.forget(conn, query)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM articles")).scalar()
        live = {}
        for label, query in (("rare", rare), ("common", common)):
            times, found = timed(repeat, lambda q=query: trends(conn, [q], YEAR, by="day"))
            live[query] = found
            matches, all_ = sum(found.series[0].counts), sum(found.totals)
            report(f"trends by day, a year, {label} '{query}'", times,
                   f"{matches:,} of {all_:,} articles in {len(found.periods)} days")
            if postgres:
                with live_totals():
                    base, _ = timed(repeat, lambda q=query: trends(conn, [q], YEAR, by="day"))
                report("  the same, totals counted live (baseline)", base,
                       f"p95 ratio precomputed/live {p95(times) / p95(base):.2f}")
                with server_work_mem():
                    base, _ = timed(repeat, lambda q=query: trends(conn, [q], YEAR, by="day"))
                report("  the same, at the server's work_mem (baseline)", base,
                       f"p95 ratio exact/lossy bitmaps {p95(times) / p95(base):.2f}")
        if postgres:
            start = time.perf_counter()
            with engine.begin() as writer:
                querycounts.count_ahead(writer, common, datetime.now(timezone.utc))
            fill = time.perf_counter() - start
            times, ahead = timed(repeat, lambda: trends(conn, [common], YEAR, by="day"))
            report(f"trends by day, a year, common '{common}' counted ahead", times,
                   f"counts equal to the live ones: {ahead == live[common]}; counting it ahead took {fill:.1f} s")
            with engine.begin() as writer:
                querycounts.forget(writer, common)
        times, found = timed(max(3, repeat // 4), lambda: terms(conn, common, YEAR, sample=5000))
        report(f"terms '{common}', sample 5,000", times,
               f"(of it, this process's CPU: median {statistics.median(CPU):.0f} ms) sample {found.sample:,} + "
               f"{found.background_sample:,} others; top: {', '.join(t.term for t in found.terms[:5])}")
        for label, query in (("rare", rare), ("common", common)):
            times, hits = timed(repeat, lambda q=query: search(conn, q, YEAR, limit=20))
            report(f"search (limit 20), {label} '{query}'", times)
    print(f"({total:,} articles in the database; {repeat} runs each, terms {max(3, repeat // 4)}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 articles: 100,000 loaded, multiplied x10 in SQL")
    parser.add_argument("--tiny", action="store_true", help="2,000 articles, 3 runs each (the smoke test)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database-url", help="a database already loaded by this bench (kept afterwards)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if args.tiny:
        args.articles, args.repeat = 2000, 3
    if args.million and args.database != "postgresql":
        parser.error("--million multiplies the corpus in PostgreSQL SQL: use --database postgresql")
    base = 100_000 if args.million else args.articles
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        url = bench_database(stack, args.database_url, args.database, args.pg_url, tmp)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        postgres = engine.dialect.name == "postgresql"
        now = datetime.now(timezone.utc)
        upgrade(engine, now)
        with engine.connect() as conn:
            present = conn.execute(text("SELECT count(*) FROM articles")).scalar()
        if not present:
            start = time.perf_counter()
            loaded = corpus.build(engine, base, Path(tmp), now)
            print(f"loaded {loaded:,} articles through backfill in {time.perf_counter() - start:.0f} s")
            if args.million:
                start = time.perf_counter()
                count = corpus.multiply(engine, 10)
                print(f"multiplied to {count:,} articles in SQL in {time.perf_counter() - start:.0f} s "
                      "(a multiplied corpus, not a real one)")
        if postgres:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        print(f"{engine.dialect.name}:")
        measure(engine, args.repeat, postgres)


if __name__ == "__main__":
    main()
