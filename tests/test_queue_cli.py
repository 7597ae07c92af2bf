"""The procrastinate executor through the CLI: `db upgrade` installs the queue schema once,
`run --executor procrastinate` dispatches and polls in one process, SQLite is refused with the
reason (the quick start keeps the local executor)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from conftest import REPO, invoke, scalar, wait_for
from test_queue_e2e import rss


def test_db_upgrade_installs_the_queue_schema_once(pg_url, tmp_path):
    first = invoke("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "procrastinate queue schema installed" in first.stdout
    again = invoke("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade")
    assert again.returncode == 0 and "procrastinate" not in again.stdout
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
    engine.dispose()


@pytest.mark.slow
def test_run_with_the_procrastinate_executor_polls_in_one_process(pg_url, tmp_path, http_server):  # noqa: F811
    for i in range(3):
        http_server.route(f"/f{i}.xml", 200, {"Content-Type": "application/rss+xml"}, rss("one", f"/f{i}.xml"))
    config = tmp_path / "sources.toml"
    config.write_text("".join(f'[[sources]]\nname = "f{i}"\nkind = "feed"\nurl = "{http_server.url(f"/f{i}.xml")}"\n'
                              for i in range(3)), encoding="utf-8")
    assert invoke("--database-url", pg_url, "--config", str(config), "db", "upgrade").returncode == 0
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", pg_url, "--config", str(config), "run",
                             "--executor", "procrastinate", "--per-host-delay", "0"],
                            cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    engine = create_engine(pg_url)
    try:
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM articles") == 9, 60, "9 articles")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(40)
        engine.dispose()
    assert code == 0, log.read_text()
    assert sorted(r.path for r in http_server.requests)[:3] == ["/f0.xml", "/f1.xml", "/f2.xml"]


def test_sqlite_keeps_the_local_executor(sqlite_url):
    result = invoke("--database-url", sqlite_url, "--config", "/dev/null", "worker")
    assert result.returncode == 2
    assert "needs PostgreSQL, not sqlite" in result.stderr and "news-etl run" in result.stderr
    result = invoke("--database-url", sqlite_url, "--config", "/dev/null", "run", "--executor", "procrastinate")
    assert result.returncode == 2 and "needs PostgreSQL" in result.stderr


def _two_passes_and_a_dead_worker(pg_url: str):
    """A migrated database with the passes of sources 1 and 2 waiting and a worker whose heartbeat
    stopped an hour ago: (the app, an engine, the dead worker's id)."""
    from etl.executors.queue import conninfo_of, make_app
    assert invoke("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade").returncode == 0
    app = make_app(conninfo_of(pg_url), None)
    with app.open():
        for source_id in (1, 2):
            app.tasks["run_pass"].configure(queueing_lock=f"source:{source_id}").defer(source_id=source_id)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        dead = conn.execute(text("INSERT INTO procrastinate_workers (last_heartbeat) "
                                 "VALUES (now() - interval '1 hour') RETURNING id")).scalar()
    return app, engine, dead


def test_status_reports_queue_depth_ages_stalled_jobs_and_workers(pg_url):
    app, engine, dead = _two_passes_and_a_dead_worker(pg_url)
    with engine.begin() as conn:
        # Alive for the whole test, however slowly the machine runs the two commands below
        # (a heartbeat of now() turns stale after STALLED_AFTER seconds).
        conn.execute(text("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() + interval '1 hour')"))
        conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w "
                          "WHERE id = (SELECT min(id) FROM procrastinate_jobs)"), {"w": dead})
    engine.dispose()
    result = invoke("--database-url", pg_url, "--config", "/dev/null", "status", "--json")
    assert result.returncode == 0, result.stderr
    queue = json.loads(result.stdout)["queue"]
    assert {k: queue[k] for k in ("waiting", "running", "stalled", "workers")} == \
        {"waiting": 1, "running": 1, "stalled": 1, "workers": 1}
    assert 0 <= queue["oldest_waiting_seconds"] < 600
    text_out = invoke("--database-url", pg_url, "--config", "/dev/null", "status").stdout
    assert "queue: 1 waiting (oldest " in text_out and "1 running, 1 stalled, 1 worker(s)" in text_out


