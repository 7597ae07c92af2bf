"""The archive bench (issue 27): an archive of real text built through the product's own backfill,
then what it costs to store and to read, all in one run.

    .venv/bin/python bench/archive/run.py [--articles 100000 | --million | --tiny] [--repeat 10]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--database-url URL  (an existing database, kept: loaded when empty, else only measured)]
        [--dump-dir DIR  (the JSONL dump kept there)]
        [--database-url URL --grow N  (N more articles into the kept archive: CPU and WAL per article)]

Prints figures beside the goals; asserts nothing. In a throwaway database (dropped at the end,
failure or not) unless --database-url names one:

  1. corpus: bench/analysis/corpus.py's articles (real Fars News paragraphs recombined into eight
     outlets' articles, some stories carried by several outlets), streamed to one JSONL file per
     outlet for the first 90% and one per outlet for the last 10% (the most recent): its size and
     the time generating it took;
  2. load, 1 process: `news-etl backfill FILE --source OUTLET` of each first-90% file in turn
     (default cleaners): wall seconds, articles/s, CPU ms per article of the main process, the
     cleaning workers (with their forkserver) and PostgreSQL (the backends of this database; beside
     it the whole server's, which on a shared machine holds other databases' work too), and the
     backfill's peak memory;
  3. load, 2 queue workers: `news-etl backfill --queue` of each last-10% file, drained by two
     `news-etl worker`s started (and registered) beforehand and stopped with SIGTERM after: the
     same, with the peak memory of each worker;
  4. database size per article: articles (table, TOAST, each index, the search index named),
     article_lsh, article_minhash, article_revisions, the whole database;
  5. search: bench/search's queries through the library's search() in-process, limit 20: p50 and
     p95 (goal at 1,000,000 articles: p95 < 100 ms), the slowest query named;
  6. analysis, as bench/analysis runs it: trends of a rare and a common word by day over a year,
     terms of the common word (a 5,000-article sample), outlets, stories: median and p95;
  7. web: `news-etl serve` on loopback, time to first byte of the search page for the same queries
     and of 50 random article pages (goal p95 < 200 ms), the server's peak memory;
  8. CLI: `news-etl status`, `sources`, `runs`: median wall seconds and peak RSS (goal < 1 s).

With --database-url, a database that already holds the articles is only measured (steps 4-8), so
the million-article archive is built once (57 minutes on the 2-core development machine) and measured again in minutes. --tiny (2,000
articles, 3 runs each) is the smoke test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import load  # noqa: E402  (bench/archive/load.py)
import measure  # noqa: E402  (bench/archive/measure.py)

from bench.common import throwaway_database  # noqa: E402
from etl.load.db import make_engine  # noqa: E402

MIB = 1024  # /proc and getrusage count KiB


def build(url: str, engine, count: int, folder: Path) -> None:
    """Steps 1-3: the dump, then the load in one process and on two workers; VACUUM ANALYZE after."""
    start = time.perf_counter()
    files, parts = load.write_dump(folder, count)
    took = time.perf_counter() - start
    size = sum(path.stat().st_size for outlet_files in files.values() for path in outlet_files.values())
    print(f"corpus: {count:,} articles of {len(load.corpus.OUTLETS)} outlets (real Fars News paragraphs, "
          f"bench/analysis/corpus.py): {size / 1e6:.1f} MB JSONL in {sum(map(len, files.values()))} files, "
          f"generated in {took:.1f} s")
    single = load.load_in_one_process(url, files["backfill"], parts["backfill"])
    report("load, 1 process: `news-etl backfill FILE --source OUTLET` of each outlet in turn, default cleaners",
           single, f"{single.new:,} new, {single.failed} failed")
    peak = max(single.peaks, key=lambda t: t.peak_pss)
    print(f"  peak memory of one backfill: {memory(peak)}")
    queued = load.load_on_workers(url, files["queue"], parts["queue"], folder)
    report(f"load, 2 queue workers: `news-etl backfill --queue` of each outlet ({queued.shards} shards), "
           f"drained by 2 `news-etl worker --concurrency {load.WORKER_CONCURRENCY}`",
           queued, f"{queued.new:,} new, {queued.failed} shards failed; deferring took {queued.deferring:.1f} s of it")
    print("  peak memory: " + ", ".join(f"worker {n + 1} {memory(t)}" for n, t in enumerate(queued.peaks)))
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"VACUUM ANALYZE after the load: {time.perf_counter() - start:.1f} s")


def grow(url: str, engine, count: int, folder: Path) -> None:
    """--grow: ``count`` more articles into the kept archive through the one-process backfill, with
    the write-ahead log the server wrote meanwhile (every database's: run it on a quiet server)."""
    with engine.connect() as conn:
        present = conn.execute(text("SELECT count(*) FROM articles")).scalar()
    files = load.write_more(folder, count, f"grow{present}")
    wal = load.wal_position(engine)
    more = load.load_in_one_process(url, files, count)
    wal = load.wal_position(engine) - wal
    report(f"grow the archive of {present:,} articles: `news-etl backfill FILE --source OUTLET` of each outlet",
           more, f"{more.new:,} new, {more.failed} failed")
    print(f"  write-ahead log: {wal / 1e6:,.0f} MB, {wal / 1e3 / max(1, count):.1f} kB per article; peak memory of "
          f"one backfill: {memory(max(more.peaks, key=lambda t: t.peak_pss))}")


def upgrade(url: str) -> None:
    """`news-etl db upgrade` of the database, as a user brings an older archive up to date."""
    done = subprocess.run(load.etl(url, "db", "upgrade"), cwd=load.REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"news-etl db upgrade: {done.stderr.strip()}")


def memory(tree) -> str:
    return (f"{tree.peak_pss / MIB:.1f} MiB PSS ({tree.peak_rss / MIB:.1f} MiB RSS summed, {tree.peak_procs} "
            f"process{'es' if tree.peak_procs > 1 else ''})")


def report(label: str, figures: load.Load, counts: str) -> None:
    print(f"{label}:\n  {figures.articles:,} articles ({counts}) in {figures.wall:.1f} s = "
          f"{figures.articles / figures.wall:.1f} articles/s")
    per = figures.per_article()
    print("  CPU per article: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
          + f" = {sum(per.values()):.2f} ms")
    if figures.server is not None:
        print(f"    (PostgreSQL: this database's backends; the whole server spent {1000 * figures.server / figures.articles:.2f} "
              f"ms per article meanwhile, other databases' work included; machine {100 * figures.busy:.0f}% busy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--million", action="store_const", const=1_000_000, dest="articles",
                        help="1,000,000 articles (about an hour of loading on 2 cores)")
    parser.add_argument("--tiny", action="store_true", help="2,000 articles, 3 runs each (the smoke test)")
    parser.add_argument("--repeat", type=int, help="runs of each timed query (default 10; --tiny 3)")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--database-url", help="an existing PostgreSQL database (kept; loaded first when empty)")
    parser.add_argument("--dump-dir", type=Path, help="write the JSONL dump here and keep it (default: a temporary folder)")
    parser.add_argument("--grow", type=int, metavar="N", help="with --database-url: load N more articles into it and "
                        "print what they cost (CPU, write-ahead log), then stop")
    args = parser.parse_args()
    if args.grow:
        if not args.database_url:
            parser.error("--grow needs --database-url (a kept archive)")
        engine = make_engine(args.database_url)
        upgrade(args.database_url)
        with tempfile.TemporaryDirectory() as tmp:
            grow(args.database_url, engine, args.grow, args.dump_dir or Path(tmp))
        engine.dispose()
        return
    count = 2000 if args.tiny else args.articles
    repeat = args.repeat or (3 if args.tiny else 10)
    with ExitStack() as stack:
        url = args.database_url or stack.enter_context(throwaway_database(args.pg_url))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        if engine.dialect.name != "postgresql":
            raise SystemExit("the archive bench needs PostgreSQL (the queue workers do)")
        upgrade(url)
        with engine.connect() as conn:
            present = conn.execute(text("SELECT count(*) FROM articles")).scalar()
        print(f"archive bench: {count:,} articles on {os.cpu_count()} cores, PostgreSQL {'.'.join(map(str, engine.dialect.server_version_info))}")
        if not present:
            folder = args.dump_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            build(url, engine, count, folder)
        elif present < count:
            raise SystemExit(f"the database holds {present:,} articles, fewer than {count:,}: give an empty "
                             f"database (it is loaded) or --articles {present}")
        else:
            print(f"{present:,} articles already in the database: the load is skipped, only measured")
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM articles")).scalar()
        measure.sizes(engine, stored)
        measure.search_latency(engine, repeat)
        measure.analysis_latency(engine, repeat)
        measure.web_ttfb(url, engine, repeat)
        measure.cli_times(url, 2 if args.tiny else 5)
        if args.tiny:  # the smoke test runs --grow's path too
            with tempfile.TemporaryDirectory() as tmp:
                grow(url, engine, 200, Path(tmp))
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")


if __name__ == "__main__":
    main()
