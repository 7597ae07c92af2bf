"""The archive bench's figures on a loaded database, each section printed as it is measured:

    sizes(engine, articles)          bytes of the article tables and their indexes, per article
    search_latency(engine, repeat)   bench/search's queries through the library's search()
    analysis_latency(engine, repeat) trends, terms, outlets, stories as bench/analysis runs them
    web_ttfb(url, engine, repeat)    `news-etl serve`: the search page and article pages
    cli_times(url, runs)             `news-etl status`, `sources`, `runs`: wall and peak RSS

The queries, the timing and the server start are the other benches' own (imported, not copied).
"""

from __future__ import annotations

import http.client
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import TreeMemory, bench_script  # noqa: E402
from etl.analysis.outlets import outlets  # noqa: E402
from etl.analysis.stories import stories  # noqa: E402
from etl.analysis.terms import terms  # noqa: E402
from etl.analysis.trends import trends  # noqa: E402
from etl.load import querycounts  # noqa: E402

search_bench = bench_script("search/run.py")
analysis_bench = bench_script("analysis/run.py")
web_bench = bench_script("web/run.py")
corpus = analysis_bench.corpus

TABLES = ("articles", "article_lsh", "article_minhash", "article_revisions")
MB = 1e6


def sizes(engine, articles: int) -> None:
    """Each article table (heap, TOAST, indexes), each index of ``articles``, the whole database."""
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT relname, pg_relation_size(oid), pg_indexes_size(oid), pg_total_relation_size(oid) "
            "FROM pg_class WHERE relname = ANY(:names) AND relkind = 'r'"), {"names": list(TABLES)}).all()
        indexes = conn.execute(text(
            "SELECT i.relname, pg_relation_size(i.oid), pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = 'articles'::regclass ORDER BY 2 DESC")).all()
        database = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    per = lambda size: f"{size / MB:9.1f} MB {size / max(1, articles):8.0f} B/article"  # noqa: E731
    print(f"database size, {articles:,} articles (pg_relation_size / pg_indexes_size / pg_total_relation_size):")
    for name, heap, index, total in sorted(tables, key=lambda r: TABLES.index(r[0])):
        print(f"  {name:<22} total {per(total)}   (table {heap / MB:.1f} MB, TOAST {(total - heap - index) / MB:.1f} MB,"
              f" indexes {index / MB:.1f} MB)")
        if name == "articles":
            for index_name, size, definition in indexes:
                role = " the search index" if "(search_doc)" in definition else ""
                print(f"    index {index_name:<24} {per(size)}   {definition.partition(' USING ')[2]}{role}")
    listed = sum(total for _, _, _, total in tables)
    print(f"  {'other tables, catalog':<22} total {per(database - listed)}")
    print(f"  {'database':<22} total {per(database)}")


def search_latency(engine, repeat: int) -> None:
    latencies = search_bench.measure(engine, repeat=repeat)
    median, high = search_bench.p95(latencies)
    queries = search_bench.QUERIES
    slowest = max(queries, key=lambda q: statistics.median(latencies[q][:-1]))
    print(f"search: the library's search(), limit 20, in-process, {len(queries)} queries (bench/search) x {repeat}: "
          f"median {median:.1f} ms, p95 {high:.1f} ms   goal at 1,000,000: p95 < 100 ms")
    print(f"  slowest query {slowest!r}: median {statistics.median(latencies[slowest][:-1]):.1f} ms, "
          f"max {max(latencies[slowest][:-1]):.1f} ms, {latencies[slowest][-1]} hits")
    print(f"  this process's peak memory so far: {peak_rss():.1f} MiB RSS")


