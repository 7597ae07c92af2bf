"""`news-etl backfill` end to end, as a user runs it, against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from conftest import DATA, REPO, invoke
from etl.clean.urls import canonical_url
from etl.load.db import make_engine

SEED_DIR = DATA / "seed"
FARS_DIR = DATA / "fars-news"
MIXED = DATA / "files" / "mixed"
TEHRAN = ZoneInfo("Asia/Tehran")


def query(url: str, sql: str, **params):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def backfill(url: str, *args: str, **kw):
    return invoke("--database-url", url, "backfill", *args, **kw)


def test_seed_loads_with_tehran_date_and_body_intact(pg_url):
    result = backfill(pg_url, str(SEED_DIR), "--source", "mehr-seed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "seen 1, new 1, updated 0, unchanged 0, failed 0"
    [(title, body, published, time_known, derived, meta)] = query(
        pg_url, "SELECT title, body, published_at, published_time_known, title_derived, meta FROM articles")
    assert published == datetime(2025, 8, 22, tzinfo=TEHRAN)
    assert published.astimezone(timezone.utc) == datetime(2025, 8, 21, 20, 30, tzinfo=timezone.utc)
    assert time_known is False and derived is True
    assert title.startswith("در دیداری صمیمانه")  # first sentence, attribution dropped
    raw = (SEED_DIR / "000_3b436877025587a2.txt").read_text(encoding="utf-8")
    # Every paragraph is there, in order (normalization only repairs spacing and ZWNJ: a space may
    # become a ZWNJ, "تبادل نظر" -> "تبادل‌نظر", so the letters are compared without either).
    assert body.count("\n") == raw.strip().count("\n")
    assert _letters(body) == _letters(raw.strip().removeprefix("date 2025-08-22"))
    assert "تبادل‌نظر" in body and "می‌نماید" in body  # written apart in the seed
    assert "نخست‌وزیر" in body and "می‌دهند" in body
    assert meta.get("agency") == "مهر"


def _letters(text: str) -> str:
    """The text without whitespace and ZWNJ: what the normalizer's spacing repairs leave alone."""
    return "".join(text.split()).replace("\u200c", "")


@pytest.mark.slow
def test_whole_fars_dump_loads_then_reload_changes_nothing(pg_url):
    first = backfill(pg_url, str(FARS_DIR), "--source", "fars", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["seen"], report["new"], report["failed"], report["skipped"]) == (600, 600, 0, 2)
    before = query(pg_url, "SELECT id, updated_at, xmin::text, content_hash FROM articles ORDER BY id")
    assert len(before) == 600
    second = backfill(pg_url, str(FARS_DIR), "--source", "fars")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "seen 600, new 0, updated 0, unchanged 600, failed 0"
    assert query(pg_url, "SELECT id, updated_at, xmin::text, content_hash FROM articles ORDER BY id") == before
    runs = query(pg_url, "SELECT status, seen, new, unchanged FROM ingest_runs ORDER BY id")
    assert runs == [("ok", 600, 600, 0), ("ok", 600, 0, 600)]


def test_edited_article_updates_one_row(pg_url, tmp_path):
    records = json.loads((FARS_DIR / "fars-news-1.json").read_text(encoding="utf-8"))[:5]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    assert backfill(pg_url, str(dump), "--source", "fars").returncode == 0
    before = dict(query(pg_url, "SELECT url, updated_at FROM articles"))
    records[2]["title"] = records[2]["title"] + " (ویرایش شد)"
    dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = backfill(pg_url, str(dump), "--source", "fars")
    assert result.stdout.strip() == "seen 5, new 0, updated 1, unchanged 4, failed 0"
    after = dict(query(pg_url, "SELECT url, updated_at FROM articles"))
    changed = [url for url in after if after[url] != before[url]]
    assert changed == [canonical_url(records[2]["link"])]
    [(title,)] = query(pg_url, "SELECT title FROM articles WHERE url = :u", u=changed[0])
    assert title.endswith("(ویرایش شد)")


