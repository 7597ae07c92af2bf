"""Backfill throughput and memory against PostgreSQL, beside its two floors measured in the same run.

    .venv/bin/python bench/backfill/run.py [--articles 20000] [--workers N]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1/postgres]

Prints figures; asserts nothing. Everything runs in a throwaway database that is dropped at the end.
Steps, all in one run so the ratios compare like with like:
  1. build a JSONL dump of N distinct articles from the real Fars News paragraphs (and one of N/10);
  2. the normalizer alone, in this one process: ``normalize_text`` over every title, summary and
     body of the dump, no database (the cleaning floor);
  3. `news-etl backfill` of N/10, then of N articles (subprocesses: wall time, and the peak memory
     of the whole process tree, workers included, sampled from /proc). For the N articles also
     the CPU seconds of the main process, of the workers (with their forkserver) and, when the
     server runs on this machine, of PostgreSQL: their sum per article says how fast this design
     could go with every core busy, beside what the 0.8 target allows;
  4. the same backfill again (every item unchanged: the no-op path), with a fingerprint of every
     row's xmin before and after, so "0 rows written" is read off the database, not assumed;
  5. COPY of the final article rows into an identical empty table with the same indexes (the
     writing floor).
The targets of issue 9 are printed beside the figures: backfill / slower floor >= 0.8, no-op rerun
>= 10x the new-row rate with 0 rows written, peak memory of N/10 and N within 10% and < 250 MiB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
FARS = REPO / "tests" / "data" / "fars-news"
sys.path.insert(0, str(REPO))

from bench.common import ServerCpu, TreeMemory, machine_busy  # noqa: E402
from etl.clean.text import normalize_text  # noqa: E402


def fars_records() -> list[dict]:
    return [r for f in sorted(FARS.glob("*.json")) for r in json.loads(f.read_text(encoding="utf-8"))]


def make_dump(path: Path, count: int) -> int:
    records = fars_records()
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            r = records[n % len(records)]
            out.write(json.dumps({
                "title": f"{r['title']} ({n})", "abstract": r["abstract"], "paragraphs": r["paragraphs"],
                "link": f"https://archive.example/item/{n}", "date": f"1404/0{1 + n % 9}/1{n % 10} - 1{n % 10}:30",
                "cat": r.get("cat"), "tags": r.get("tags"),
            }, ensure_ascii=False) + "\n")
    return path.stat().st_size


def normalize_rate(dump: Path) -> tuple[float, int]:
    """Articles per second of normalize_text over title, summary and body, in one process."""
    texts = []
    with dump.open(encoding="utf-8") as lines:
        for line in lines:
            r = json.loads(line)
            texts.append((r["title"], r["abstract"], "\n".join(r["paragraphs"])))
    start = time.perf_counter()
    for title, summary, body in texts:
        normalize_text(title), normalize_text(summary), normalize_text(body)
    return len(texts) / (time.perf_counter() - start), len(texts)


def cleaning_parts(dump: Path, count: int = 2000) -> dict[str, float]:
    """CPU ms per article of the cleaning worker's parts, in this process, over the dump's first
    ``count`` items (after a warm-up of 100): the cleaner (``to_article``, of it the normalizer),
    the search document (folding, joined compounds, stems) and the MinHash signature with its
    LSH buckets: where the workers' share of the figure below goes."""
    from datetime import datetime, timezone

    from etl.clean.article import to_article
    from etl.clean.dedup import bands, signature
    from etl.clean.fold import fold_parts, indexed_document
    from etl.fetch.records import iter_jsonl

    with dump.open("rb") as stream:
        items = [item for _, item in zip(range(count + 100), iter_jsonl(stream, dump.name))]
    now = datetime.now(timezone.utc)

    def clock(step, inputs):
        for value in inputs[:100]:
            step(value)
        start = time.process_time()
        out = [step(value) for value in inputs[100:]]
        return 1000 * (time.process_time() - start) / max(1, len(inputs) - 100), out

    clean, cleaned = clock(lambda item: to_article(item, now), items)
    texts = [(a.title, a.summary or "", a.body) for a in cleaned]
    normalize, _ = clock(lambda t: [normalize_text(x) for x in t], [(i.title or "", i.summary or "", i.body or "")
                                                                    for i in items])
    joined = ["\n".join(x for x in t if x) for t in texts]
    folded, parts = clock(fold_parts, joined)
    document, _ = clock(lambda p: indexed_document(*p), parts)
    minhash, _ = clock(lambda p: (sig := signature(" ".join(p[0]), folded=True)) and bands(sig), parts)
    return {"cleaner": clean, "of it normalize_text": normalize, "folding": folded,
            "search document": document, "MinHash + LSH buckets": minhash}


def run_backfill(url: str, dump: Path, source: str, workers: int | None,
                 dsn: str | None = None) -> tuple[float, TreeMemory, str, dict]:
    """Wall seconds, the process tree's memory, the report line of one `news-etl backfill`, and
    where its CPU went (with ``dsn``: the server's too)."""
    command = [sys.executable, "-m", "etl", "--database-url", url, "backfill", str(dump), "--source", source,
               "--no-progress", *(["--workers", str(workers)] if workers else [])]
    server = ServerCpu(dsn) if dsn else None
    busy_before = machine_busy()
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    memory.stop()
    busy_after = machine_busy()
    if proc.returncode != 0:
        raise SystemExit(f"backfill failed: {err.strip()}")
    cpu = {"main": memory.cpu.get(proc.pid, 0.0),
           "workers": sum(v for pid, v in memory.cpu.items() if pid != proc.pid),
           "server": server.spent() if server else None,
           "busy": (busy_after[0] - busy_before[0]) / max(1e-9, busy_after[1] - busy_before[1])}
    return elapsed, memory, out.strip(), cpu


