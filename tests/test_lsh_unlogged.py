"""PostgreSQL keeps the LSH buckets UNLOGGED (etl/load/lshstate.py): no WAL for them; a server
crash empties them, and the next writer rebuilds them from the stored signatures before it looks
anything up, so a copy loaded after the crash still joins its original's cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import DATA, NOW
from etl.config import Source
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context

RECORDS = json.loads(sorted((DATA / "fars-news").glob("*.json"))[0].read_text(encoding="utf-8"))[:30]


def _load(engine, tmp_path: Path, source: str, records: list[dict]) -> None:
    path = tmp_path / f"{source}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    report = run_backfill(Context(engine, lambda: NOW), Backfill(Source(name=source, kind="files", path=str(path)),
                                                                 [path], in_config=False, cleaners=0))
    assert report.failed == 0 and report.error is None and report.new == len(records), report


def _copies(count: int) -> list[dict]:
    """Another outlet's copies of the first ``count`` articles: its own address and a short lead."""
    return [{**r, "link": r["link"] + "/copy", "title": "بازنشر: " + r["title"]} for r in RECORDS[:count]]


def _state(engine) -> dict:
    with engine.connect() as conn:
        return {
            "persistence": dict(conn.execute(text(
                "SELECT relname, relpersistence FROM pg_class WHERE relname IN ('article_lsh', 'article_lsh_complete')")).all()),
            "buckets": conn.execute(text("SELECT count(*) FROM article_lsh")).scalar(),
            "signatures": conn.execute(text("SELECT count(*) FROM article_minhash")).scalar(),
            "complete": conn.execute(text("SELECT count(*) FROM article_lsh_complete")).scalar(),
            # each copy (source b) with the cluster of the original it was made from (source a)
            "clustered": conn.execute(text(
                "SELECT count(*) FILTER (WHERE c.cluster_id = o.cluster_id), count(*) FROM articles c "
                "JOIN sources s ON s.id = c.source_id AND s.name = 'b' "
                "JOIN articles o ON o.url || '/copy' = c.url")).one(),
        }


def _after_the_crash_a_copy_still_finds_its_original(engine, tmp_path: Path, crash) -> None:
    _load(engine, tmp_path, "a", RECORDS)
    before = _state(engine)
    assert before["persistence"] == {"article_lsh": "u", "article_lsh_complete": "u"}
    assert before["buckets"] == 32 * before["signatures"] > 0 and before["complete"] == 1
    crash()
    emptied = _state(engine)
    assert emptied["buckets"] == 0 and emptied["complete"] == 0 and emptied["signatures"] == before["signatures"]
    _load(engine, tmp_path, "b", _copies(5))
    after = _state(engine)
    assert after["clustered"] == (5, 5)  # every copy joined its original's cluster
    assert after["buckets"] == 32 * after["signatures"] and after["complete"] == 1


def test_the_buckets_are_unlogged_and_rebuilt_when_found_empty(pg_url, tmp_path):
    """What crash recovery does to unlogged tables, done by hand: both emptied."""
    engine = make_engine(pg_url)
    upgrade(engine, NOW)

    def truncate():
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE article_lsh, article_lsh_complete"))

    _after_the_crash_a_copy_still_finds_its_original(engine, tmp_path, truncate)
    engine.dispose()


@pytest.mark.slow
def test_a_real_server_crash_empties_the_buckets_and_the_next_load_rebuilds_them(pg_cluster, tmp_path):
    engine = make_engine(pg_cluster.url)
    upgrade(engine, NOW)

    def crash():
        engine.dispose()
        pg_cluster.stop("immediate")  # no shutdown checkpoint: recovery resets unlogged tables
        pg_cluster.start()

    _after_the_crash_a_copy_still_finds_its_original(engine, tmp_path, crash)
    engine.dispose()