def test_broken_folder_loads_the_rest_exits_1_and_records_failures(pg_url, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(MIXED, folder)
    result = backfill(pg_url, str(folder), "--source", "dump")
    assert result.returncode == 1
    assert result.stdout.strip() == "seen 8, new 5, updated 0, unchanged 0, failed 3"
    assert query(pg_url, "SELECT count(*) FROM articles") == [(5,)]
    errors = query(pg_url, "SELECT location, reason, excerpt FROM ingest_errors ORDER BY location")
    assert [(loc.removeprefix(str(folder) + "/"), reason.split(":")[0]) for loc, reason, _ in errors] == [
        ("empty.txt", "empty file"),
        ("fars_with_broken_line.jsonl:2", "invalid JSON"),
        ("garbage.json", "binary data, not a text, JSON, CSV or feed file"),
    ]
    assert errors[1][2].startswith('{"title"')  # the broken line itself, for inspection
    assert "fars_with_broken_line.jsonl:2: invalid JSON" in result.stderr
    assert query(pg_url, "SELECT status, failed FROM ingest_runs") == [("partial", 3)]
    listed = invoke("--database-url", pg_url, "errors", "--json")
    assert len(json.loads(listed.stdout)) == 3


def make_big_dump(path, count: int) -> None:
    """`count` distinct articles built from real Fars paragraphs."""
    records = json.loads((FARS_DIR / "fars-news-1.json").read_text(encoding="utf-8"))
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            r = records[n % len(records)]
            out.write(json.dumps({"title": f"{r['title']} ({n})", "paragraphs": r["paragraphs"],
                                  "link": f"https://archive.example/item/{n}", "date": "1404/05/31 - 10:00"}, ensure_ascii=False) + "\n")


SNAPSHOT = ("SELECT s.name, a.key, a.url, a.title, a.summary, a.body, a.published_at, a.content_hash "
            "FROM articles a JOIN sources s ON s.id = a.source_id ORDER BY a.key")


@pytest.mark.slow
def test_kill_9_midway_then_rerun_equals_a_clean_run(pg_url, tmp_path, pg_admin):
    dump = tmp_path / "big.jsonl"
    make_big_dump(dump, 4000)
    args = [sys.executable, "-m", "etl", "--database-url", pg_url, "backfill", str(dump),
            "--source", "big", "--batch-size", "50", "--no-progress"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    count = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            count = _count(pg_url)
            if count >= 200:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "backfill finished before it could be killed; make the dump bigger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = _count(pg_url)
    assert 0 < partial < 4000
    rerun = backfill(pg_url, str(dump), "--source", "big", "--no-progress")
    assert rerun.returncode == 0, rerun.stderr
    assert f"new {4000 - partial}," in rerun.stdout
    # A clean run into a second database gives exactly the same rows.
    clean_url = pg_url + "_clean"
    name = clean_url.rsplit("/", 1)[1]
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        assert backfill(clean_url, str(dump), "--source", "big", "--no-progress").returncode == 0
        assert query(pg_url, SNAPSHOT) == query(clean_url, SNAPSHOT)
        assert len(query(pg_url, SNAPSHOT)) == 4000
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _count(url: str) -> int:
    try:
        return query(url, "SELECT count(*) FROM articles")[0][0]
    except Exception:  # schema not created yet by the child process
        return 0


def test_same_article_in_two_files_is_one_row(pg_url, tmp_path):
    seed = SEED_DIR / "000_3b436877025587a2.txt"
    (tmp_path / "a").mkdir()
    shutil.copy(seed, tmp_path / "a" / "one.txt")
    shutil.copy(seed, tmp_path / "two.txt")
    result = backfill(pg_url, str(tmp_path), "--source", "s")
    assert result.stdout.strip() == "seen 2, new 1, updated 0, unchanged 1, failed 0"
    [(key,)] = query(pg_url, "SELECT key FROM articles")
    assert key.startswith("hash:")


@pytest.mark.slow
def test_archives_through_the_cli(pg_url, tmp_path):
    archive = shutil.make_archive(str(tmp_path / "bundle"), "gztar", root_dir=FARS_DIR.parent, base_dir="fars-news")
    result = backfill(pg_url, archive, "--source", "fars")
    assert result.returncode == 0 and result.stdout.strip() == "seen 600, new 600, updated 0, unchanged 0, failed 0"


def test_sqlite_is_the_embedded_default_and_says_so(tmp_path):
    # Outside the clone the sources file must be named; NEWS_ETL_CONFIG=/dev/null is an empty one.
    env = {"DATABASE_URL": "", "NEWS_ETL_CONFIG": "/dev/null"}
    result = invoke("backfill", str(SEED_DIR), "--source", "seed", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "news.db").exists()
    assert result.stderr.count("embedded SQLite database") == 1
    assert result.stdout.strip() == "seen 1, new 1, updated 0, unchanged 0, failed 0"
    listed = invoke("articles", "--json", cwd=tmp_path, env=env)
    [row] = json.loads(listed.stdout)
    assert row["source"] == "seed" and row["published_at"] == "2025-08-21T20:30:00+00:00"
