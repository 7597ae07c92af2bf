"""The backfill load path at speed: raw-hash skipping, worker processes, one write per row.

Each test proves a guarantee the faster path must keep: reruns of unchanged input clean nothing
and write nothing, a cleaner change reprocesses everything, worker processes give exactly the
rows of one process, PostgreSQL and SQLite agree, and a database from before raw hashes upgrades.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import DATA, NOW
from etl.clean import article as clean_article
from etl.clean.dedup import BANDS, Signature, bands
from etl.config import Source
from etl.load import prepare as prepare_module
from etl.load.db import make_engine
from etl.load.migrate import current_version, upgrade
from etl.load.schema import SCHEMA_VERSION
from etl.load.sources import ensure_source
from etl.load.upsert import write_articles
from etl.models import Article
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context

FARS = DATA / "fars-news"


def now() -> datetime:
    return NOW


def job(path: Path, **kw) -> Backfill:
    return Backfill(source=Source(name="fars", kind="files", path=str(path)), paths=[path], in_config=False, **kw)


def fars_dump(tmp_path: Path, copies: int = 1) -> Path:
    """The 600 real Fars articles as JSONL (``copies`` times, each copy under other URLs)."""
    records = [r for f in sorted(FARS.glob("*.json")) for r in json.loads(f.read_text(encoding="utf-8"))]
    path = tmp_path / "fars.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for copy in range(copies):
            for n, r in enumerate(records):
                out.write(json.dumps({**r, "link": f"https://fars.example/{copy}/{n}"}, ensure_ascii=False) + "\n")
    return path


def snapshot(engine) -> dict:
    """Every stored fact a load decides, keyed by article key (ids differ only if order did)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.id, a.key, a.content_hash, a.raw_hash, a.cluster_id, a.title, a.body, a.meta, "
            "m.signature FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id")).all()
        lsh = conn.execute(text("SELECT count(*) FROM article_lsh")).scalar()
    ids = {r.id: r.key for r in rows}
    facts = {r.key: (r.content_hash, r.raw_hash, ids.get(r.cluster_id), r.title, r.body,
                     json.dumps(json.loads(r.meta) if isinstance(r.meta, str) else r.meta, sort_keys=True),
                     bytes(r.signature) if r.signature is not None else None) for r in rows}
    return {"rows": facts, "lsh": lsh}