def fingerprint(dsn: str) -> str:
    """Every row's (id, xmin) of the tables a load writes: equal before and after = nothing written."""
    with psycopg.connect(dsn) as conn:
        parts = [conn.execute(f"SELECT md5(coalesce(string_agg({key}::text || ':' || xmin::text, ',' "
                              f"ORDER BY {key}), '')) FROM {table}").fetchone()[0]
                 for table, key in (("articles", "id"), ("article_minhash", "article_id"),
                                    ("article_revisions", "id"))]
        lsh = conn.execute("SELECT md5(coalesce(string_agg(xmin::text, ',' ORDER BY band, bucket, article_id), '')) "
                           "FROM article_lsh").fetchone()[0]
    return "/".join([*parts, lsh])


def copy_rate(dsn: str) -> tuple[float, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE articles_copy (LIKE articles INCLUDING ALL)")
        buffer = io.BytesIO()
        with conn.cursor().copy("COPY (SELECT * FROM articles) TO STDOUT") as copy:
            for chunk in copy:
                buffer.write(chunk)
        rows = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        data = buffer.getvalue()
        start = time.perf_counter()
        with conn.transaction():
            with conn.cursor().copy("COPY articles_copy FROM STDIN") as copy:
                for offset in range(0, len(data), 1 << 20):
                    copy.write(data[offset: offset + (1 << 20)])
        return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=None, help="backfill --workers (default: one per core)")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    admin = make_url(args.pg_url)
    name = f"news_etl_bench_{uuid.uuid4().hex[:8]}"
    url = admin.set(database=name).render_as_string(hide_password=False)
    dsn = admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    n, tenth = args.articles, args.articles // 10
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            small, big = Path(tmp) / "small.jsonl", Path(tmp) / "big.jsonl"
            make_dump(small, tenth)
            size = make_dump(big, n)
            norm_rate, _ = normalize_rate(big)
            parts = cleaning_parts(big)
            small_secs, small_mem, _, _ = run_backfill(url, small, "bench-small", args.workers)
            secs, mem, line, cpu = run_backfill(url, big, "bench", args.workers, dsn)
            before = fingerprint(dsn)
            again_secs, again_mem, again_line, _ = run_backfill(url, big, "bench", args.workers)
            after = fingerprint(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM articles WHERE source_id = (SELECT id FROM sources WHERE name = 'bench-small')")
        copy_secs, rows = copy_rate(dsn)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    rate, again_rate, copy = n / secs, n / again_secs, rows / copy_secs
    floor = min(norm_rate, copy)
    mib = lambda kib: kib / 1024  # noqa: E731
    print(f"input: {n} articles, {size / 1e6:.1f} MB JSONL (real Fars News paragraphs); {os.cpu_count()} cores")
    print(f"backfill (new rows):          {rate:8.0f} articles/s  ({secs:.2f} s)   {line}")
    print(f"normalize_text alone, 1 proc: {norm_rate:8.0f} articles/s  (titles, summaries, bodies; no database)")
    print(f"COPY of the same {rows} rows: {copy:8.0f} rows/s      ({copy_secs:.2f} s, same indexes)")
    print(f"backfill / slower floor:      {rate / floor:8.2f}   (target >= 0.8; floor = "
          f"{'normalize' if norm_rate < copy else 'COPY'} {floor:.0f}/s)")
    cores = len(os.sched_getaffinity(0))
    per = {name: 1000 * seconds / n for name, seconds in cpu.items() if name != "busy" and seconds is not None}
    print("CPU per new article:          " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
          + f"; machine {100 * cpu['busy']:.0f}% busy")
    print("  the cleaning worker's parts, in one process: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in parts.items()))
    if cpu["server"] is not None:
        total = sum(per.values())
        print(f"  with all {cores} cores busy:     {1000 * cores / total:8.0f} articles/s at most "
              f"= {1000 * cores / total / floor:.2f} of the floor; 0.8 allows {1000 * cores / (0.8 * floor):.2f} ms "
              f"of CPU per article, of which normalizing takes {1000 / norm_rate:.2f}")
    print(f"backfill again (no-op):       {again_rate:8.0f} articles/s  ({again_secs:.2f} s)   {again_line}")
    print(f"no-op / new-row rate:         {again_rate / rate:8.1f}x  (target >= 10x); rows written by the "
          f"rerun: {'0 (xmin of every row unchanged)' if before == after else 'SOME (xmin changed)'}")
    print(f"peak memory, process tree:    {mib(mem.peak_pss):6.1f} MiB PSS ({mib(mem.peak_rss):.1f} MiB RSS summed, "
          f"{mem.peak_procs} processes) for {n} articles")
    print(f"                              {mib(small_mem.peak_pss):6.1f} MiB PSS ({mib(small_mem.peak_rss):.1f} MiB RSS "
          f"summed) for {tenth} ({tenth / small_secs:.0f} articles/s)")
    print(f"peak N / peak N/10 (PSS):     {mem.peak_pss / max(1, small_mem.peak_pss):8.2f}   (target within 10%, "
          f"< 250 MiB); no-op rerun peak {mib(again_mem.peak_pss):.1f} MiB")


if __name__ == "__main__":
    main()
