"""A queued backfill (`news-etl backfill --queue`) over 2 `news-etl worker`s on real PostgreSQL:
one worker is killed with SIGKILL while loading a shard and started again; the stalled shard is
retried and the source ends with exactly the rows a one-process backfill of the same input makes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from conftest import DATA, REPO, run_cli
from test_queue_e2e import scalar, wait_for

INPUT = [DATA / "fars-news", DATA / "varzesh3"]
ROWS = ("SELECT a.key, a.title, a.body, a.published_at, a.content_hash FROM articles a "
        "JOIN sources s ON s.id = a.source_id WHERE s.name = :name ORDER BY a.key")


def start_worker(pg_url: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--database-url", pg_url, "--config", "/dev/null", "worker",
                             "--concurrency", "2"], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_a_queued_backfill_survives_a_killed_worker_and_matches_one_process(pg_url, tmp_path):
    solo = run_cli("--database-url", pg_url, "--config", "/dev/null", "backfill", *map(str, INPUT),
                   "--source", "solo", "--workers", "0", "--no-progress")
    assert solo.returncode == 0, solo.stderr
    queued = run_cli("--database-url", pg_url, "--config", "/dev/null", "backfill", *map(str, INPUT),
                     "--source", "spread", "--queue", "--batch-size", "25")
    assert queued.returncode == 0, queued.stderr
    assert "deferred 3 shard(s) of spread" in queued.stdout  # the 3 article files (no LICENSE, no SOURCE.md)
    engine = create_engine(pg_url)
    workers = [start_worker(pg_url, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM ingest_runs r JOIN sources s ON s.id = r.source_id "
                                "WHERE s.name = 'spread' AND r.status = 'running' AND r.seen > 0") > 0,
                 120, "a shard part-loaded")
        workers[0].kill()
        workers[0].wait(10)
        workers.append(start_worker(pg_url, tmp_path / "w2.log"))
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'load_shard' "
                                "AND status <> 'succeeded'") == 0, 180, "every shard loaded")
        retried = scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'load_shard' AND attempts > 1")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(40)
    with engine.connect() as conn:
        one = [tuple(r) for r in conn.execute(text(ROWS), {"name": "solo"})]
        spread = [tuple(r) for r in conn.execute(text(ROWS), {"name": "spread"})]
    engine.dispose()
    assert len(one) == 1100 and spread == one
    assert retried >= 1, "the killed worker's shard was not retried"
    runs = run_cli("--database-url", pg_url, "--config", "/dev/null", "runs", "--source", "spread", "--json")
    assert runs.returncode == 0, runs.stderr
    done = [r for r in json.loads(runs.stdout) if r["status"] == "ok"]
    assert len(done) >= 3 and sum(r["new"] for r in done) + sum(r["unchanged"] for r in done) >= 1100
