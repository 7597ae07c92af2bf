"""A queued backfill (`news-etl backfill --queue`) over 2 `news-etl worker`s on real PostgreSQL:
one worker is killed with SIGKILL while loading a shard and started again; the stalled shard is
retried and the source ends with exactly the rows a one-process backfill of the same input makes.
Once with shards of whole files (1,100 real articles), once with line ranges of one 6,000-article
JSONL dump (issue 10's acceptance, at a third of its size)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import DATA, REPO, invoke, scalar, wait_for

INPUT = [DATA / "fars-news", DATA / "varzesh3"]
ROWS = ("SELECT a.key, a.title, a.body, a.published_at, a.content_hash FROM articles a "
        "JOIN sources s ON s.id = a.source_id WHERE s.name = :name ORDER BY a.key")
# Everything an article row says about the article (not the row's own id, times or cluster number:
# which article of a near-duplicate group comes first depends on the order shards commit in).
ALL_ROWS = ("SELECT a.key, a.url, a.title, a.title_derived, a.summary, a.body, a.published_at, "
            "a.published_time_known, a.content_hash, a.meta, a.raw_hash, a.search_doc::text, "
            "(SELECT count(*) FROM article_revisions r WHERE r.article_id = a.id) AS revisions "
            "FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = :name ORDER BY a.key")


def start_worker(pg_url: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--database-url", pg_url, "--config", "/dev/null", "worker",
                             "--concurrency", "2"], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def spread_with_a_kill(pg_url: str, tmp_path: Path, part_loaded: int, timeout: float) -> int:
    """Run the deferred shards on 2 workers; SIGKILL one once a shard has ``part_loaded`` items of
    its run committed and start another; return how many shards ran more than once."""
    engine = create_engine(pg_url)
    workers = [start_worker(pg_url, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        # The worker to kill is the one loading that shard (its run records the process), not
        # whichever was started first: under load the other one may sit between shards.
        pid = wait_for(lambda: scalar(engine, "SELECT (r.detail->'process'->>'pid')::int FROM ingest_runs r "
                                      "JOIN sources s ON s.id = r.source_id WHERE s.name = 'spread' "
                                      f"AND r.status = 'running' AND r.seen >= {part_loaded} LIMIT 1"),
                       timeout, "a shard part-loaded")
        victim = next(w for w in workers if w.pid == pid)
        victim.kill()
        victim.wait(10)
        workers.append(start_worker(pg_url, tmp_path / "w2.log"))
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'load_shard' "
                                "AND status <> 'succeeded'") == 0, timeout, "every shard loaded")
        return scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'load_shard' AND attempts > 1")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(40)
        engine.dispose()


def rows_of(pg_url: str, sql: str, name: str | None = None) -> list[tuple]:
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql), {"name": name} if name else {})]
    engine.dispose()
    return rows


@pytest.mark.slow
def test_a_queued_backfill_survives_a_killed_worker_and_matches_one_process(pg_url, tmp_path):
    solo = invoke("--database-url", pg_url, "--config", "/dev/null", "backfill", *map(str, INPUT),
                   "--source", "solo", "--workers", "0", "--no-progress")
    assert solo.returncode == 0, solo.stderr
    queued = invoke("--database-url", pg_url, "--config", "/dev/null", "backfill", *map(str, INPUT),
                     "--source", "spread", "--queue", "--batch-size", "25")
    assert queued.returncode == 0, queued.stderr
    assert "deferred 3 shard(s) of spread" in queued.stdout  # the 3 article files (no LICENSE, no SOURCE.md)
    retried = spread_with_a_kill(pg_url, tmp_path, 1, 180)
    one, spread = rows_of(pg_url, ROWS, "solo"), rows_of(pg_url, ROWS, "spread")
    assert len(one) == 1100 and spread == one
    assert retried >= 1, "the killed worker's shard was not retried"
    runs = invoke("--database-url", pg_url, "--config", "/dev/null", "runs", "--source", "spread", "--json")
    assert runs.returncode == 0, runs.stderr
    done = [r for r in json.loads(runs.stdout) if r["status"] == "ok"]
    assert len(done) >= 3 and sum(r["new"] for r in done) + sum(r["unchanged"] for r in done) >= 1100


def _dump(path: Path, count: int) -> Path:
    """``count`` distinct articles from the 1,100 real ones: each body joins the paragraphs of two
    of them (never the same pair twice), so the dump is not 18 copies of one corpus; each has its own
    article number in its URL (the natural key reads the number, not the slug)."""
    real = [a for folder in INPUT for f in sorted(folder.glob("*.json")) for a in json.loads(f.read_text("utf-8"))]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            a, b = real[n % len(real)], real[(n % len(real) + n // len(real) + 1) % len(real)]
            record = {"title": f"{a['title']} ({n // len(real) + 1})", "summary": a.get("abstract"),
                      "body": "\n".join(a["paragraphs"] + b["paragraphs"]),
                      "url": f"https://www.farsnews.ir/news/{14000000000000 + n}"}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@pytest.mark.slow
def test_a_6000_article_dump_in_line_ranges_over_2_workers_matches_one_process(pg_url, tmp_path):
    # 6,000 articles in 8 ranges of 750 show what 20,000 in ranges of 2,500 did (a range cut inside
    # by a kill, retried, converging on a one-process backfill's rows) in a third of the time.
    dump = _dump(tmp_path / "archive.jsonl", 6_000)
    solo = invoke("--database-url", pg_url, "--config", "/dev/null", "backfill", str(dump), "--source", "solo",
                   "--no-progress")
    assert solo.returncode == 0, solo.stderr
    queued = invoke("--database-url", pg_url, "--config", "/dev/null", "backfill", str(dump), "--source", "spread",
                     "--queue", "--shard-size", "750", "--batch-size", "125")
    assert queued.returncode == 0, queued.stderr
    assert "deferred 8 shard(s) of spread" in queued.stdout
    # Killed once a shard has committed some batches and not all: mid-way through a line range.
    retried = spread_with_a_kill(pg_url, tmp_path, 250, 600)
    one, spread = rows_of(pg_url, ALL_ROWS, "solo"), rows_of(pg_url, ALL_ROWS, "spread")
    errors = rows_of(pg_url, "SELECT count(*) FROM ingest_errors")[0][0]
    assert len(one) == 6_000 and spread == one
    assert retried >= 1, "the killed worker's shard was not retried"
    assert errors == 0
    runs = invoke("--database-url", pg_url, "--config", "/dev/null", "runs", "--source", "spread", "--json")
    every = json.loads(runs.stdout)
    done = [r for r in every if r["status"] == "ok"]
    # Each article was new once, in whichever run committed it (the killed run kept its batches);
    # the 8 runs that finished read every item once: the retried range counted those batches unchanged.
    assert sum(r["new"] for r in every) == 6_000
    assert len(done) == 8 and sum(r["new"] + r["unchanged"] for r in done) == 6_000
    assert any(r["status"] != "ok" and r["new"] > 0 for r in every), "no run was cut short by the kill"
    table = invoke("--database-url", pg_url, "--config", "/dev/null", "runs", "--source", "spread").stdout
    assert table.startswith("queued backfill of spread: 8 shard(s): 8 done, 0 running, 0 waiting, 0 failed\n")
