"""The analysis commands on both databases: per-period counts against plain SQL counts with the
same filters, Tehran days, Jalali months and Saturday weeks, several queries aligned, terms
without stopwords and with inflected forms merged, stories with their first outlet and delays,
and bad input as one line with exit 2. The corpus is real Fars News text loaded through the
product's backfill, at publication times chosen to sit on the calendar's edges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from conftest import DATA, invoke
from etl.analysis import periods
from etl.analysis.errors import AnalysisError
from etl.analysis.outlets import outlets
from etl.analysis.stories import stories
from etl.analysis.terms import characteristic, terms
from etl.analysis.trends import trends
from etl.analysis.words import is_stopword, words
from etl.config import Source
from etl.load.search import Filters, search
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context

FARS = [r for f in ("fars-news-1.json", "fars-news-2.json")
        for r in json.loads((DATA / "fars-news" / f).read_text(encoding="utf-8"))]
UTC = timezone.utc
LOADED_AT = datetime(2026, 6, 1, tzinfo=UTC)  # after every publication time below (later ones are not trusted)
VOLCANO, ECLIPSE = "آتشفشان", "کسوف"  # words no Fars article holds: only the titles below carry them
# (Fars article, source, UTC publication time, marker words in its title). Tehran is UTC+03:30 in 2026.
EDGES = [
    (0, "alpha", datetime(2026, 1, 7, 20, 15, tzinfo=UTC), (ECLIPSE,)),   # Wed 7 Jan 23:45 Tehran
    (1, "alpha", datetime(2026, 1, 7, 20, 45, tzinfo=UTC), (VOLCANO,)),   # Thu 8 Jan 00:15 Tehran
    (2, "beta", datetime(2026, 1, 8, 9, 0, tzinfo=UTC), ()),               # Thu 8 Jan
    (3, "beta", datetime(2026, 1, 9, 9, 0, tzinfo=UTC), (VOLCANO, ECLIPSE)),  # Fri 9 Jan: last day of its week
    (4, "alpha", datetime(2026, 1, 10, 9, 0, tzinfo=UTC), (VOLCANO,)),   # Sat 10 Jan: a new week
    (5, "beta", datetime(2026, 1, 20, 12, 0, tzinfo=UTC), (VOLCANO,)),   # 30 Dey 1404 (20 Jan)
    (6, "alpha", datetime(2026, 1, 20, 20, 45, tzinfo=UTC), (ECLIPSE,)),  # 1 Bahman 1404 (21 Jan, 00:15 Tehran)
    (7, "beta", datetime(2026, 1, 24, 9, 0, tzinfo=UTC), ()),
]


@dataclass
class Loaded:
    engine: Engine
    url: str


def _backfill(engine: Engine, tmp: Path, source: str, records: list[dict], name: str | None = None) -> None:
    folder = tmp / (name or source)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    report = run_backfill(Context(engine, lambda: LOADED_AT),
                          Backfill(Source(name=source, kind="files", path=str(folder)), [path], in_config=False))
    assert report.failed == 0 and report.error is None, report


def _record(i: int, when: datetime, markers: tuple[str, ...] = (), lead: str | None = None) -> dict:
    r = FARS[i]
    paragraphs = list(r["paragraphs"])
    abstract = r["abstract"]
    if lead:  # another outlet's copy: its own attribution opens the lead (and it has no abstract)
        paragraphs[0] = lead + " " + paragraphs[0].split("،", 1)[-1]
        abstract = None
    return {"title": " ".join((*markers, r["title"])), "abstract": abstract, "paragraphs": paragraphs,
            "link": r["link"] + (f"?copy={lead}" if lead else ""), "published": when.isoformat()}


@pytest.fixture
def edges(engine, db_url, tmp_path) -> Loaded:
    for source in ("alpha", "beta"):
        _backfill(engine, tmp_path, source, [_record(i, when, markers) for i, src, when, markers in EDGES if src == source])
    return Loaded(engine, db_url)


def tehran_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=periods.TEHRAN).astimezone(UTC)


def plain_count(engine: Engine, word: str | None, start: datetime, end: datetime, source: str | None = None) -> int:
    """A plain SQL count of the articles holding ``word`` (None: all) published in [start, end)."""
    if engine.dialect.name == "postgresql":
        match = "a.search_doc @@ to_tsquery('simple', :word)"
        params = {"start": start, "end": end}
    else:  # SQLite stores naive UTC text
        match = "a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :word)"
        params = {"start": start.replace(tzinfo=None).isoformat(" "), "end": end.replace(tzinfo=None).isoformat(" ")}
    sql = ("SELECT count(*) FROM articles a JOIN sources s ON s.id = a.source_id "
           "WHERE a.published_at >= :start AND a.published_at < :end")
    if word:
        sql += " AND " + match
        params["word"] = word
    if source:
        sql += " AND s.name = :source"
        params["source"] = source
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


# --- trends -----------------------------------------------------------------------------------

def test_day_counts_equal_plain_sql_counts_with_the_same_filters(edges):
    for source in (None, "alpha"):
        filters = Filters(sources=(source,) if source else ())
        with edges.engine.connect() as conn:
            found = trends(conn, [VOLCANO, ECLIPSE, "ایران"], filters, by="day")
        assert found.periods[0] == "2026-01-07" and found.periods[-1] == ("2026-01-21" if source else "2026-01-24")
        for i, start in enumerate(found.starts):
            lo, hi = tehran_midnight(start), tehran_midnight(start + timedelta(days=1))
            assert found.totals[i] == plain_count(edges.engine, None, lo, hi, source), (source, start)
            for series in found.series:
                word = series.query
                assert series.counts[i] == plain_count(edges.engine, word, lo, hi, source), (source, word, start)
                assert series.shares[i] == (round(series.counts[i] / found.totals[i], 6) if found.totals[i] else 0.0)


def test_an_article_at_2045_utc_counts_on_the_next_tehran_day(edges):
    with edges.engine.connect() as conn:
        found = trends(conn, [VOLCANO, ECLIPSE], by="day")
    day = dict(zip(found.periods, zip(found.totals, found.series[0].counts, found.series[1].counts)))
    assert day["2026-01-07"] == (1, 0, 1)  # 20:15 UTC is still the 7th in Tehran
    assert day["2026-01-08"] == (2, 1, 0)  # 20:45 UTC on the 7th is 00:15 on the 8th
    assert day["2026-01-21"] == (1, 0, 1)


def test_empty_periods_are_present_with_zeros(edges):
    with edges.engine.connect() as conn:
        found = trends(conn, [VOLCANO], by="day")
    assert len(found.periods) == 18  # 7 to 24 January, every day
    gap = found.periods.index("2026-01-15")
    assert found.totals[gap] == 0 and found.series[0].counts[gap] == 0 and found.series[0].shares[gap] == 0.0


def test_jalali_months_have_their_own_edges(edges):
    with edges.engine.connect() as conn:
        found = trends(conn, [VOLCANO, ECLIPSE], by="month", calendar="jalali")
        gregorian = trends(conn, [VOLCANO], by="month")
    assert found.periods == ("1404-10", "1404-11")
    assert found.starts == (date(2025, 12, 22), date(2026, 1, 21))  # 1 Dey and 1 Bahman 1404
    assert found.totals == (6, 2)
    assert found.series[0].counts == (4, 0) and found.series[1].counts == (2, 1)
    assert found.series[1].shares == (round(2 / 6, 6), 0.5)
    assert gregorian.periods == ("2026-01",) and gregorian.totals == (8,)


def test_weeks_start_on_saturday(edges):
    with edges.engine.connect() as conn:
        found = trends(conn, [VOLCANO], by="week", calendar="jalali")
        greg = trends(conn, [VOLCANO], by="week")
    assert greg.periods == ("2026-01-03", "2026-01-10", "2026-01-17", "2026-01-24")
    assert all(s.weekday() == periods.SATURDAY for s in greg.starts)
    assert greg.totals == (4, 1, 2, 1) and greg.series[0].counts == (2, 1, 1, 0)  # Friday the 9th ends the first
    assert found.periods == ("1404-10-13", "1404-10-20", "1404-10-27", "1404-11-04")


def test_several_queries_are_aligned_and_a_query_matching_nothing_is_zeros(edges):
    with edges.engine.connect() as conn:
        found = trends(conn, [VOLCANO, "کلمه‌ای‌که‌نیست", ECLIPSE], by="week")
    assert [len(s.counts) for s in found.series] == [len(found.periods)] * 3
    assert found.series[1].counts == (0,) * 4 and found.series[1].shares == (0.0,) * 4
    # Each count is what search finds for the query in that week, with the same filters.
    with edges.engine.connect() as conn:
        for start, count in zip(found.starts, found.series[2].counts):
            week = Filters(since=tehran_midnight(start), until=tehran_midnight(start + timedelta(days=7)))
            assert len(search(conn, ECLIPSE, week, limit=100)) == count


def test_since_and_until_bound_the_periods(edges):
    since, until = tehran_midnight(date(2026, 1, 8)), tehran_midnight(date(2026, 1, 10))
    with edges.engine.connect() as conn:
        found = trends(conn, [VOLCANO], Filters(since=since, until=until), by="day")
    assert found.periods == ("2026-01-08", "2026-01-09") and found.totals == (2, 1)


def test_trends_json_and_csv_from_the_command_line(edges):
    args = ("--database-url", edges.url, "--config", "/dev/null", "-q")
    done = invoke("trends", VOLCANO, ECLIPSE, "--by", "month", "--calendar", "jalali", "--json", *args)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) == {"by", "calendar", "periods", "totals", "series"}
    assert payload["by"] == "month" and payload["calendar"] == "jalali" and payload["periods"] == ["1404-10", "1404-11"]
    assert [s["query"] for s in payload["series"]] == [VOLCANO, ECLIPSE] and payload["series"][0]["counts"] == [4, 0]
    csv = invoke("trends", VOLCANO, ECLIPSE, "--by", "month", "--calendar", "jalali", "--csv", *args).stdout
    lines = csv.splitlines()
    assert lines[0] == f"period,total,count: {VOLCANO},share: {VOLCANO},count: {ECLIPSE},share: {ECLIPSE}"
    assert lines[1] == f"1404-10,6,4,{round(4 / 6, 6)},2,{round(2 / 6, 6)}"
    table = invoke("trends", VOLCANO, "--by", "week", *args).stdout
    assert "2026-01-10" in table and "▁" in table or "█" in table


@pytest.mark.parametrize("argv, named", [
    (("trends", VOLCANO, "--by", "year"), "by: 'year'"),
    (("trends", VOLCANO, "--calendar", "hijri"), "calendar: 'hijri'"),
    (("trends", VOLCANO, "--since", "2026-02-01", "--until", "2026-01-01"), "is not before until"),
    (("trends", "و از که"), "only stopwords"),
    (("terms", "این است"), "only stopwords"),
    (("outlets", "، ؛"), "no words"),
    (("stories", "--since", "1404/11/01", "--until", "1404/10/01"), "is not before until"),
])
def test_bad_input_is_one_line_and_exit_2(sqlite_url, argv, named):
    done = invoke(*argv, "--database-url", sqlite_url, "--config", "/dev/null", "-q")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("news-etl: error: ") and named in done.stderr


def test_periods_are_pure_calendar_arithmetic():
    assert periods.start_of(date(2026, 1, 21), "month", "jalali") == date(2026, 1, 21)  # 1 Bahman 1404
    assert periods.start_of(date(2026, 1, 20), "month", "jalali") == date(2025, 12, 22)  # 1 Dey 1404
    assert periods.label(date(2026, 1, 21), "month", "jalali") == "1404-11"
    assert periods.next_start(date(2025, 3, 21), "month", "jalali") == date(2025, 4, 21)  # 1 Ordibehesht 1404
    assert periods.starts(date(2026, 3, 19), date(2026, 3, 22), "month", "jalali") == [date(2026, 2, 20), date(2026, 3, 21)]
    assert periods.tehran_day(datetime(2026, 1, 7, 20, 45, tzinfo=UTC)) == date(2026, 1, 8)
    # Summer time until 2022: +04:30, so 19:45 UTC was already the next day.
    assert periods.tehran_day(datetime(2021, 6, 1, 19, 45, tzinfo=UTC)) == date(2021, 6, 2)
    with pytest.raises(AnalysisError, match="by: 'quarter'"):
        periods.check("quarter", "gregorian")


# --- outlets ----------------------------------------------------------------------------------

def test_outlets_counts_shares_and_first_and_last_days(edges):
    with edges.engine.connect() as conn:
        found = outlets(conn, VOLCANO)
    by = {(o.kind, o.name): o for o in found.outlets}
    alpha, beta = by["source", "alpha"], by["source", "beta"]
    assert (alpha.matches, alpha.articles, alpha.share) == (2, 4, 0.5)
    assert (alpha.first, alpha.last) == (date(2026, 1, 8), date(2026, 1, 10))  # Tehran days
    assert (beta.matches, beta.articles, beta.first, beta.last) == (2, 4, date(2026, 1, 9), date(2026, 1, 20))
    agencies = [o for o in found.outlets if o.kind == "agency"]
    assert agencies and all(o.name == "فارس" for o in agencies)  # the Fars leads credit Fars


def test_each_sources_article_count_is_exact_dated_or_not_and_after_deletions(engine, tmp_path):
    """`sources`, `status` and the web page's sources view count from the kept day counts on
    PostgreSQL: the same numbers as counting the rows, undated articles included."""
    from etl.load.queries import source_overview
    _backfill(engine, tmp_path, "alpha", [_record(i, datetime(2026, 1, 8 + i, 9, tzinfo=UTC)) for i in range(4)])
    undated = [{**_record(i, LOADED_AT), "published": None} for i in range(4, 7)]
    _backfill(engine, tmp_path, "beta", [_record(7, datetime(2026, 1, 9, 9, tzinfo=UTC)), *undated])

    def counts():
        with engine.connect() as conn:
            listed = {row["name"]: row["articles"] for row in source_overview(conn)}
            plain = dict(conn.execute(text("SELECT s.name, count(a.id) FROM sources s LEFT JOIN articles a "
                                           "ON a.source_id = s.id GROUP BY s.name")).all())
        return listed, plain

    listed, plain = counts()
    assert listed == plain == {"alpha": 4, "beta": 4}
    assert all(type(n) is int for n in listed.values())  # JSON and the web page take them as they are
    with engine.begin() as conn:  # one dated and one undated article of beta go
        conn.execute(text("DELETE FROM articles WHERE source_id = (SELECT id FROM sources WHERE name = 'beta') "
                          "AND (published_at IS NOT NULL OR id = (SELECT min(id) FROM articles WHERE published_at IS NULL))"))
    listed, plain = counts()
    assert listed == plain == {"alpha": 4, "beta": 2}


# --- terms ------------------------------------------------------------------------------------

def test_inflected_forms_are_one_term_in_their_commonest_spelling():
    # تحریم، تحریم‌ها، تحریمها (plural with and without ZWNJ), کشور، کشورهای (joined plural + ezafe),
    # گران، گران‌ترین (superlative), تقاضا، تقاضای (ezafe after a long vowel): one key each.
    texts = ["تحریم‌ها علیه کشورهای منطقه گران‌ترین تقاضای بازار", "تحریم‌ها و کشور گران تقاضا",
             "تحریمها، کشور؛ گران", "تحریم‌ها کشورهای گران تقاضا", "تحریم کشور گران‌ترین تقاضای"]
    matching = [words(t) for t in texts]
    others = [words("هوا امروز آفتابی است"), words("مسابقه فوتبال برگزار شد")]
    found = {t.term: t for t in characteristic(matching, others, 50)}
    assert found["تحریم‌ها"].count == 5  # تحریم، تحریم‌ها and تحریمها: shown as written most often
    assert found["کشور"].count == 5 and "کشورهای" not in found
    assert found["گران"].count == 5 and "گران‌ترین" not in found
    assert found["تقاضا"].count == 4 and "تقاضای" not in found
    assert not any(is_stopword(w) for t in found for w in t.split())


def test_documents_of_stopwords_and_numbers_only_have_no_terms():
    assert characteristic([words("و از به ۱۲")], [words("که را")], 5) == []
    assert characteristic([words("و از")], [], 5) == [] and characteristic([], [], 5) == []
    assert characteristic([[]], [[]], 5) == [] and characteristic([words("نفت")], [], 5) == []


def test_a_phrase_never_spans_two_documents():
    # The documents are counted together: the last word of one and the first of the next are no phrase.
    matching = [words("بازار نفت"), words("سهام بورس")] * 3
    found = {t.term: t.count for t in characteristic(matching, [words("باران")], 50)}
    assert found["بازار نفت"] == 3 and found["سهام بورس"] == 3
    assert "نفت سهام" not in found and "بورس بازار" not in found


def test_dictionary_words_are_not_taken_for_inflections():
    docs = [words("تنها برتر دفتر تن بر دف"), words("تنها برتر دفتر تن بر دف"), words("تنها برتر دفتر تن بر دف")]
    found = {t.term for t in characteristic(docs, [words("باران")], 50)}
    assert {"تنها", "برتر", "دفتر"} <= found or {"برتر", "دفتر"} <= found  # تنها is also a stopword


TEN_QUERIES = ["نفت", "فوتبال", "مجلس", "دانشگاه", "آمریکا", "بانک", "هسته‌ای", "رئیس‌جمهور", '"وزارت امور خارجه"', "قیمت"]


@pytest.fixture
def fars(engine, db_url, tmp_path) -> Loaded:
    start = datetime(2025, 9, 1, tzinfo=UTC)
    _backfill(engine, tmp_path, "fars", [_record(i, start + timedelta(hours=5 * i)) for i in range(len(FARS))])
    return Loaded(engine, db_url)


def test_ten_queries_no_stopword_in_the_top_30_and_forms_merged(fars):
    for query in TEN_QUERIES:
        with fars.engine.connect() as conn:
            found = terms(conn, query, limit=30, sample=5000)
        assert found.sample >= 5 and len(found.terms) >= 10, (query, found.sample)
        assert found.every_match  # fewer matches than the sample: all of them were read
        shown = [t.term for t in found.terms]
        assert not [w for t in shown for w in t.split() if is_stopword(w)], (query, shown)
        # One key per term: no word shown beside its own plural or ZWNJ-less spelling.
        singles = {t.replace("\u200c", "") for t in shown if " " not in t}
        for term in singles:
            for ending in ("ها", "های", "هایی", "ترین"):
                assert term + ending not in singles, (query, term, term + ending)
        assert all(t.count >= 3 and t.score > 0 for t in found.terms)


def test_terms_sample_is_drawn_only_beyond_its_size_and_printed(fars):
    with fars.engine.connect() as conn:
        small = terms(conn, "ایران", sample=50)
        again = terms(conn, "ایران", sample=50)
        whole = terms(conn, "ایران", sample=5000)
    assert small.sample == 50 and not small.every_match and small.background_sample == 50
    assert small == again  # the same seed draws the same sample
    assert whole.every_match and whole.sample > 50
    with fars.engine.connect() as conn:
        assert whole.sample == sum(o.matches for o in outlets(conn, "ایران").outlets if o.kind == "source")
    args = ("--database-url", fars.url, "--config", "/dev/null", "-q")
    out = invoke("terms", "نفت", "--limit", "5", *args)
    assert out.returncode == 0 and out.stdout.startswith("sample: ")
    payload = json.loads(invoke("terms", "نفت", "--limit", "5", "--json", *args).stdout)
    assert {"query", "sample", "terms"} <= set(payload) and len(payload["terms"]) == 5
    assert set(payload["terms"][0]) == {"term", "count", "background", "score"}


def test_a_sample_is_the_same_whether_the_rows_are_listed_or_sampled_first(fars, monkeypatch):
    # PostgreSQL lists a set the planner expects small and samples pages of a large one first;
    # a wrong guess either way costs time, never another sample.
    from etl.load import analysis as rows
    from etl.load.search import match_clause
    drawn = {}
    for listed_below in (10**9, 0):  # always listed first, never listed first
        monkeypatch.setattr(rows, "LISTED_BELOW", listed_below)
        with fars.engine.connect() as conn:
            for query in ("ایران", "نفت", VOLCANO):
                match = match_clause(conn, query)
                for condition in (match, rows.not_matching(match)):
                    for size in (5, 50, 5000):
                        found = rows.sample_ids(conn, Filters(), condition, size, 1404)
                        drawn.setdefault((query, str(condition), size), []).append(found)
    assert all(a == b for a, b in drawn.values())
    assert any(a.whole for a, _ in drawn.values()) and any(not a.whole for a, _ in drawn.values())


# --- stories ----------------------------------------------------------------------------------

STORY = 12


@pytest.fixture
def wire(engine, db_url, tmp_path) -> Loaded:
    first = datetime(2025, 9, 1, 6, 30, tzinfo=UTC)  # 10:00 Tehran
    _backfill(engine, tmp_path, "fars", [_record(STORY, first), _record(20, first + timedelta(hours=1))])
    _backfill(engine, tmp_path, "mehr", [_record(STORY, first + timedelta(minutes=20), lead="به گزارش خبرگزاری فارس،"),
                                         _record(30, first)])
    _backfill(engine, tmp_path, "isna", [_record(STORY, first + timedelta(minutes=65), lead="به گزارش ایسنا،")])
    # A story carried by one outlet only, twice: a cluster, but no shared story.
    _backfill(engine, tmp_path, "tasnim", [_record(40, first), _record(40, first + timedelta(hours=2), lead="به گزارش تسنیم،")])
    return Loaded(engine, db_url)


def test_stories_first_outlet_delays_and_attribution(wire):
    with wire.engine.connect() as conn:
        found = stories(conn)
    assert len(found.stories) == 1
    [story] = found.stories
    assert story.outlets == 3 and story.first.source == "fars" and story.first.agency == "فارس"
    assert [(c.source, c.delay, c.credits_first) for c in story.copies] == [
        ("mehr", timedelta(minutes=20), True), ("isna", timedelta(minutes=65), False)]
    assert story.copies[1].agency == "ایسنا"
    out = invoke("stories", "--database-url", wire.url, "--config", "/dev/null", "-q", "--calendar", "jalali")
    assert out.returncode == 0 and "first   fars" in out.stdout and "+20m" in out.stdout and "+1h05m" in out.stdout
    assert "1404-06-10 10:00" in out.stdout  # 1 September 2025, 10:00 in Tehran


def test_shared_clusters_from_the_joined_index_are_those_of_grouping_every_article(engine, tmp_path):
    """stories finds its clusters from the articles that joined one (articles_joined) and adds
    their starters: the same clusters, in the same order, as grouping every article of the
    period, under each kind of filter, also once a cluster's starter is deleted."""
    from etl.load.analysis import shared_clusters
    first = datetime(2025, 9, 1, 6, 30, tzinfo=UTC)
    outlets_of = ["fars", "mehr", "isna", "tasnim"]
    for n, source in enumerate(outlets_of):
        records = []
        for story in range(12):
            if (story + n) % (1 + story % 4) == 0 or n == 0:  # stories carried by 1 to 4 outlets
                lead = None if n == 0 else ("به گزارش خبرگزاری فارس،" if story % 2 else "به گزارش ایسنا،")
                records.append(_record(story, first + timedelta(hours=story * 7, minutes=13 * n), lead=lead))
        _backfill(engine, tmp_path, source, records)

    def grouped(conn, filters):  # the plain definition: every dated article under the filters, by cluster
        where = ["a.published_at IS NOT NULL", "a.cluster_id IS NOT NULL"]
        params = {}
        if filters.sources:
            where.append("s.name IN (" + ", ".join(f":s{i}" for i in range(len(filters.sources))) + ")")
            params.update({f"s{i}": name for i, name in enumerate(filters.sources)})
        if filters.since:
            where.append("a.published_at >= :since")
            params["since"] = filters.since
        return [row[0] for row in conn.execute(text(
            "SELECT a.cluster_id FROM articles a JOIN sources s ON s.id = a.source_id WHERE " + " AND ".join(where)
            + " GROUP BY a.cluster_id HAVING count(DISTINCT a.source_id) >= 2 "
            "ORDER BY count(DISTINCT a.source_id) DESC, min(a.published_at) DESC, a.cluster_id DESC LIMIT 50"), params)]

    def same(conn):
        seen = 0
        for filters in (Filters(), Filters(sources=("mehr", "isna", "tasnim")), Filters(since=first + timedelta(hours=30))):
            expected = grouped(conn, filters)
            assert shared_clusters(conn, filters, 50) == expected, filters
            seen += len(expected)
        return seen

    with engine.connect() as conn:
        assert same(conn) >= 10
    with engine.begin() as conn:  # a story's first article goes: its copies are still a story
        conn.execute(text("DELETE FROM articles WHERE id = (SELECT min(cluster_id) FROM articles WHERE cluster_id <> id)"))
    with engine.connect() as conn:
        assert same(conn) >= 10


