"""Backfill throughput and memory against PostgreSQL, beside a plain COPY of the same rows.

    .venv/bin/python bench/backfill/run.py [--articles 20000] [--pg-url postgresql+psycopg://postgres@127.0.0.1/postgres]

Prints figures; asserts nothing. Everything runs in a throwaway database that is dropped at the end.
Steps, all in one run so the ratios compare like with like:
  1. build a JSONL dump of N distinct articles from the real Fars News paragraphs;
  2. `news-etl backfill` it (a subprocess: its wall time and peak RSS are the backfill's own);
  3. backfill it again (every row unchanged: the no-op path);
  4. COPY the final article rows into an identical empty table (the floor for writing them);
  5. peak RSS of a backfill of N/4 articles, to show memory does not grow with the input.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
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


def make_dump(path: Path, count: int) -> int:
    records = [r for f in sorted(FARS.glob("*.json")) for r in json.loads(f.read_text(encoding="utf-8"))]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            r = records[n % len(records)]
            out.write(json.dumps({
                "title": f"{r['title']} ({n})", "abstract": r["abstract"], "paragraphs": r["paragraphs"],
                "link": f"https://archive.example/item/{n}", "date": f"1404/0{1 + n % 9}/1{n % 10} - 1{n % 10}:30",
                "cat": r.get("cat"), "tags": r.get("tags"),
            }, ensure_ascii=False) + "\n")
    return path.stat().st_size


def run_backfill(url: str, dump: Path, source: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of the child, and its report line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "etl", "--database-url", url, "backfill", str(dump), "--source", source, "--no-progress"],
        cwd=REPO, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"backfill failed: {proc.stderr.strip()}")
    # ru_maxrss of children is the max over all waited-for children: run the small input first.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before), proc.stdout.strip()


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
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    admin = make_url(args.pg_url)
    name = f"news_etl_bench_{uuid.uuid4().hex[:8]}"
    url = admin.set(database=name).render_as_string(hide_password=False)
    dsn = admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            small, big = Path(tmp) / "small.jsonl", Path(tmp) / "big.jsonl"
            make_dump(small, args.articles // 4)
            size = make_dump(big, args.articles)
            small_secs, small_peak, _ = run_backfill(url, small, "bench-small")
            secs, peak, line = run_backfill(url, big, "bench")
            again_secs, _, again_line = run_backfill(url, big, "bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM articles WHERE source_id = (SELECT id FROM sources WHERE name = 'bench-small')")
        copy_secs, rows = copy_rate(dsn)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    n = args.articles
    print(f"input: {n} articles, {size / 1e6:.1f} MB JSONL (real Fars News paragraphs)")
    print(f"backfill (new rows):       {n / secs:8.0f} articles/s  ({secs:.2f} s)   {line}")
    print(f"backfill again (no-op):    {n / again_secs:8.0f} articles/s  ({again_secs:.2f} s)   {again_line}")
    print(f"COPY of the same {rows} rows: {rows / copy_secs:8.0f} rows/s      ({copy_secs:.2f} s)")
    print(f"backfill / COPY rate:      {(n / secs) / (rows / copy_secs):8.3f}")
    print(f"peak RSS of the backfill:  {peak / 1024:8.1f} MiB for {n} articles; "
          f"{small_peak / 1024:.1f} MiB for {n // 4} ({n / 4 / small_secs:.0f} articles/s)")


if __name__ == "__main__":
    main()