def xmins(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id, xmin::text FROM articles ORDER BY id")).all()


class CountingCleaner:
    """Counts the items that reach the cleaner (the real one still runs)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = prepare_module.to_article
        lock = threading.Lock()

        def counting(item, fetched_at, *rest):
            with lock:
                self.calls += 1
            return real(item, fetched_at, *rest)

        monkeypatch.setattr(prepare_module, "to_article", counting)


def test_rerun_of_unchanged_input_cleans_nothing_and_writes_nothing(pg_engine, tmp_path, monkeypatch):
    dump = fars_dump(tmp_path)
    first = run_backfill(Context(pg_engine, now), job(dump, cleaners=0))
    assert (first.new, first.failed) == (600, 0)
    before = xmins(pg_engine)
    cleaner = CountingCleaner(monkeypatch)
    again = run_backfill(Context(pg_engine, now), job(dump, cleaners=0))
    assert (again.seen, again.new, again.updated, again.unchanged) == (600, 0, 0, 600)
    assert cleaner.calls == 0  # recognised by raw hash, before cleaning
    assert xmins(pg_engine) == before  # not one row rewritten


@pytest.mark.slow
def test_a_new_cleaner_version_reprocesses_every_item_without_rewriting_content(engine, tmp_path, monkeypatch):
    dump = fars_dump(tmp_path)
    run_backfill(Context(engine, now), job(dump, cleaners=0))
    before = snapshot(engine)
    monkeypatch.setattr(clean_article, "CLEANER_VERSION", f"{clean_article.CLEANER_VERSION}-next")
    cleaner = CountingCleaner(monkeypatch)
    again = run_backfill(Context(engine, now), job(dump, cleaners=0))
    assert cleaner.calls == 600 and (again.new, again.updated, again.unchanged) == (0, 0, 600)
    after = snapshot(engine)
    # Same content; only the raw hashes moved to the new version, so the next run skips again.
    assert {k: v[:1] + v[2:] for k, v in after["rows"].items()} == {k: v[:1] + v[2:] for k, v in before["rows"].items()}
    assert all(after["rows"][k][1] != before["rows"][k][1] for k in before["rows"])
    cleaner.calls = 0
    run_backfill(Context(engine, now), job(dump, cleaners=0))
    assert cleaner.calls == 0


@pytest.mark.slow
def test_reclean_cleans_every_item_again(engine, tmp_path, monkeypatch):
    dump = fars_dump(tmp_path)
    run_backfill(Context(engine, now), job(dump, cleaners=0))
    cleaner = CountingCleaner(monkeypatch)
    report = run_backfill(Context(engine, now), job(dump, cleaners=0, reclean=True))
    assert cleaner.calls == 600 and report.unchanged == 600 and report.new == 0


def test_an_edited_item_is_cleaned_and_updated_the_rest_skipped(engine, tmp_path, monkeypatch):
    dump = fars_dump(tmp_path)
    run_backfill(Context(engine, now), job(dump, cleaners=0))
    lines = dump.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[7])
    edited["title"] = edited["title"] + " (ویرایش شده)"
    lines[7] = json.dumps(edited, ensure_ascii=False)
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cleaner = CountingCleaner(monkeypatch)
    report = run_backfill(Context(engine, now), job(dump, cleaners=0))
    assert cleaner.calls == 1
    assert (report.new, report.updated, report.unchanged) == (0, 1, 599)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM article_revisions")).scalar() == 1


def test_an_edited_body_replaces_its_buckets_exactly(engine, tmp_path):
    dump = fars_dump(tmp_path)
    run_backfill(Context(engine, now), job(dump, cleaners=0))
    lines = dump.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[3])
    edited["paragraphs"] = list(reversed(edited["paragraphs"])) + ["این بند تازه به متن خبر افزوده شده است."]
    lines[3] = json.dumps(edited, ensure_ascii=False)
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM article_lsh")).scalar()
    assert run_backfill(Context(engine, now), job(dump, cleaners=0)).updated == 1
    with engine.connect() as conn:
        aid = conn.execute(text("SELECT id FROM articles WHERE url = :u"), {"u": edited["link"]}).scalar()
        raw = conn.execute(text("SELECT signature FROM article_minhash WHERE article_id = :a"), {"a": aid}).scalar()
        stored = set(map(tuple, conn.execute(text("SELECT band, bucket FROM article_lsh WHERE article_id = :a"),
                                             {"a": aid})))
        after = conn.execute(text("SELECT count(*) FROM article_lsh")).scalar()
    # The old buckets are gone (no stale candidates), the new signature's are all there.
    assert stored == set(bands(Signature.from_bytes(bytes(raw)))) and len(stored) == BANDS
    assert after == before


@pytest.mark.slow
def test_cleaning_processes_store_exactly_the_rows_of_one_process(db_url, tmp_path):
    dump = fars_dump(tmp_path, copies=2)  # the second copy clusters with the first
    results = []
    for cleaners, name in ((0, "one"), (2, "two")):
        url = db_url if cleaners == 0 else _sibling(db_url, tmp_path, name)
        engine = make_engine(url)
        upgrade(engine, NOW)
        report = run_backfill(Context(engine, now), job(dump, cleaners=cleaners, batch_size=97))
        assert (report.new, report.failed) == (1200, 0)
        results.append(snapshot(engine))
        engine.dispose()
    assert results[0] == results[1]
    clusters = {v[2] for v in results[0]["rows"].values()}
    assert len(clusters) <= 610  # each copy joined its original's cluster


@pytest.mark.slow
def test_postgresql_and_sqlite_store_the_same_rows(pg_engine, sqlite_url, tmp_path):
    dump = fars_dump(tmp_path, copies=2)
    lite = make_engine(sqlite_url)
    upgrade(lite, NOW)
    for engine in (pg_engine, lite):
        run_backfill(Context(engine, now), job(dump, cleaners=2, batch_size=150))
    assert snapshot(pg_engine) == snapshot(lite)
    lite.dispose()


def test_concurrent_writer_of_the_same_new_key_keeps_clusters_pointing_at_real_rows(pg_url):
    """Two transactions insert the same new key; the second's reserved id is never used, and the
    article of its batch that clustered with that id follows the real row."""
    records = [r for r in json.loads(sorted(FARS.glob("*.json"))[0].read_text(encoding="utf-8"))]
    body = "\n".join(records[0]["paragraphs"])
    first, second = (make_engine(pg_url) for _ in range(2))
    upgrade(first, NOW)
    with first.begin() as conn:
        sid = ensure_source(conn, Source(name="s", kind="files", path="x"), NOW, False)
    a1 = _article("k", records[0]["title"], body, "1")
    a2 = _article("k", records[0]["title"], body + "\nویرایش", "2")
    copy = _article("copy", records[0]["title"], body + "\nرونوشت", "3")
    t1 = first.connect()
    tx1 = t1.begin()
    write_articles(t1, sid, [a1], NOW)
    done = threading.Event()

    def writer():
        with second.begin() as conn:
            write_articles(conn, sid, [a2, copy], NOW)  # blocks on the key until t1 commits
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert not done.wait(1.0)
    tx1.commit()
    t1.close()
    thread.join(30)
    assert done.is_set()
    with first.connect() as conn:
        rows = dict(conn.execute(text("SELECT key, id FROM articles")).all())
        clusters = dict(conn.execute(text("SELECT key, cluster_id FROM articles")).all())
        body_now = conn.execute(text("SELECT body FROM articles WHERE key = 'k'")).scalar()
        signed = conn.execute(text("SELECT count(*) FROM article_minhash WHERE article_id = :i"), {"i": rows["k"]}).scalar()
    assert body_now.endswith("ویرایش")  # the second writer's edit applied to the first's row
    assert clusters["copy"] == clusters["k"] == rows["k"]
    assert signed == 1
    first.dispose()
    second.dispose()


@pytest.mark.slow
def test_a_version_1_database_upgrades_and_fills_raw_hashes_on_reload(pg_engine, tmp_path, monkeypatch):
    dump = fars_dump(tmp_path)
    run_backfill(Context(pg_engine, now), job(dump, cleaners=0))
    with pg_engine.begin() as conn:  # what a database of schema version 1 looks like
        conn.execute(text("DROP INDEX articles_source_raw_hash"))
        conn.execute(text("ALTER TABLE articles DROP COLUMN raw_hash"))
        conn.execute(text("DROP TABLE crawl_pages, crawl_sitemaps"))  # step 3
        conn.execute(text("DROP TABLE host_pace"))  # step 7
        conn.execute(text("DROP TABLE sync_state"))  # step 8
        conn.execute(text("DROP TABLE watch_deliveries, watch_hits, watches"))  # step 11
        conn.execute(text("DROP TRIGGER articles_forget_watch_hits ON articles"))
        conn.execute(text("ALTER TABLE sources DROP COLUMN database_failures, DROP COLUMN crawl_next_at"))
        conn.execute(text("ALTER TABLE sources DROP COLUMN blocked_by"))  # step 12
        conn.execute(text("DROP INDEX articles_source_url"))
        conn.execute(text("DROP INDEX sources_due"))  # step 5: source leases
        conn.execute(text("ALTER TABLE sources DROP COLUMN lease_until, DROP COLUMN lease_owner, DROP COLUMN last_delay"))
        conn.execute(text("ALTER TABLE sources DROP CONSTRAINT sources_kind_check, "
                          "ADD CONSTRAINT sources_kind_check CHECK (kind IN ('feed', 'files'))"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version > 1"))
    upgrade(pg_engine, NOW)
    with pg_engine.connect() as conn:
        assert current_version(conn) == SCHEMA_VERSION
        assert conn.execute(text("SELECT count(raw_hash) FROM articles")).scalar() == 0
    first = run_backfill(Context(pg_engine, now), job(dump, cleaners=0))
    assert (first.new, first.updated, first.unchanged) == (0, 0, 600)
    cleaner = CountingCleaner(monkeypatch)
    run_backfill(Context(pg_engine, now), job(dump, cleaners=0))
    assert cleaner.calls == 0


def _article(key: str, title: str, body: str, digest: str) -> Article:
    return Article(key=key, title=title, body=body, summary=None, url=None, published_at=None,
                   published_time_known=False, title_derived=False, content_hash=digest * 64,
                   location=key, meta={})


def _sibling(db_url: str, tmp_path: Path, name: str) -> str:
    """A second empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / (name + '.db')}"
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    db = f"news_etl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    _CREATED.append((make_url(db_url).set(database="postgres"), db))
    return make_url(db_url).set(database=db).render_as_string(hide_password=False)