def test_a_story_outside_the_filters_is_not_listed(wire):
    with wire.engine.connect() as conn:
        assert stories(conn, Filters(sources=("fars", "mehr"))).stories[0].outlets == 2
        assert stories(conn, Filters(sources=("tasnim",))).stories == ()
        late = Filters(since=datetime(2025, 9, 2, tzinfo=UTC))
        assert stories(conn, late).stories == ()


# --- the precomputed totals (PostgreSQL) ------------------------------------------------------

def _stored_vs_live(engine: Engine) -> tuple[list, list]:
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT day, source_id, agency, articles FROM article_day_counts "
                                   "WHERE articles <> 0 ORDER BY 1, 2, 3")).all()
        live = conn.execute(text("SELECT (published_at AT TIME ZONE 'Asia/Tehran')::date, source_id, "
                                 "coalesce(meta->>'agency', ''), count(*) FROM articles WHERE published_at IS NOT NULL "
                                 "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")).all()
    return stored, live


def test_day_totals_stay_exact_under_revisions_and_deletions(pg_engine, pg_url, tmp_path):
    from etl.load.analysis import _day_counts_pg, day_counts
    upgrade_engine = pg_engine
    _backfill(upgrade_engine, tmp_path, "alpha", [_record(i, when, m) for i, src, when, m in EDGES if src == "alpha"])
    _backfill(upgrade_engine, tmp_path, "beta", [_record(i, when, m) for i, src, when, m in EDGES if src == "beta"])
    stored, live = _stored_vs_live(pg_engine)
    assert stored == live and sum(r[3] for r in stored) == len(EDGES)
    # A revision moves article 1 to another day and another agency; article 2 is deleted.
    moved = _record(1, datetime(2026, 1, 22, 9, 0, tzinfo=UTC), (VOLCANO,), lead="به گزارش ایسنا،")
    moved["link"] = FARS[1]["link"]  # the same article (same key), edited
    _backfill(pg_engine, tmp_path, "alpha", [moved] + [_record(i, when, m) for i, src, when, m in EDGES
                                                        if src == "alpha" and i != 1], name="alpha-v2")
    with pg_engine.begin() as conn:
        gone = conn.execute(text("DELETE FROM articles WHERE title = :t"), {"t": FARS[2]["title"]}).rowcount
    assert gone == 1
    stored, live = _stored_vs_live(pg_engine)
    assert stored == live
    # Whole days from the table, part days counted live: the same as counting every article.
    half = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
    for filters in (Filters(), Filters(sources=("alpha",)), Filters(agency="ایسنا"), Filters(since=half),
                    Filters(until=half), Filters(since=tehran_midnight(date(2026, 1, 8)), until=half),
                    Filters(since=half, until=half + timedelta(hours=2)), Filters(source="beta", since=half)):
        with pg_engine.connect() as conn:
            assert day_counts(conn, filters) == _day_counts_pg(conn, filters, None), filters