def peak_rss() -> float:
    """This process's peak resident memory in MiB (the kernel's high-water mark; it only grows)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def analysis_latency(engine, repeat: int) -> None:
    """As bench/analysis measures them: a rare and a common word (pick_queries), a year by day."""
    bench, year = analysis_bench, analysis_bench.YEAR
    common, rare = bench.pick_queries(corpus.fars_text()[1])
    few = max(3, repeat // 4)  # terms reads and counts a 5,000-article sample each run
    print(f"analysis (by day over a year; {repeat} runs each, terms {few}):")
    with engine.connect() as conn:
        for label, runs, call, about in (
                (f"trends, rare '{rare}'", repeat, lambda: trends(conn, [rare], year, by="day"),
                 lambda t: f"{sum(t.series[0].counts):,} matches in {len(t.periods)} days"),
                (f"trends, common '{common}'", repeat, lambda: trends(conn, [common], year, by="day"),
                 lambda t: f"{sum(t.series[0].counts):,} matches of {sum(t.totals):,}"),
                (f"terms '{common}', sample 5,000", few, lambda: terms(conn, common, year, sample=5000),
                 lambda t: "top: " + ", ".join(x.term for x in t.terms[:3])),
                (f"outlets '{common}'", repeat, lambda: outlets(conn, common, year),
                 lambda o: f"{len(o.outlets)} sources and agencies"),
                ("stories (20 most carried)", repeat, lambda: stories(conn, year),
                 lambda s: f"{len(s.stories)} stories, the first carried by {s.stories[0].outlets if s.stories else 0}"),
        ):
            times, found = bench.timed(runs, call)
            print(f"  {label:<40} median {statistics.median(times):8.1f} ms   p95 {bench.p95(times):8.1f} ms   "
                  f"{about(found)}")
        # The common word counted ahead (`news-etl db precount`), then forgotten again, so a kept
        # database stays as it was: the path a desk following that word takes.
        start = time.perf_counter()
        with engine.begin() as writer:
            querycounts.count_ahead(writer, common, datetime.now(timezone.utc))
        fill = time.perf_counter() - start
        try:
            times, _ = bench.timed(repeat, lambda: trends(conn, [common], year, by="day"))
            outlet_times, _ = bench.timed(repeat, lambda: outlets(conn, common, year))
        finally:
            with engine.begin() as writer:
                querycounts.forget(writer, common)
        for label, runs in ((f"trends, common '{common}' counted ahead", times),
                            (f"outlets '{common}' counted ahead", outlet_times)):
            print(f"  {label:<40} median {statistics.median(runs):8.1f} ms   p95 {bench.p95(runs):8.1f} ms   "
                  f"(`news-etl db precount` took {fill:.1f} s)")
    print(f"  this process's peak memory so far: {peak_rss():.1f} MiB RSS")


def web_ttfb(url: str, engine, repeat: int, articles: int = 50) -> None:
    """One keep-alive client: each search page once to warm up, then ``repeat`` rounds of them;
    then ``articles`` random article pages once each. The server's peak memory throughout."""
    pages = [f"/search?q={quote(q)}" for q in search_bench.QUERIES]
    ids = article_ids(engine, articles)
    port = web_bench.free_port()
    server = web_bench.start_server(url, port)
    memory = TreeMemory(server.pid, interval=0.1)  # sampled less often than bench/backfill: out of the timings
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for page in pages:
            web_bench.ttfb(conn, page)
        searched = [web_bench.ttfb(conn, page) for _ in range(repeat) for page in pages]
        read = [web_bench.ttfb(conn, f"/articles/{i}") for i in ids]
        conn.close()
    finally:
        server.terminate()
        server.wait(30)
        memory.stop()
    print("web: `news-etl serve` on 127.0.0.1, one keep-alive client, time to first byte:")
    for label, times in ((f"/search?q=... ({len(pages)} queries x {repeat})", searched),
                         (f"/articles/ID ({len(ids)} at random, once each)", read)):
        print(f"  {label:<40} median {statistics.median(times):8.1f} ms   p95 {web_bench.p95(times):8.1f} ms   "
              "goal: p95 < 200 ms")
    print(f"  server's peak memory: {memory.peak_pss / 1024:.1f} MiB PSS ({memory.peak_rss / 1024:.1f} MiB RSS)")


def article_ids(engine, count: int, seed: int = 5) -> list[int]:
    """``count`` ids of stored articles drawn at random (ids between the first and last; no scan)."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        low, high = conn.execute(text("SELECT min(id), max(id) FROM articles")).one()
        drawn = [rng.randint(low, high) for _ in range(count * 3)]
        found = set(conn.execute(text("SELECT id FROM articles WHERE id = ANY(:ids)"), {"ids": drawn}).scalars())
    return [i for i in dict.fromkeys(drawn) if i in found][:count]


def cli_times(url: str, runs: int) -> None:
    """Median wall seconds and peak RSS of ``runs`` starts of each command (one start before, not counted)."""
    print(f"CLI (python -m etl ..., median of {runs} runs each; goal < 1 s):")
    for command in ("status", "sources", "runs"):
        measured = [run_measured([sys.executable, "-m", "etl", "--database-url", url, "--config", "/dev/null",
                                  command]) for _ in range(runs + 1)][1:]
        wall = statistics.median(m[0] for m in measured)
        rss = statistics.median(m[1] for m in measured)
        print(f"  news-etl {command:<8} {wall:6.2f} s   peak RSS {rss / 1024:6.1f} MiB")


# Runs a command and prints its wall seconds, peak RSS (KiB) and exit code. A child's ru_maxrss
# starts at its parent's RSS (the kernel keeps the pre-exec high-water mark), and this bench's
# process is larger than the commands it measures: a small parent makes the figure the command's.
LAUNCHER = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
            "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
            "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")


def run_measured(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command. `status` exits 1 when a source is late,
    which these backfilled outlets may be: that is still a run."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], cwd=REPO, capture_output=True, text=True)
    wall, rss, code = done.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"news-etl {argv[-1]}: exit {code}: {done.stderr[-300:]}")
    return float(wall), int(rss)