_CREATED: list = []


@pytest.fixture(autouse=True)
def _drop_siblings():
    yield
    from sqlalchemy import create_engine
    while _CREATED:
        admin_url, db = _CREATED.pop()
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.slow
def test_an_article_the_database_refuses_fails_alone_and_the_run_goes_on(pg_engine, tmp_path, monkeypatch):
    """PostgreSQL refuses a NUL in text. The cleaner removes it; should any value still be refused,
    that article is one failed item and the rest of its batch, and the later batches, load."""
    dump = fars_dump(tmp_path)
    real = prepare_module.to_article

    def leaky(item, fetched_at, agencies=None):
        article = real(item, fetched_at, agencies)
        if item.location.endswith(":7"):  # bypass the cleaner's policy for one item
            from dataclasses import replace
            article = replace(article, body=article.body + "\x00")
        return article

    monkeypatch.setattr(prepare_module, "to_article", leaky)
    report = run_backfill(Context(pg_engine, now), job(dump, cleaners=0, batch_size=100))
    assert report.error is None
    assert (report.seen, report.new, report.failed) == (600, 599, 1)
    assert report.errors[0].location.endswith(":7") and "database refused" in report.errors[0].reason
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM articles")).scalar() == 599
        assert conn.execute(text("SELECT seen, new, failed, status FROM ingest_runs")).one() == (600, 599, 1, "partial")


def test_bulk_batches_leave_the_lookup_tables_settled(pg_engine, tmp_path):
    """Each bulk batch vacuums article_lsh, so the next batch's bucket lookups are index-only
    scans (a heap visit per probe made them cost four times as much), and analyzes articles when
    it has doubled, so the raw-hash lookups of a rerun have statistics to plan with."""
    report = run_backfill(Context(pg_engine, now), job(fars_dump(tmp_path), cleaners=0, batch_size=200))
    assert report.new == 600
    with pg_engine.connect() as conn:
        # What the last VACUUM found (relallvisible is only ever set by VACUUM and ANALYZE).
        pages, visible = conn.execute(text(
            "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'article_lsh'")).one()
        probe = conn.execute(text(
            "EXPLAIN SELECT article_id FROM article_lsh WHERE band = 3 AND bucket = 5 ORDER BY article_id DESC LIMIT 20"
        )).scalars().all()
        counted = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'articles'")).scalar()
    assert pages > 0 and visible == pages
    assert any("Index Only Scan" in line for line in probe)
    # Analyzed at least once (a table never analyzed has reltuples -1). When exactly depends on
    # how soon the server publishes its row counts, which it does at most once a second.
    assert counted >= 200