def test_status_on_sqlite_has_no_queue(sqlite_url):
    assert invoke("--database-url", sqlite_url, "--config", "/dev/null", "db", "upgrade").returncode == 0
    result = invoke("--database-url", sqlite_url, "--config", "/dev/null", "status", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["queue"] is None


def test_metrics_of_a_worker_report_the_queue(pg_url, tmp_path):
    import urllib.request
    from etl.executors.queue import conninfo_of, make_app
    from test_service import free_port
    assert invoke("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade").returncode == 0
    app = make_app(conninfo_of(pg_url), None)
    with app.open():
        for source_id in (1, 2, 3):  # no worker takes polls here: they stay waiting
            app.tasks["run_pass"].configure(queueing_lock=f"source:{source_id}").defer(source_id=source_id)
    port = free_port()
    log = tmp_path / "worker.log"
    proc = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", pg_url, "--config", "/dev/null", "worker",
                             "--queues", "schedule", "--metrics-port", str(port)],
                            cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    def scraped() -> str:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            return ""  # not serving yet
    pages: list[str] = []

    def settled() -> bool:
        # The worker's own periodic tasks (dispatch every second) are jobs too: between them the
        # gauges show just the 3 polls waiting and nothing running.
        pages.append(scraped())
        return all(f in pages[-1] for f in ("news_etl_queue_workers 1.0", "news_etl_queue_waiting_jobs 3.0",
                                            "news_etl_queue_running_jobs 0.0"))
    try:
        wait_for(settled, 60, "the worker and the 3 waiting polls in the metrics")
        page = pages[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(40)
    assert code == 0, log.read_text()
    assert "news_etl_queue_waiting_jobs 3.0" in page and "news_etl_queue_stalled_jobs 0.0" in page
    assert "news_etl_queue_running_jobs 0.0" in page
    oldest = next(float(line.split()[1]) for line in page.splitlines()
                  if line.startswith("news_etl_queue_oldest_waiting_seconds "))
    assert 0.0 <= oldest < 120


def test_runs_shows_a_queued_backfill_waiting_for_workers(pg_url, tmp_path):
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(f'{{"title": "خبر {n}", "body": "متن خبر شماره {n}", "guid": "g{n}"}}\n'
                            for n in range(30)), encoding="utf-8")
    queued = invoke("--database-url", pg_url, "--config", "/dev/null", "backfill", str(dump), "--source", "later",
                     "--queue", "--shard-size", "10")
    assert queued.returncode == 0, queued.stderr
    assert "deferred 3 shard(s) of later" in queued.stdout
    table = invoke("--database-url", pg_url, "--config", "/dev/null", "runs", "--source", "later")
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("queued backfill of later: 3 shard(s): 0 done, 0 running, 3 waiting, 0 failed\n")
    other = invoke("--database-url", pg_url, "--config", "/dev/null", "runs", "--source", "elsewhere").stdout
    assert "queued backfill" not in other


def test_a_stalled_job_whose_twin_waits_is_given_up_and_the_others_are_retried(pg_url):
    """kill -9 of a worker in the middle of a source's pass: meanwhile the dispatcher deferred that
    source's pass again (same queueing lock). The stalled job cannot wait beside its twin; it is
    finished as failed (freeing its lock for the twin) and the next stalled job is still retried.
    Found by the watches' end-to-end test: the unique violation left the stalled job holding its
    lock forever and stopped the loop."""
    import asyncio

    from etl.executors.queue import retry_stalled_jobs
    app, engine, dead = _two_passes_and_a_dead_worker(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w"), {"w": dead})
    with app.open():  # the dispatcher defers source 1's pass again while its stalled job is 'doing'
        app.tasks["run_pass"].configure(queueing_lock="source:1").defer(source_id=1)

    async def retry() -> int:
        async with app.open_async():
            return await retry_stalled_jobs(app.job_manager)

    assert asyncio.run(retry()) == 1
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT queueing_lock, status FROM procrastinate_jobs ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("source:1", "failed"), ("source:2", "todo"), ("source:1", "todo")]
