"""The loader on both databases: new, unchanged, changed, in-batch duplicates, no rewrites."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from conftest import NOW
from etl.config import Source
from etl.load.schema import articles
from etl.load.sources import ensure_source, sync_sources
from etl.load.upsert import write_articles
from etl.models import Article

LATER = NOW + timedelta(hours=1)


def article(n: int, body: str = "متن", **changes) -> Article:
    base = Article(
        key=f"url:https://example.ir/news/{n}", title=f"عنوان {n}", body=f"{body} {n}", summary=None,
        url=f"https://example.ir/news/{n}", published_at=datetime(2025, 8, 21, 20, 30, tzinfo=timezone.utc),
        published_time_known=False, title_derived=False, content_hash=f"h{n}-{body}", location=f"f.json#{n}",
        meta={"agency": "مهر"},
    )
    return replace(base, **changes)


def load(engine, batch, now=NOW):
    with engine.begin() as conn:
        source_id = ensure_source(conn, Source(name="t", kind="files", path="x"), now, in_config=False)
        return write_articles(conn, source_id, batch, now)


def rows(engine):
    with engine.connect() as conn:
        return {r.key: r for r in conn.execute(select(articles))}


def test_new_then_unchanged_changes_nothing(engine):
    first = load(engine, [article(1), article(2)])
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    before = rows(engine)
    again = load(engine, [article(1), article(2)], now=LATER)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    after = rows(engine)
    assert after == before
    assert all(r.updated_at == NOW and r.fetched_at == NOW for r in after.values())
    assert after["url:https://example.ir/news/1"].published_at == datetime(2025, 8, 21, 20, 30, tzinfo=timezone.utc)
    assert after["url:https://example.ir/news/1"].meta == {"agency": "مهر"}


def test_changed_article_updates_its_row_only(engine):
    load(engine, [article(1), article(2)])
    counts = load(engine, [article(1, body="ویرایش"), article(2)], now=LATER)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 1)
    after = rows(engine)
    edited, untouched = after["url:https://example.ir/news/1"], after["url:https://example.ir/news/2"]
    assert edited.body == "ویرایش 1" and edited.updated_at == LATER and edited.fetched_at == NOW
    assert untouched.updated_at == NOW
    assert len(after) == 2


def test_duplicates_inside_one_batch(engine):
    counts = load(engine, [article(1), article(1), article(1, body="دوم"), article(2)])
    assert (counts.new, counts.updated, counts.unchanged) == (2, 1, 1)
    assert rows(engine)["url:https://example.ir/news/1"].body == "دوم 1"


def test_change_and_change_back_in_one_batch_writes_nothing(engine):
    load(engine, [article(1)])
    counts = load(engine, [article(1, body="موقت"), article(1)], now=LATER)
    assert (counts.updated, counts.new) == (2, 0)
    assert rows(engine)["url:https://example.ir/news/1"].updated_at == NOW


def test_same_key_in_two_sources_is_two_rows(engine):
    with engine.begin() as conn:
        ids = {name: ensure_source(conn, Source(name=name, kind="files", path="x"), NOW, True) for name in "ab"}
        write_articles(conn, ids["a"], [article(1)], NOW)
        write_articles(conn, ids["b"], [article(1)], NOW)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM articles")).scalar() == 2


def test_reload_does_not_rewrite_postgres_rows(pg_engine):
    """No-op rows never reach the table: the physical row versions (xmin) stay as they were."""
    load(pg_engine, [article(n) for n in range(50)])
    with pg_engine.connect() as conn:
        before = dict(conn.execute(text("SELECT key, xmin::text FROM articles")).all())
    load(pg_engine, [article(n) for n in range(50)], now=LATER)
    with pg_engine.connect() as conn:
        after = dict(conn.execute(text("SELECT key, xmin::text FROM articles")).all())
    assert after == before


def test_sources_sync_marks_removed_and_keeps_rows(engine):
    with engine.begin() as conn:
        sync_sources(conn, [Source(name="a", kind="files", path="x")], NOW)
        sync_sources(conn, [Source(name="b", kind="feed", url="https://b.ir/rss")], LATER)
    with engine.connect() as conn:
        state = dict(conn.execute(text("SELECT name, in_config FROM sources ORDER BY name")).all())
    assert {k: bool(v) for k, v in state.items()} == {"a": False, "b": True}


def test_an_unchanged_sources_file_is_not_compared_again(engine):
    """Every command syncs the sources file; an unchanged one costs a digest and one query (issue 26:
    50,000 sources took 22 to 43 s to compare on every command)."""
    from datetime import timedelta
    feeds = [Source(name=f"f{i}", kind="feed", url=f"http://x/{i}") for i in range(3)]
    with engine.begin() as conn:
        assert sync_sources(conn, feeds, NOW) is True
        assert sync_sources(conn, feeds, NOW + timedelta(hours=1)) is False
        changed = [feeds[0], Source(name="f1", kind="feed", url="http://x/1", interval=60)]
        assert sync_sources(conn, changed, NOW + timedelta(hours=2)) is True
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(text("SELECT name, in_config, updated_at, settings FROM sources"))}
    assert {name: bool(r.in_config) for name, r in rows.items()} == {"f0": True, "f1": True, "f2": False}
    assert '"interval": 60' in str(rows["f1"].settings).replace("'", '"')