def test_step_10_counts_the_articles_already_stored(pg_engine, tmp_path):
    from etl.load.migrate import current_version, upgrade
    from etl.load.schema import SCHEMA_VERSION
    _backfill(pg_engine, tmp_path, "alpha", [_record(i, when, m) for i, src, when, m in EDGES])
    with pg_engine.begin() as conn:  # the database as version 9 left it
        conn.execute(text("DROP TABLE article_day_counts"))
        for op in ("insert", "update", "delete"):
            conn.execute(text(f"DROP TRIGGER articles_day_counts_{op} ON articles"))
        conn.execute(text("DROP FUNCTION article_day_counts_apply()"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 10"))  # and the steps after it
    result = upgrade(pg_engine, LOADED_AT)
    assert (result.from_version, result.to_version) == (9, SCHEMA_VERSION)
    stored, live = _stored_vs_live(pg_engine)
    assert stored == live and sum(r[3] for r in stored) == len(EDGES)
    with pg_engine.connect() as conn:
        assert current_version(conn) == SCHEMA_VERSION


# --- queries counted ahead (PostgreSQL) ---------------------------------------------------------

def _ahead_vs_live(engine: Engine, query: str) -> tuple[list, list]:
    from etl.load.querycounts import query_key
    key = query_key(query)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT day, source_id, agency, articles FROM query_day_counts "
                                   "WHERE query = :k AND articles <> 0 ORDER BY 1, 2, 3"), {"k": key}).all()
        live = conn.execute(text("SELECT (published_at AT TIME ZONE 'Asia/Tehran')::date, source_id, "
                                 "coalesce(meta->>'agency', ''), count(*) FROM articles WHERE published_at IS NOT NULL "
                                 "AND search_doc @@ to_tsquery('simple', :k) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
                            {"k": key}).all()
    return stored, live


def test_queries_counted_ahead_stay_exact_under_revisions_and_deletions(pg_engine, tmp_path):
    from etl.load import querycounts
    from etl.load.analysis import _day_counts_pg, counted_ahead, day_counts, outlet_counts, outlet_days
    from etl.load.search import match_clause
    for source in ("alpha", "beta"):
        _backfill(pg_engine, tmp_path, source, [_record(i, when, m) for i, src, when, m in EDGES if src == source])
    with pg_engine.begin() as conn:
        assert querycounts.count_ahead(conn, VOLCANO, LOADED_AT) and querycounts.count_ahead(conn, "ایران", LOADED_AT)
        assert not querycounts.count_ahead(conn, VOLCANO, LOADED_AT)  # counted already
    stored, live = _ahead_vs_live(pg_engine, VOLCANO)
    assert stored == live and sum(r[3] for r in stored) == 4
    # Revisions: article 1 moves to another day and agency, 4 loses the word, 7 gains it; 3 is deleted.
    moved = _record(1, datetime(2026, 1, 22, 9, 0, tzinfo=UTC), (VOLCANO,), lead="به گزارش ایسنا،")
    moved["link"] = FARS[1]["link"]
    alpha = [moved, _record(4, EDGES[4][2])] + [_record(i, w, m) for i, src, w, m in EDGES if src == "alpha" and i not in (1, 4)]
    beta = [_record(7, EDGES[7][2], (VOLCANO,))] + [_record(i, w, m) for i, src, w, m in EDGES if src == "beta" and i != 7]
    _backfill(pg_engine, tmp_path, "alpha", alpha, name="alpha-v2")
    _backfill(pg_engine, tmp_path, "beta", beta, name="beta-v2")
    with pg_engine.begin() as conn:
        assert conn.execute(text("DELETE FROM articles WHERE published_at = :t"), {"t": EDGES[3][2]}).rowcount == 1
    with pg_engine.connect() as conn:  # a rolled-back statement leaves no trace
        with conn.begin() as rolled_back:
            conn.execute(text("DELETE FROM articles"))
            rolled_back.rollback()
    for query in (VOLCANO, "ایران"):
        stored, live = _ahead_vs_live(pg_engine, query)
        assert stored == live and stored, query
    half = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
    with pg_engine.connect() as conn:
        assert counted_ahead(conn, VOLCANO) and counted_ahead(conn, ECLIPSE) is None
        for query in (VOLCANO, "ایران"):
            match, ahead = match_clause(conn, query), counted_ahead(conn, query)
            for filters in (Filters(), Filters(sources=("alpha",)), Filters(agency="ایسنا"), Filters(since=half),
                            Filters(until=half), Filters(since=half, until=half + timedelta(hours=2))):
                assert day_counts(conn, filters, match, ahead) == _day_counts_pg(conn, filters, match), (query, filters)
    # Outlets read the same kept counts: per source and per agency, the totals and a counted
    # query's matches with their first and last days equal what the articles give.
    compared = 0
    with pg_engine.connect() as conn:
        for query in (VOLCANO, "ایران", None):
            match = match_clause(conn, query) if query else None
            ahead = counted_ahead(conn, query) if query else None
            for kind in ("source", "agency"):
                for filters in (Filters(), Filters(sources=("alpha",)), Filters(agency="ایسنا"), Filters(since=half),
                                Filters(until=half), Filters(since=half, until=half + timedelta(hours=2))):
                    kept = outlet_days(conn, filters, kind, match, ahead)
                    live = [{**r, "first": periods.tehran_day(r["first"]), "last": periods.tehran_day(r["last"])}
                            for r in outlet_counts(conn, filters, kind, match)]
                    assert sorted(kept, key=str) == sorted(live, key=str), (query, kind, filters)
                    compared += bool(kept)
    assert compared >= 12  # most of the comparisons had outlets to compare
    with pg_engine.begin() as conn:
        assert querycounts.forget(conn, VOLCANO) and not querycounts.forget(conn, VOLCANO)
        assert conn.execute(text("SELECT count(*) FROM query_day_counts WHERE query = :k"),
                            {"k": querycounts.query_key(VOLCANO)}).scalar() == 0
        assert [r["query"] for r in querycounts.counted_queries(conn)] == ["ایران"]


def test_db_precount_counts_lists_and_forgets(edges):
    args = ("--database-url", edges.url, "--config", "/dev/null", "-q")
    if edges.engine.dialect.name != "postgresql":
        out = invoke("db", "precount", VOLCANO, *args)
        assert out.returncode == 2 and "PostgreSQL" in out.stderr
        return
    assert invoke("db", "precount", VOLCANO, *args).stdout == f"{VOLCANO}: counted ahead\n"
    assert invoke("db", "precount", VOLCANO, *args).stdout == f"{VOLCANO}: already counted\n"
    listed = json.loads(invoke("db", "precount", "--json", *args).stdout)
    assert [(r["query"], r["articles"]) for r in listed] == [(VOLCANO, 4)]
    with edges.engine.connect() as conn:
        assert sum(trends(conn, [VOLCANO]).series[0].counts) == 4
    assert invoke("db", "precount", "--forget", VOLCANO, *args).stdout == f"{VOLCANO}: forgotten\n"
    assert invoke("db", "precount", "و", *args).returncode == 2  # stopwords only, as trends refuses them


def test_z_score_of_many_is_the_z_score_of_each():
    import numpy as np
    from etl.analysis.terms import z_score, z_scores
    y_m, y_o = np.array([50.0, 5.0, 3.0, 0.0]), np.array([5.0, 50.0, 0.0, 3.0])
    many = z_scores(y_m, y_o, 1000, 1000)
    assert [round(v, 9) for v in many.tolist()] == [round(z_score(int(a), int(b), 1000, 1000), 9) for a, b in zip(y_m, y_o)]
    assert many[0] > 4 and many[1] < -4 and z_score(10, 10, 1000, 1000) == 0.0
