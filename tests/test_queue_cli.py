"""The procrastinate executor through the CLI: `db upgrade` installs the queue schema once,
`run --executor procrastinate` dispatches and polls in one process, SQLite is refused with the
reason (the quick start keeps the local executor)."""

from __future__ import annotations

import signal
import subprocess
import sys

from sqlalchemy import create_engine, text

from conftest import REPO, run_cli
from httpserver import http_server  # noqa: F401  (fixture)
from test_queue_e2e import rss, wait_for


def test_db_upgrade_installs_the_queue_schema_once(pg_url, tmp_path):
    first = run_cli("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "procrastinate queue schema installed" in first.stdout
    again = run_cli("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade")
    assert again.returncode == 0 and "procrastinate" not in again.stdout
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
    engine.dispose()


def test_run_with_the_procrastinate_executor_polls_in_one_process(pg_url, tmp_path, http_server):  # noqa: F811
    for i in range(3):
        http_server.route(f"/f{i}.xml", 200, {"Content-Type": "application/rss+xml"}, rss("one", f"/f{i}.xml"))
    config = tmp_path / "sources.toml"
    config.write_text("".join(f'[[sources]]\nname = "f{i}"\nkind = "feed"\nurl = "{http_server.url(f"/f{i}.xml")}"\n'
                              for i in range(3)), encoding="utf-8")
    assert run_cli("--database-url", pg_url, "--config", str(config), "db", "upgrade").returncode == 0
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", pg_url, "--config", str(config), "run",
                             "--executor", "procrastinate", "--per-host-delay", "0"],
                            cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    engine = create_engine(pg_url)
    try:
        count = lambda: engine.connect().execute(text("SELECT count(*) FROM articles")).scalar()  # noqa: E731
        wait_for(lambda: count() == 9, 60, "9 articles")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(40)
        engine.dispose()
    assert code == 0, log.read_text()
    assert sorted(r.path for r in http_server.requests)[:3] == ["/f0.xml", "/f1.xml", "/f2.xml"]


def test_sqlite_keeps_the_local_executor(sqlite_url):
    result = run_cli("--database-url", sqlite_url, "--config", "/dev/null", "worker")
    assert result.returncode == 2
    assert "needs PostgreSQL, not sqlite" in result.stderr and "news-etl run" in result.stderr
    result = run_cli("--database-url", sqlite_url, "--config", "/dev/null", "run", "--executor", "procrastinate")
    assert result.returncode == 2 and "needs PostgreSQL" in result.stderr
