"""The first hour of a new user (issue 13), through the real command line: pipes closed early,
a missing sources file, a status that tells the truth, tables that fit the terminal, one-line
errors, partial backfills, uniform flags and distinct exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import DATA, REPO, free_port, invoke
from etl.display import table, text_width
from etl.load.db import make_engine

NEWS_ETL = Path(sys.executable).parent / "news-etl"  # the installed console script
FARS = DATA / "fars-news" / "fars-news-1.json"
CLEAN_ENV = {"DATABASE_URL": "", "NEWS_ETL_CONFIG": ""}


def cli(*args: str, **kw):
    return invoke(*args, env={**CLEAN_ENV, **kw.pop("env", {})}, **kw)


def rows(db_url: str, sql: str, **params):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        result = conn.execute(text(sql), params).all()
    engine.dispose()
    return result


def execute(db_url: str, sql: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def in_terminal(*args: str, columns: int = 80, env: dict | None = None, expect: int = 0) -> str:
    """Run the CLI with standard output on a pseudo-terminal ``columns`` wide; returns what it showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = {**os.environ, **CLEAN_ENV, "COLUMNS": str(columns), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "etl", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.DEVNULL, env=full_env, cwd=REPO)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == expect
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def fars_db(tmp_path_factory):
    """A SQLite database holding the 600 Fars News articles (one backfill for the module)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fars') / 'news.db'}"
    loaded = cli("--database-url", url, "backfill", str(DATA / "fars-news"), "--source", "fars", "-q")
    assert loaded.returncode == 0, loaded.stderr
    return url


# --- 1. a pipe closed early is a quiet exit -------------------------------------------------

@pytest.mark.parametrize("command", [
    ["export", "--format", "jsonl"], ["export", "--format", "csv"], ["articles", "--limit", "600"],
    ["search", "ایران", "--limit", "200"], ["sources"], ["runs"], ["db", "schema"],
])
def test_a_pipe_closed_before_the_output_is_a_quiet_exit_0(fars_db, command):
    proc = subprocess.Popen([str(NEWS_ETL), "--database-url", fars_db, *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **CLEAN_ENV}, cwd=REPO)
    proc.stdout.close()  # the reader is gone before the first byte is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_head_c_100_of_an_export(fars_db):
    # What the issue ran: `news-etl export --format jsonl | head -c 100`.
    shell = f"set -o pipefail; '{NEWS_ETL}' --database-url '{fars_db}' -q export --format jsonl | head -c 100"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, env={**os.environ, **CLEAN_ENV}, cwd=REPO)
    assert result.returncode == 0 and result.stderr == b""
    assert len(result.stdout) == 100 and result.stdout.startswith(b'{"id": ')


# --- 2. a missing sources file ---------------------------------------------------------------

def test_outside_the_clone_a_missing_sources_file_is_named_and_nothing_is_created(tmp_path):
    for command in (["articles"], ["run"], ["status"], ["sources"]):
        result = cli(*command, cwd=tmp_path)
        assert result.returncode == 2, command
        [line] = result.stderr.splitlines()
        assert line.startswith("news-etl: error: config/sources.toml: no such sources file")
        assert str(tmp_path / "config" / "sources.toml") in line and "--config" in line
    assert list(tmp_path.iterdir()) == []  # no empty ./news.db


def test_an_explicitly_empty_configuration_is_allowed(tmp_path):
    empty = tmp_path / "none.toml"
    empty.write_text("# no sources yet\n", encoding="utf-8")
    for config in ("/dev/null", str(empty)):
        result = cli("--config", config, "--database-url", f"sqlite:///{tmp_path / 'n.db'}", "sources", "--json",
                     cwd=tmp_path)
        assert result.returncode == 0 and json.loads(result.stdout) == []
    named = cli("--config", str(tmp_path / "nope.toml"), "sources", cwd=tmp_path)
    assert named.returncode == 2 and f"{tmp_path / 'nope.toml'}: no such sources file" in named.stderr


# --- 3. status tells the truth ----------------------------------------------------------------


@pytest.fixture
def no_backoff(monkeypatch):
    """`fetch` of a refused feed retries after 1, 2 and 4 s; what these tests check comes after."""
    monkeypatch.setattr("etl.fetch.http.backoff", lambda settings, attempt: 0.0)


def _failing_config(tmp_path) -> Path:
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[sources]]\nname = "down"\nkind = "feed"\nurl = "http://127.0.0.1:{free_port()}/rss"\n\n'
        f'[[sources]]\nname = "seed"\nkind = "files"\npath = "{DATA / "seed"}"\n', encoding="utf-8")
    return config


@pytest.mark.slow
def test_status_counts_a_source_whose_every_attempt_failed_as_unhealthy(pg_url, tmp_path, no_backoff):
    config = _failing_config(tmp_path)
    fetched = cli("--database-url", pg_url, "--config", str(config), "fetch", "down")
    assert fetched.returncode == 1 and "connection" in fetched.stdout
    status = cli("--database-url", pg_url, "--config", str(config), "status")
    assert status.returncode == 1
    lines = status.stdout.splitlines()
    assert lines[0].startswith("news-etl: unhealthy: down: every attempt so far failed (1); last error: ")
    assert lines[-1].startswith("news-etl: unhealthy: 1 of 2 enabled source(s) failing or late")
    report = json.loads(cli("--database-url", pg_url, "--config", str(config), "status", "--json").stdout)
    by_name = {s["name"]: s for s in report["sources"]}
    assert report["healthy"] is False and report["database_ok"] is True and report["exit_code"] == 1
    assert by_name["seed"]["ok"] is True and by_name["seed"]["reason"] is None  # new, not yet due
    assert by_name["down"]["ok"] is False and "every attempt so far failed" in by_name["down"]["reason"]
    shown = in_terminal("--database-url", pg_url, "--config", str(config), "status", columns=60, expect=1).splitlines()
    assert shown[0] == "news-etl: unhealthy: down: every attempt so far failed (1)"
    assert shown[1].startswith("    last error: http://127.0.") and shown[1].endswith("(transient)")
    assert all(text_width(line) <= 60 for line in shown)


def test_status_tolerates_a_few_failures_after_a_success(pg_url, tmp_path):
    config = _failing_config(tmp_path)
    assert cli("--database-url", pg_url, "--config", str(config), "sources").returncode == 0
    execute(pg_url, "UPDATE sources SET last_success_at = now(), consecutive_failures = 2, last_error = 'HTTP 503'")
    assert cli("--database-url", pg_url, "--config", str(config), "status").returncode == 0
    execute(pg_url, "UPDATE sources SET consecutive_failures = 3 WHERE name = 'down'")
    failing = cli("--database-url", pg_url, "--config", str(config), "status")
    assert failing.returncode == 1
    assert "down: 3 failed passes in a row (tolerance 3); last error: HTTP 503" in failing.stdout
    assert cli("--database-url", pg_url, "--config", str(config), "status", "--max-failures", "4").returncode == 0


def test_status_with_an_unreachable_database_is_exit_3(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    result = cli("--database-url", url, "--config", "/dev/null", "status", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 3 and report["database_ok"] is False and "refused" in report["database_problem"]


# --- 4. tables fit the terminal ----------------------------------------------------------------

def test_display_width_counts_zwnj_as_zero_and_keeps_it():
    word = "نخست\u200cوزیر"
    assert text_width(word) == len(word) - 1
    shown = table([(1, word)], ["id", "title"], width=8, shrink=(1,))
    assert "\u200c" in shown.splitlines()[2] or shown.splitlines()[2].endswith("…")
    widths = {text_width(line) for line in table([(1, word), (22, "خبر")], ["id", "title"]).splitlines()}
    assert max(widths) == len("id  ") + text_width(word)  # aligned by display width, not len()


@pytest.mark.slow
def test_sources_and_runs_fit_80_columns_and_keep_the_reason(pg_url, tmp_path, no_backoff):
    config = _failing_config(tmp_path)
    assert cli("--database-url", pg_url, "--config", str(config), "fetch", "down").returncode == 1
    for command in ("sources", "runs", "errors"):
        shown = in_terminal("--database-url", pg_url, "--config", str(config), command)
        assert shown.strip() and max(text_width(line) for line in shown.splitlines()) <= 80, shown
    shown = in_terminal("--database-url", pg_url, "--config", str(config), "sources")
    [error] = [line for line in shown.splitlines() if line.startswith("    last error: ")]
    assert "…" in error and error.endswith("(transient)")  # cut in the middle: the reason at the end stays
    full = cli("--database-url", pg_url, "--config", str(config), "sources").stdout  # not a terminal
    stored = rows(pg_url, "SELECT last_error FROM sources WHERE name = 'down'")[0][0]
    assert stored in full and "…" not in full
    wide = in_terminal("--database-url", pg_url, "--config", str(config), "sources", "--wide")
    assert stored in wide


def test_articles_titles_are_cut_with_an_ellipsis_on_a_terminal(fars_db):
    shown = in_terminal("--database-url", fars_db, "--config", "/dev/null", "articles", "--limit", "30", columns=60)
    lines = shown.splitlines()
    assert len(lines) == 32 and all(text_width(line) <= 60 for line in lines)
    assert any(line.endswith("…") for line in lines[2:])
    piped = cli("--database-url", fars_db, "--config", "/dev/null", "articles", "--limit", "30").stdout
    assert "…" not in piped and max(text_width(line) for line in piped.splitlines()) > 60


def test_search_shows_decoded_urls_shortened_on_a_terminal(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    encoded = ("https://www.farsnews.ir/news/14030101000001/" + "%D8%AE%D8%A8%D8%B1-%D9%85%D9%87%D9%85-" * 12 + "end")
    dump = tmp_path / "one.jsonl"
    dump.write_text(json.dumps({"title": "خبر مهم آزمایشی", "body": "متن خبر مهم برای آزمون نشانی", "url": encoded},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli("--database-url", url, "--config", "/dev/null", "backfill", str(dump), "--source", "t").returncode == 0
    piped = cli("--database-url", url, "--config", "/dev/null", "search", "آزمون").stdout
    [url_line] = [line for line in piped.splitlines() if line.startswith("    https://")]
    assert "%D8" not in url_line and "خبر-مهم-خبر-مهم" in url_line and url_line.rstrip().endswith("end")
    shown = in_terminal("--database-url", url, "--config", "/dev/null", "search", "آزمون", columns=70)
    [short] = [line for line in shown.splitlines() if line.startswith("    https://")]
    assert text_width(short) <= 70 and "…" in short and short.endswith("end")
    as_json = json.loads(cli("--database-url", url, "--config", "/dev/null", "search", "آزمون", "--json").stdout)
    assert "%D8%AE" in as_json[0]["url"]  # JSON keeps the URL as stored


# --- 6. every error is one line ------------------------------------------------------------------

def test_a_broken_json_items_reason_is_one_line_everywhere(pg_url, tmp_path):
    broken = tmp_path / "cut.json"
    data = FARS.read_bytes()
    broken.write_bytes(data[:data.index(b"},", 3000) + 1])  # real bytes cut after an article: premature EOF
    result = cli("--database-url", pg_url, "--config", "/dev/null", "backfill", str(broken), "--source", "f")
    assert result.returncode == 1
    [failed] = [line for line in result.stderr.splitlines() if line.startswith("news-etl: failed:")]
    assert "invalid JSON: premature end" in failed
    [(reason,)] = rows(pg_url, "SELECT reason FROM ingest_errors")
    assert "\n" not in reason and reason.startswith("invalid JSON: premature end")
    listed = cli("--database-url", pg_url, "--config", "/dev/null", "errors", "--json")
    assert [e["reason"] for e in json.loads(listed.stdout)] == [reason]
    as_json = json.loads(cli("--database-url", pg_url, "--config", "/dev/null", "backfill", str(broken),
                             "--source", "f", "--json").stdout)
    assert all("\n" not in e["reason"] for e in as_json["errors"]) and as_json["failed"] == 1


def test_one_line_joins_lines_and_keeps_zwnj():
    from etl.errors import one_line
    assert one_line("parse error: premature EOF\n      \n   (right here) ------^\n") == \
        "parse error: premature EOF (right here) ------^"
    assert one_line("می\u200cشود\r\nخطا") == "می\u200cشود خطا" and one_line(None) is None


# --- 7. a backfill with a missing path loads the rest ----------------------------------------------

def test_backfill_loads_what_exists_and_names_each_missing_and_skipped_path(db_url, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "fars.json").write_bytes((DATA / "files" / "mixed" / "fars_two.json").read_bytes())
    (folder / "notes.md").write_text("# not an article\n", encoding="utf-8")
    missing = tmp_path / "missing.jsonl"
    result = cli("--database-url", db_url, "--config", "/dev/null", "backfill", str(folder), str(missing),
                 "--source", "mix")
    assert result.returncode == 1
    assert result.stdout.strip() == "seen 3, new 2, updated 0, unchanged 0, failed 1"
    assert f"news-etl: failed: {missing}: no such file or directory" in result.stderr.splitlines()
    assert f"news-etl: skipped: {folder / 'notes.md'}: not an article file type" in result.stderr.splitlines()
    assert rows(db_url, "SELECT count(*) FROM articles") == [(2,)]
    errors = json.loads(cli("--database-url", db_url, "--config", "/dev/null", "errors", "--json").stdout)
    assert [e["location"] for e in errors] == [str(missing)]


def test_backfill_with_no_existing_path_is_a_usage_error(tmp_path):
    result = cli("--database-url", f"sqlite:///{tmp_path / 'n.db'}", "--config", "/dev/null",
                 "backfill", str(tmp_path / "a"), str(tmp_path / "b"), "--source", "s")
    assert result.returncode == 2
    assert result.stderr.strip() == f"news-etl: error: no such file or directory: {tmp_path / 'a'}, {tmp_path / 'b'}"


# --- 8. flags ------------------------------------------------------------------------------------

def test_quiet_silences_the_sqlite_notice_and_verbose_says_what_was_opened(tmp_path):
    plain = cli("--config", "/dev/null", "articles", cwd=tmp_path)
    assert plain.returncode == 0 and "using the embedded SQLite database ./news.db" in plain.stderr
    for flag in ("-q", "--quiet"):
        quiet = cli("--config", "/dev/null", "articles", flag, cwd=tmp_path)
        assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("id")
    loud = cli("--config", "/dev/null", "-v", "runs", cwd=tmp_path)
    assert loud.returncode == 0 and "sources file /dev/null (0 source(s)), database sqlite:///news.db" in loud.stderr
    both = cli("--config", "/dev/null", "runs", "-q", "-v", cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_dash_capital_v_is_version():
    result = cli("-V")
    assert result.returncode == 0 and result.stdout == cli("--version").stdout and result.stdout.startswith("news-etl ")


def test_errors_for_a_run_that_does_not_exist_is_one_line_exit_1(tmp_path):
    result = cli("--database-url", f"sqlite:///{tmp_path / 'n.db'}", "--config", "/dev/null", "errors", "--run", "999")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip() == "news-etl: error: no run with id 999 (see `news-etl runs`)"


def test_fetch_of_a_files_source_says_how_to_load_it(tmp_path):
    result = cli("--database-url", f"sqlite:///{tmp_path / 'n.db'}", "fetch", "samples")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "news-etl: error: 'samples' is a files source, not a feed: load it with "
        "`news-etl backfill tests/data/seed --source samples` or let `news-etl run` watch it")


# --- 9. exit codes -----------------------------------------------------------------------------

def test_unreachable_database_exit_3_differs_from_a_partial_load_exit_1(tmp_path):
    down = cli("--database-url", f"postgresql://postgres@127.0.0.1:{free_port()}/x", "--config", "/dev/null",
               "backfill", str(DATA / "seed"), "--source", "s")
    [line] = down.stderr.splitlines()
    assert down.returncode == 3 and line.startswith("news-etl: error: database unavailable: ") and "refused" in line
    nowhere = cli("--database-url", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}", "--config", "/dev/null", "runs")
    assert nowhere.returncode == 3 and "unable to open database file" in nowhere.stderr


# --- 10. times and documentation -------------------------------------------------------------

def test_log_lines_say_utc_and_tables_say_tehran():
    import logging
    from etl.observe import JsonFormatter, KeyValueFormatter
    record = logging.LogRecord("etl.service", logging.INFO, __file__, 1, "fetch", None, None)
    record.created = 1768046400.0  # 2026-01-10T12:00:00Z
    assert KeyValueFormatter().format(record).startswith("2026-01-10T12:00:00.000Z INFO fetch")
    assert json.loads(JsonFormatter().format(record))["ts"] == "2026-01-10T12:00:00.000Z"
    for command in ("sources", "runs", "articles"):
        shown = cli("--config", "/dev/null", "--database-url", "sqlite://", command, "-q").stdout
        assert "(Tehran)" in shown.splitlines()[0], command  # every table's time column names its zone


def test_csv_for_excel_has_a_bom_and_crlf_and_loads_back(fars_db, tmp_path):
    out = tmp_path / "fars.csv"
    result = cli("--database-url", fars_db, "--config", "/dev/null", "export", "--format", "csv", "--excel",
                 "--output", str(out), "--source", "fars")
    assert result.returncode == 0 and "exported 600 article(s)" in result.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,source,key,") and data.split(b"\n", 1)[0].endswith(b"\r")
    assert "\u200c".encode() in data  # the Fars dump's ZWNJs survive the trip
    again = cli("--database-url", f"sqlite:///{tmp_path / 'back.db'}", "--config", "/dev/null", "backfill", str(out),
                "--source", "fars", "--json")
    assert json.loads(again.stdout)["new"] == 600
    wrong = cli("--database-url", fars_db, "--config", "/dev/null", "export", "--excel")
    assert wrong.returncode == 2 and "--excel is for --format csv" in wrong.stderr


def test_every_column_and_view_is_documented_in_postgresql(pg_engine):
    with pg_engine.connect() as conn:
        undocumented = conn.execute(text(
            "SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL "
            "AND c.relname <> 'articles_fts'")).scalars().all()
        views = dict(conn.execute(text(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'v'")).all())
    assert undocumented == []
    assert set(views) == {"articles_per_source_day", "latest_articles", "cluster_members", "clusters"}
    assert all(views.values()) and "Tehran" in views["articles_per_source_day"]
