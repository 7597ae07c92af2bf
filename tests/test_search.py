"""Search, revisions, near-duplicate clusters and export, on PostgreSQL and SQLite."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from conftest import DATA, NOW, invoke
from etl.clean.article import to_article
from etl.config import Source
from etl.load.search import Filters, QueryError, get_article, search
from etl.load.sources import ensure_source
from etl.load.schema import SCHEMA_VERSION
from etl.load.upsert import write_articles
from etl.models import RawItem

SEED = (DATA / "seed" / "000_3b436877025587a2.txt").read_text(encoding="utf-8").strip().removeprefix("date 2025-08-22")
FARS = json.loads((DATA / "fars-news" / "fars-news-1.json").read_text(encoding="utf-8"))


def load(engine, source: str, raws: list[RawItem], now=NOW):
    articles = [to_article(r, now) for r in raws]
    with engine.begin() as conn:
        sid = ensure_source(conn, Source(name=source, kind="files", path="x"), now, in_config=False)
        return write_articles(conn, sid, articles, now)


def fars_item(i: int, **changes) -> RawItem:
    r = FARS[i]
    fields = dict(location=f"fars#{i}", title=r["title"], summary=r["abstract"], body="\n".join(r["paragraphs"]),
                  url=r["link"], published=f"1387/07/0{1 + i % 9} - 10:00")
    fields.update(changes)
    return RawItem(**fields)


@pytest.fixture
def corpus(engine):
    load(engine, "mehr", [RawItem("seed.txt", body=SEED, published="2025-08-22")])
    load(engine, "fars", [fars_item(i) for i in range(40)])
    return engine


def ids(engine, query: str, **filters) -> list[int]:
    with engine.connect() as conn:
        return [h.id for h in search(conn, query, Filters(**filters), limit=100)]


@pytest.mark.parametrize("variants", [
    ("می‌دهند", "میدهند", "می دهند"),
    ("نخست‌وزیر", "نخستوزیر", "نخست وزیر"),
    ("همکاری‌های", "همکاریهای"),
    ("علی", "علي"),
    ("پاکستان", "پاكستان"),
    ("۱۲", "12", "١٢"),
])
def test_every_spelling_variant_finds_the_same_articles(corpus, variants):
    results = [ids(corpus, v) for v in variants]
    assert results[0], f"{variants[0]} found nothing"
    assert all(r == results[0] for r in results), dict(zip(variants, results))


def test_old_style_fars_text_is_found_with_modern_spelling(corpus):
    # Fars writes "مي شود" with Arabic yeh and a space; a modern query finds it.
    assert ids(corpus, "می‌شود") and ids(corpus, "می‌شود") == ids(corpus, "مي شود") == ids(corpus, "میشود")


def test_phrase_query_matches_adjacent_words_only(corpus):
    assert len(ids(corpus, '"سفیر پاکستان"')) == 1
    assert ids(corpus, '"پاکستان سفیر"') == []
    assert ids(corpus, "پاکستان سفیر") == ids(corpus, '"سفیر پاکستان"')  # unquoted: both words anywhere


def test_filters(corpus):
    everything = ids(corpus, "گزارش")
    assert len(everything) >= 2
    only_mehr = ids(corpus, "گزارش", source="mehr")
    assert len(only_mehr) == 1 and set(only_mehr) < set(everything)
    assert ids(corpus, "گزارش", since=datetime(2025, 1, 1, tzinfo=timezone.utc)) == only_mehr
    assert only_mehr[0] not in ids(corpus, "گزارش", until=datetime(2025, 1, 1, tzinfo=timezone.utc))


def test_hits_carry_a_marked_snippet_and_rank(corpus):
    with corpus.connect() as conn:
        [hit] = [h for h in search(conn, "میدهند", limit=50) if h.source == "mehr"]
    assert "[می‌دهند]" in hit.snippet and hit.source == "mehr" and hit.score > 0
    assert hit.published_at == datetime(2025, 8, 21, 20, 30, tzinfo=timezone.utc)


def test_partial_word_in_title(corpus):
    # "روستايي" in a Fars title; "روستا" is only part of that word, so full-text alone misses it.
    assert "روستايي" in FARS[0]["title"]
    with corpus.connect() as conn:
        hits = search(conn, "روستا", limit=100)
    assert any(h.title.startswith("ارائه خدمات") for h in hits)


def test_query_is_data_not_sql(corpus):
    assert ids(corpus, "'; DROP TABLE articles; --") == []
    assert ids(corpus, '" OR 1=1 --') == []
    with corpus.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM articles")).scalar() == 41
        with pytest.raises(QueryError):
            search(conn, " ،؛ ")


def test_edited_article_keeps_its_previous_version(engine):
    load(engine, "fars", [fars_item(1)])
    later = NOW.replace(hour=18)
    edited = fars_item(1, title=FARS[1]["title"] + " (اصلاح شد)")
    counts = load(engine, "fars", [edited], now=later)
    assert counts.updated == 1
    with engine.connect() as conn:
        [article_id] = conn.execute(text("SELECT id FROM articles")).scalars().all()
        article = get_article(conn, article_id)
    assert article["title"].endswith("(اصلاح شد)")
    [old] = article["revisions"]
    assert not old["title"].endswith("(اصلاح شد)")
    assert (old["stored_at"], old["replaced_at"]) == (NOW, later)
    # The edited text is what search finds now; the old title alone no longer matches the new row only.
    assert ids(engine, "اصلاح") == [article_id]
    load(engine, "fars", [edited], now=later.replace(hour=19))  # unchanged: no new revision
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM article_revisions")).scalar() == 1


def _wire(i: int, lead: str, tail: str = "") -> str:
    paragraphs = list(FARS[i]["paragraphs"])
    first = paragraphs[0]
    # Each outlet rewrites the attribution and the first clause of the lead.
    paragraphs[0] = lead + " " + first.split("،", 1)[-1]
    return "\n".join(paragraphs) + (("\n" + tail) if tail else "")


def test_same_story_from_three_outlets_is_one_cluster_different_stories_are_not(engine):
    story = 12
    load(engine, "mehr", [RawItem("m", title="عنوان مهر", body=_wire(story, "به گزارش خبرگزاری مهر،"), url="https://mehrnews.com/news/1")])
    load(engine, "isna", [RawItem("i", title="عنوان ایسنا", body=_wire(story, "به گزارش ایسنا،", "انتهای پیام"), url="https://isna.ir/news/2")])
    load(engine, "irna", [RawItem("r", title="عنوان ایرنا", body=_wire(story, "به گزارش ایرنا از تهران،"), url="https://irna.ir/news/3")])
    same_cat = [i for i, r in enumerate(FARS) if r["cat"] == FARS[story]["cat"] and i != story and len(" ".join(r["paragraphs"]).split()) > 60]
    load(engine, "fars", [fars_item(same_cat[0]), fars_item(same_cat[1])])
    with engine.connect() as conn:
        clusters = dict(conn.execute(text(
            "SELECT s.name, a.cluster_id FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name <> 'fars'")).all())
        fars_clusters = conn.execute(text(
            "SELECT a.cluster_id FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = 'fars'")).scalars().all()
    assert len(set(clusters.values())) == 1 and None not in clusters.values()
    assert len(set(fars_clusters)) == 2 and not set(fars_clusters) & set(clusters.values())


@pytest.mark.slow
def test_export_round_trips_through_backfill(db_url, tmp_path):
    assert invoke("--database-url", db_url, "backfill", str(DATA / "seed"), str(DATA / "files" / "formats" / "fars_saved.rss"),
                   "--source", "orig").returncode == 0
    assert invoke("--database-url", db_url, "backfill", str(DATA / "fars-news" / "fars-news-2.json"), "--source", "orig").returncode == 0
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"export.{fmt}"
        result = invoke("--database-url", db_url, "export", "--format", fmt, "--output", str(out), "--source", "orig")
        assert result.returncode == 0, result.stderr
        assert "exported 304 article(s)" in result.stderr
        if fmt == "parquet":
            continue  # backfill does not read Parquet; its content is checked below
        back = invoke("--database-url", db_url, "backfill", str(out), "--source", f"copy-{fmt}", "--json")
        assert back.returncode == 0, back.stderr
        assert json.loads(back.stdout)["new"] == 304
    snapshot = ("SELECT a.key, a.title, a.title_derived, a.summary, a.body, a.url, a.published_at, a.meta "
                "FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = :s ORDER BY a.key")
    from etl.load.db import make_engine
    engine = make_engine(db_url)
    with engine.connect() as conn:
        original = conn.execute(text(snapshot), {"s": "orig"}).all()
        for fmt in ("jsonl", "csv"):
            assert conn.execute(text(snapshot), {"s": f"copy-{fmt}"}).all() == original, fmt
    engine.dispose()
    import pyarrow.parquet as pq
    table = pq.read_table(tmp_path / "export.parquet")
    assert table.num_rows == 304 and sorted(table.column("title").to_pylist()) == sorted(r[1] for r in original)


def test_search_show_cli(sqlite_url):
    assert invoke("--database-url", sqlite_url, "backfill", str(DATA / "seed"), "--source", "mehr").returncode == 0
    result = invoke("--database-url", sqlite_url, "search", "نخستوزیر", "--json")
    [hit] = json.loads(result.stdout)
    assert hit["published_at"] == "2025-08-21T20:30:00+00:00" and hit["published_tehran"] == "2025-08-22T00:00:00+03:30"
    assert "[نخست‌وزیر]" in hit["snippet"]
    shown = invoke("--database-url", sqlite_url, "show", str(hit["id"]))
    assert shown.returncode == 0 and "revisions: 0" in shown.stdout and "نخست‌وزیر" in shown.stdout
    missing = invoke("--database-url", sqlite_url, "show", "999")
    assert missing.returncode == 1 and missing.stderr.strip() == "news-etl: error: no article with id 999"


def test_csv_export_is_readable_by_csv_module(sqlite_url, tmp_path):
    assert invoke("--database-url", sqlite_url, "backfill", str(DATA / "seed"), "--source", "mehr").returncode == 0
    out = tmp_path / "a.csv"
    assert invoke("--database-url", sqlite_url, "export", "--format", "csv", "--output", str(out)).returncode == 0
    [row] = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["title_derived"] == "True" and json.loads(row["meta"])["agency"] == "مهر"


def test_a_thousand_word_query_is_a_one_line_error_on_both_databases(corpus):
    words = " ".join(f"واژه{i}" for i in range(1000))
    with corpus.connect() as conn:
        with pytest.raises(QueryError, match=r"^query of 1000 words is too long: at most 64 words are searched$"):
            search(conn, words)
        with pytest.raises(QueryError, match=r"^query of 1000 words is too long"):
            search(conn, f'"{words}"')
        # At the bound the query is built flat (no nested expression) and runs.
        assert search(conn, " ".join(FARS[3]["paragraphs"][0].split()[:64]), limit=5) is not None


def test_cli_long_query_on_sqlite_is_not_database_unavailable(sqlite_url):
    assert invoke("--database-url", sqlite_url, "backfill", str(DATA / "seed"), "--source", "mehr").returncode == 0
    result = invoke("--database-url", sqlite_url, "search", " ".join(f"واژه{i}" for i in range(1000)))
    assert result.returncode == 2 and "database unavailable" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "news-etl: error: query of 1000 words is too long: at most 64 words are searched")


def test_fts5_rejecting_the_expression_is_a_search_error_not_an_outage(sqlite_url, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from etl.load import search as search_module
    from etl.load.db import make_engine
    from etl.load.migrate import upgrade
    engine = make_engine(sqlite_url)
    upgrade(engine, NOW)
    # fts_match quotes every word, so no query reaches FTS5 malformed; an expression it rejects
    # stands in for one (the real SQLite parses it and fails).
    monkeypatch.setattr(search_module, "fts_match", lambda terms, stems=False: '"unterminated')
    with engine.connect() as conn, pytest.raises(search_module.SearchError,
                                                 match=r"^search 'ایران' failed: unterminated string$"):
        search(conn, "ایران")
    monkeypatch.undo()
    # Anything else SQLite reports stays a database error (the CLI says "database unavailable").
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE articles_fts"))
    with engine.connect() as conn, pytest.raises(OperationalError, match="no such table"):
        search(conn, "ایران")
    engine.dispose()


def test_snippet_says_why_it_shows_no_hit(corpus):
    load(corpus, "titles", [RawItem("t", title="واژه‌ای نادر: زنبورستان", body="متنی دیگر درباره چیز دیگری است.\nبند دوم.")])
    with corpus.connect() as conn:
        [hit] = search(conn, "زنبورستان")
        [partial] = search(conn, "زنبورس")
    assert hit.excerpt.spans == () and hit.excerpt.note == "the match is in the title"
    assert hit.snippet == "متنی دیگر درباره چیز دیگری است. (the match is in the title)"
    assert partial.excerpt.note == "the title holds these letters inside longer words"


def test_snippet_shows_a_hit_that_is_only_in_the_summary(corpus):
    load(corpus, "sum", [RawItem("s", title="عنوان", summary="خلاصه‌ای با واژه کندوداری در آن", body="متن اصلی.")])
    with corpus.connect() as conn:
        [hit] = search(conn, "کندوداری")
    assert hit.snippet == "خلاصه‌ای با واژه [کندوداری] در آن"
    assert [hit.excerpt.text[s:e] for s, e in hit.excerpt.spans] == ["کندوداری"]


def test_upgrade_rebuilds_search_documents_stored_before_version_4(engine):
    from etl.clean.fold import fold
    from etl.load.migrate import upgrade
    load(engine, "fars", [RawItem("z", title="گزارش", body="حرف‌هایشان را درباره ساخت‌وساز‌های تازه زدند.")])
    with engine.begin() as conn:
        # What a version-3 database holds: fold alone, no joined compounds.
        old = fold("گزارش\nحرف‌هایشان را درباره ساخت‌وساز‌های تازه زدند.")
        if engine.dialect.name == "postgresql":
            conn.execute(text("UPDATE articles SET search_doc = to_tsvector('simple', :d)"), {"d": old})
        else:
            conn.execute(text("UPDATE articles_fts SET doc = :d"), {"d": old})
        conn.execute(text("DROP INDEX sources_due"))  # and what step 5 adds (source leases)
        for column in ("lease_until", "lease_owner", "last_delay", "database_failures", "crawl_next_at",
                       "blocked_by"):
            conn.execute(text(f"ALTER TABLE sources DROP COLUMN {column}"))  # steps 5, 8 and 13
        conn.execute(text("DROP TABLE host_pace"))  # and step 7's table
        conn.execute(text("DROP TABLE sync_state"))  # and step 8's
        for table in ("watch_deliveries", "watch_hits", "watches"):  # and step 11's
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DROP TRIGGER articles_forget_watch_hits" + (" ON articles" if engine.dialect.name == "postgresql" else "")))
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 4"))
    assert ids(engine, "ساختوسازهای") == []
    upgrade(engine, NOW)
    assert len(ids(engine, "ساختوسازهای")) == len(ids(engine, "حرفهایشان")) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(version) FROM schema_migrations")).scalar() == SCHEMA_VERSION


def test_search_leaves_the_planner_settings_of_the_connection_as_they_were(pg_engine, monkeypatch):
    from etl.load import search as search_module
    load(pg_engine, "fars", [fars_item(i) for i in range(30)])
    # A first window of 2 ids on 30 articles: the widening windows (bitmap plans only) run.
    monkeypatch.setattr(search_module, "FIRST_WINDOW", 2)
    with pg_engine.connect() as conn:
        assert search(conn, "گزارش", limit=5) == search(conn, "گزارش", limit=5)
        assert conn.execute(text("SHOW enable_indexscan")).scalar() == "on"
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        search(conn, "گزارش", limit=5)
        assert conn.execute(text("SHOW enable_indexscan")).scalar() == "off"


@pytest.mark.parametrize("first_window", [1, 3, 10_000])
def test_widening_windows_find_exactly_the_most_recent_matches(pg_engine, monkeypatch, first_window):
    from sqlalchemy import func as f, literal_column
    from etl.load import search as search_module
    load(pg_engine, "fars", [fars_item(i) for i in range(40)])
    monkeypatch.setattr(search_module, "RANK_CANDIDATES", 4)
    monkeypatch.setattr(search_module, "FIRST_WINDOW", first_window)
    for query in ("گزارش", "ایران", "مي شود", "تهران"):
        tsquery = f.to_tsquery(literal_column("'simple'"), search_module.tsquery_text(search_module.query_terms(query)))
        with pg_engine.connect() as conn:
            every = conn.execute(text("SELECT id FROM articles WHERE search_doc @@ to_tsquery('simple', :q) ORDER BY id DESC"),
                                 {"q": search_module.tsquery_text(search_module.query_terms(query))}).scalars().all()
            assert every, query
            assert search_module._recent_matches(conn, tsquery, Filters()) == every[:4], query


# --- search by stem (issue 23) ------------------------------------------------------------

# Real sentences: Varzesh3 and Fars News (tests/data), each using one form of a noun.
_FORMS = [
    RawItem("reporters", title="نشست", body="سرمربی تیم در جمع خبرنگاران گفت که از نتیجه راضی است."),
    RawItem("reporter", title="گفت‌وگو", body="وی در گفت‌وگو با خبرنگار فارس گفت که از نتیجه راضی است."),
    RawItem("students", title="دانشگاه", body="تعدادی از دانشجویان در این مراسم حضور داشتند."),
    RawItem("deputies", title="مجلس", body="نمایندگان مجلس این طرح را تصویب کردند."),
    RawItem("rain", title="هوا", body="باران شدید در استان گیلان ادامه دارد."),
    RawItem("load", title="کشتی", body="بار این کشتی در بندر تخلیه شد."),
]


def test_a_word_finds_its_inflected_forms_the_words_as_typed_first(engine):
    load(engine, "v3", _FORMS)
    with engine.connect() as conn:
        hits = search(conn, "خبرنگار")
        assert [h.url or h.title for h in hits][:1] == ["گفت‌وگو"]  # the word as typed ranks first
        assert {h.title for h in hits} == {"گفت‌وگو", "نشست"}
        stemmed = next(h for h in hits if h.title == "نشست")
        assert stemmed.snippet.startswith("سرمربی تیم در جمع [خبرنگاران] گفت")
        # The query in an inflected form finds the others too.
        assert {h.title for h in search(conn, "خبرنگاران")} == {"گفت‌وگو", "نشست"}
        assert {h.title for h in search(conn, "دانشجو")} == {"دانشگاه"}
        assert {h.title for h in search(conn, "نماینده")} == {"مجلس"}
        # Words as typed only, when asked.
        assert {h.title for h in search(conn, "خبرنگار", stems=False)} == {"گفت‌وگو"}


def test_stems_never_join_unrelated_words_and_phrases_stay_exact(engine):
    load(engine, "v3", _FORMS)
    with engine.connect() as conn:
        # باران (rain) is no plural of بار (a load): a word hazm lists stays whole.
        assert {h.title for h in search(conn, "بار")} == {"کشتی"}
        assert {h.title for h in search(conn, "باران")} == {"هوا"}
        # A quoted phrase matches as written, never by stems.
        assert search(conn, '"جمع خبرنگار"') == []
        assert {h.title for h in search(conn, '"جمع خبرنگاران"')} == {"نشست"}


def test_upgrade_to_version_13_indexes_the_stems_of_stored_articles(engine):
    from etl.clean.fold import fold_fields
    from etl.load.migrate import upgrade
    load(engine, "v3", _FORMS[:1])
    with engine.begin() as conn:
        # What a version-12 database holds: the document without stems.
        old = fold_fields("نشست", None, _FORMS[0].body).replace(" ـخبرنگار", "")
        if engine.dialect.name == "postgresql":
            conn.execute(text("UPDATE articles SET search_doc = to_tsvector('simple', :d)"), {"d": old})
        else:
            conn.execute(text("UPDATE articles_fts SET doc = :d"), {"d": old})
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 13"))
        before = conn.execute(text("SELECT title, body, content_hash, updated_at FROM articles")).all()
    assert ids(engine, "خبرنگار") == []
    upgrade(engine, NOW)
    assert len(ids(engine, "خبرنگار")) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(version) FROM schema_migrations")).scalar() == SCHEMA_VERSION
        assert conn.execute(text("SELECT title, body, content_hash, updated_at FROM articles")).all() == before
