"""Watches matched in the load path (etl/load/watches.py): each committed batch's new articles (and
with on_update its changed ones) are matched with search's own full-text match, and each hit is
written in the batch's own transaction, once per (watch, article)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from conftest import NOW, scalar
from etl.clean.article import to_article
from etl.config import Source, parse_config
from etl.load.batch import load_batch
from etl.load.search import search
from etl.load.sources import ensure_source
from etl.load.watches import match_batch, sync_watches
from etl.models import RawItem, RunReport
from etl.watches.model import Watch

ZWNJ = "\u200c"


def article(n: int, title: str, body: str, **extra):
    item = RawItem(location=f"t#{n}", title=title, body=body, url=f"https://news.example/{n}",
                   published=(NOW - timedelta(hours=1)).isoformat(), guid=f"g{n}", **extra)
    return to_article(item, NOW)


def source_id(engine, name="irna"):
    with engine.begin() as conn:
        return ensure_source(conn, Source(name=name, kind="feed", url=f"https://{name}.example/rss"), NOW, True)


def watch_on(engine, *watches: Watch):
    with engine.begin() as conn:
        sync_watches(conn, watches, NOW)


def load(engine, sid, items, alerts=True, at=NOW) -> RunReport:
    report = RunReport(kind="fetch", source="x")
    load_batch(engine, sid, report, items, [], at, alerts=alerts)
    return report


def hits(engine, name):
    return sorted(r[0] for r in _rows(engine, "SELECT a.url FROM watch_hits h JOIN watches w ON w.id = h.watch_id "
                                              "JOIN articles a ON a.id = h.article_id WHERE w.name = :n", n=name))


def _rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_a_watch_finds_joined_and_zwnj_spellings_exactly_as_search_does(engine):
    sid = source_id(engine)
    watch_on(engine, Watch("oil", f"می{ZWNJ}شود نفت"))
    items = [article(1, "نفت", "گفته می‌شود قیمت نفت بالا رفت."),      # ZWNJ spelling
             article(2, "نفت", "گفته میشود قیمت نفت بالا رفت."),          # joined spelling
             article(3, "نفت", "گفته می شود قیمت نفت بالا رفت."),         # spaced spelling
             article(4, "گاز", "قیمت گاز بالا رفت و گفته می‌شود."),       # one term only: no match
             article(5, "نفت", "خبری دیگر درباره نفت.")]
    report = load(engine, sid, items)
    expected = sorted(h.url for h in search(engine.connect(), f"می{ZWNJ}شود نفت", limit=100))
    assert hits(engine, "oil") == expected == [f"https://news.example/{n}" for n in (1, 2, 3)]
    assert report.hits == 3


def test_a_source_filter_and_an_agency_filter(engine):
    irna, mehr = source_id(engine, "irna"), source_id(engine, "mehr")
    watch_on(engine, Watch("irna-only", "نفت", sources=("irna",)), Watch("any", "نفت"),
             Watch("by-agency", "نفت", agencies=("ایسنا",)))
    load(engine, irna, [article(1, "نفت", "قیمت نفت")])
    load(engine, mehr, [article(2, "نفت", "به گزارش خبرگزاری ایرنا، قیمت نفت"),
                        article(3, "نفت", "به گزارش خبرگزاری ایسنا، قیمت نفت بالا رفت.")])
    assert hits(engine, "irna-only") == ["https://news.example/1"]
    assert hits(engine, "any") == [f"https://news.example/{n}" for n in (1, 2, 3)]
    assert hits(engine, "by-agency") == ["https://news.example/3"]


@pytest.mark.parametrize("on_update", [False, True])
def test_an_article_edited_into_a_match_alerts_only_with_on_update(engine, on_update):
    sid = source_id(engine)
    watch_on(engine, Watch("w", "تحریم", on_update=on_update))
    load(engine, sid, [article(1, "خبر", "متن نخست")])
    assert hits(engine, "w") == []
    report = load(engine, sid, [article(1, "خبر", "متن تازه درباره تحریم")], at=NOW + timedelta(minutes=5))
    assert report.updated == 1
    assert hits(engine, "w") == (["https://news.example/1"] if on_update else [])
    reason = _rows(engine, "SELECT reason FROM watch_hits")
    assert [r[0] for r in reason] == (["updated"] if on_update else [])


def test_a_hit_is_recorded_once_and_an_edit_of_a_hit_records_nothing_more(engine):
    sid = source_id(engine)
    watch_on(engine, Watch("w", "تحریم", on_update=True, webhook="http://127.0.0.1:9/h"))
    load(engine, sid, [article(1, "تحریم", "متن درباره تحریم")])
    load(engine, sid, [article(1, "تحریم", "متن دیگر درباره تحریم")], at=NOW + timedelta(minutes=5))
    assert scalar(engine, "SELECT count(*) FROM watch_hits") == 1
    assert scalar(engine, "SELECT count(*) FROM watch_deliveries") == 1


def test_without_alerts_nothing_is_matched(engine):
    sid = source_id(engine)
    watch_on(engine, Watch("w", "نفت"))
    report = load(engine, sid, [article(1, "نفت", "قیمت نفت")], alerts=False)
    assert report.new == 1 and report.hits == 0
    assert scalar(engine, "SELECT count(*) FROM watch_hits") == 0


def test_each_hit_gets_a_pending_delivery_per_channel(engine):
    sid = source_id(engine)
    watch_on(engine, Watch("both", "نفت", webhook="http://127.0.0.1:9/h", email=("desk@example.org",)),
             Watch("atom-only", "نفت"))
    load(engine, sid, [article(1, "نفت", "قیمت نفت"), article(2, "نفت", "نفت خام")])
    rows = _rows(engine, "SELECT w.name, d.channel, d.status FROM watch_deliveries d JOIN watches w ON w.id = d.watch_id")
    assert sorted(rows) == sorted([("both", c, "pending") for c in ("webhook", "email") for _ in (1, 2)])
    assert scalar(engine, "SELECT count(*) FROM watch_hits") == 4


def test_a_watch_removed_from_the_file_keeps_its_hits_and_matches_no_more(engine):
    sid = source_id(engine)
    watch_on(engine, Watch("w", "نفت"))
    load(engine, sid, [article(1, "نفت", "قیمت نفت")])
    watch_on(engine)
    load(engine, sid, [article(2, "نفت", "قیمت نفت")])
    assert hits(engine, "w") == ["https://news.example/1"]
    assert scalar(engine, "SELECT in_config FROM watches WHERE name = 'w'") in (False, 0)


def test_the_gin_plan_finds_what_the_pair_plan_finds(pg_engine, monkeypatch):
    """Many watches against a big batch take the GIN plan; the same batch the pair-by-pair plan."""
    from etl.load import watches as module
    sid = source_id(pg_engine)
    words = ["نفت", "گاز", "تحریم", '"بانک مرکزی"', "می‌شود", "ارز"]
    watch_on(pg_engine, *(Watch(f"w{i}", q) for i, q in enumerate(words)))
    items = [article(n, "خبر " + words[n % 6].strip('"'), f"متن {n} درباره {words[(n * 5) % 6].strip(chr(34))}")
             for n in range(60)]
    with pg_engine.begin() as conn:
        from etl.load.upsert import write_articles
        counts = write_articles(conn, sid, items, NOW)
        pairs = module._match_pg(conn, counts.new_ids, counts.new_ids, NOW, gin=False)
        loop = sorted(conn.execute(text("SELECT watch_id, article_id FROM watch_hits")).all())
        conn.execute(text("DELETE FROM watch_deliveries"))
        conn.execute(text("DELETE FROM watch_hits"))
        gin = module._match_pg(conn, counts.new_ids, counts.new_ids, NOW, gin=True)
        indexed = sorted(conn.execute(text("SELECT watch_id, article_id FROM watch_hits")).all())
    assert pairs == gin == len(loop) > 0 and loop == indexed
    monkeypatch.setattr(module, "GIN_PAIRS", 1)  # through match_batch, in a transaction of its own
    with pg_engine.begin() as conn:
        conn.execute(text("DELETE FROM watch_hits"))
        assert match_batch(conn, counts.new_ids, [], NOW) == len(loop)


def test_a_bad_watch_is_a_one_line_error_naming_file_watch_and_key():
    from etl.config import ConfigError
    base = {"sources": [{"name": "irna", "kind": "feed", "url": "https://irna.example/rss"}]}
    cases = [
        ({"name": "w", "query": "   "}, "watch 'w': key 'query'"),
        ({"name": "w", "query": "نفت", "sources": ["nope"]}, "watch 'w': key 'sources': no source named 'nope'"),
        ({"name": "w", "query": "نفت", "webhook": "ftp://x"}, "watch 'w': key 'webhook'"),
        ({"name": "w", "query": "نفت", "email": ["not-an-address"]}, "watch 'w': key 'email'"),
        ({"name": "w", "query": "نفت", "digest": "soon"}, "watch 'w': key 'digest'"),
        ({"name": "w", "query": "نفت", "colour": "red"}, "watch 'w': key 'colour': unknown key"),
        ({"name": "bad name", "query": "نفت"}, "watch 'bad name': key 'name'"),
        ({"query": "نفت"}, "watch #1: key 'name': missing"),
        ({"name": "w", "query": "نفت", "secret_env": "X"}, "watch 'w': key 'secret_env'"),
        ({"name": "w", "query": "نفت", "on_update": "yes"}, "watch 'w': key 'on_update'"),
    ]
    for table, expected in cases:
        with pytest.raises(ConfigError) as caught:
            parse_config({**base, "watches": [table]}, "sources.toml")
        message = str(caught.value)
        assert message.startswith("sources.toml: ") and expected in message and "\n" not in message, message


def test_watches_parse_with_every_key():
    data = {"sources": [{"name": "irna", "kind": "feed", "url": "https://irna.example/rss"}],
            "watches": [{"name": "oil", "query": '"وزارت نفت"', "sources": ["irna"], "agencies": ["ایرنا"],
                         "webhook": "http://127.0.0.1:8000/hook", "secret_env": "OIL_SECRET",
                         "email": ["desk@example.org"], "digest": "15m", "on_update": True}]}
    (watch,) = parse_config(data, "f").watches
    assert watch == Watch("oil", '"وزارت نفت"', ("irna",), ("ایرنا",), "http://127.0.0.1:8000/hook",
                          ("desk@example.org",), 900, "OIL_SECRET", True)
    assert watch.channels == ("webhook", "email")


def test_step_11_adds_the_watch_tables_to_a_version_10_database(empty_db_url):
    from etl.load.db import make_engine
    from etl.load.migrate import upgrade
    engine = make_engine(empty_db_url)
    upgrade(engine, NOW)
    sid = source_id(engine)
    load(engine, sid, [article(1, "نفت", "قیمت نفت")])
    with engine.begin() as conn:
        on = " ON articles" if engine.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TRIGGER articles_forget_watch_hits{on}"))
        for table in ("watch_deliveries", "watch_hits", "watches"):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version > 10"))
    assert upgrade(engine, NOW).from_version == 10
    watch_on(engine, Watch("w", "نفت", webhook="http://127.0.0.1:9/h"))
    load(engine, sid, [article(2, "نفت", "نفت خام")])
    assert scalar(engine, "SELECT count(*) FROM articles") == 2 and hits(engine, "w") == ["https://news.example/2"]
    engine.dispose()


def test_a_deleted_article_takes_its_hits_and_deliveries_along(engine):
    sid = source_id(engine)
    watch_on(engine, Watch("w", "نفت", webhook="http://127.0.0.1:9/h"))
    load(engine, sid, [article(1, "نفت", "قیمت نفت"), article(2, "نفت", "نفت خام")])
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM articles WHERE url = 'https://news.example/1'"))
    assert hits(engine, "w") == ["https://news.example/2"]
    assert scalar(engine, "SELECT count(*) FROM watch_deliveries") == 1


def test_a_reload_of_the_service_syncs_the_watches_of_the_file(engine, tmp_path):
    """SIGHUP: the local executor reads the file again; its new watch is synced and matched."""
    from pathlib import Path
    from etl.config import load_config
    from etl.executors.local import LocalExecutor, LocalOptions
    config = tmp_path / "sources.toml"
    config.write_text('[[watches]]\nname = "first"\nquery = "نفت"\n', encoding="utf-8")
    executor = LocalExecutor(engine, load_config(config), LocalOptions(config_path=Path(config)), None, lambda: NOW)
    executor._sync()
    config.write_text('[[watches]]\nname = "first"\nquery = "نفت"\n\n[[watches]]\nname = "second"\nquery = "گاز"\n',
                      encoding="utf-8")
    assert executor.reload()
    sid = source_id(engine)
    load(engine, sid, [article(1, "گاز", "قیمت گاز")])
    assert hits(engine, "second") == ["https://news.example/1"] and hits(engine, "first") == []
