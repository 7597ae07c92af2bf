"""Read side: Persian-aware search, one article with its history, and streamed exports.

The query goes through the same folding as the documents (see etl/clean/fold.py), so any
spelling variant of a word (ZWNJ or not, Arabic or Persian yeh/kaf, any digits) finds the same
articles, and a word finds its inflected forms too (the documents index stems, marked: a search
for خبرنگار finds خبرنگاران), articles with the words as typed ranked first. User text only ever
reaches the database as bound parameters, and the query is built flat (an AND of ORs, at most
MAX_WORDS words), never as a nested expression.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import BigInteger, Connection, and_, bindparam, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError

from ..clean.fold import MAX_WORDS, QueryTooLong, Term, fold, fold_query, stem_spellings
from ..clean.snippet import MARKS, Snippet, excerpt, has_hit, may_hit
from .schema import article_revisions, articles, sources

__all__ = ["MARKS", "MAX_WORDS", "TS_CONFIG", "Filters", "Hit", "QueryError", "SearchError", "Snippet",
           "exact_bitmaps", "excerpt_of", "export_rows", "get_article", "match_clause", "match_text", "query_terms",
           "search"]

TITLE_BONUS = 0.05
TS_CONFIG = "simple"  # the text search configuration of search_doc: folded words, no stemming
RANK_CANDIDATES = 1000  # a partial-word title hit ranks below any full-text hit of similar strength


class QueryError(ValueError):
    """The search query holds nothing to search for, or too much (terminal: fix the query)."""


class SearchError(QueryError):
    """The database refused this query's search expression (terminal: the same query fails again).

    Not a database outage: SQLite reports both as OperationalError, and a user who is told the
    database is unavailable would retry instead of changing the query.
    """

    def __init__(self, query: str, reason: str):
        shown = query if len(query) <= 80 else query[:80] + "…"
        super().__init__(f"search {shown!r} failed: {reason}")
        self.query = query
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Filters:
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    agency: str | None = None  # meta.agency, the agency a lead attribution names
    sources: tuple[str, ...] = ()  # any of these sources (the analysis commands' --source NAME...)

    def clauses(self) -> list:
        out = []
        if self.source:
            out.append(sources.c.name == self.source)
        if self.sources:
            out.append(sources.c.name.in_(self.sources))
        if self.agency:
            out.append(articles.c.meta["agency"].as_string() == self.agency)
        if self.since:
            out.append(articles.c.published_at >= self.since)
        if self.until:
            out.append(articles.c.published_at < self.until)
        return out


@dataclass(frozen=True, slots=True)
class Hit:
    """One result. ``snippet`` is ``excerpt`` marked with MARKS; a renderer that wants other
    marks (bold on a terminal) uses ``excerpt.text`` and ``excerpt.spans``."""

    id: int
    source: str
    published_at: datetime | None
    title: str
    url: str | None
    snippet: str
    score: float
    excerpt: Snippet
    agency: str | None = None  # meta.agency: the canonical agency of the attribution


def search(conn: Connection, query: str, filters: Filters = Filters(), limit: int = 20,
           mark: tuple[str, str] = MARKS, stems: bool = True) -> list[Hit]:
    """Ranked articles matching every term of ``query`` (quoted parts as phrases), in any spelling;
    ``mark`` wraps each hit in ``Hit.snippet`` (the web page passes sentinels it turns into ``<mark>``).
    ``stems``: a one-word term also matches the word's inflected forms (خبرنگار: خبرنگاران), ranked
    below the articles that have every term as typed; False: the words as typed only."""
    terms = query_terms(query)
    stemmed = stems and any(stem_spellings(term) for term in terms)
    # The words as typed first: every article that has them ranks above one that matches only by
    # another form, so when they fill the page the forms cannot show (and cost nothing).
    full = _full_text(conn, query, terms, filters, limit, False)
    if stemmed and len(full) < limit:
        full = _full_text(conn, query, terms, filters, limit, True)
    else:
        stemmed = False
    seen = {row["id"] for row in full}
    # Partial words only make sense for plain words; a phrase must match as written. They rank
    # below every full-text hit, so they are looked for only when those leave room.
    plain = all(not t.phrase for t in terms)
    partial = [row | {"partial": True} for row in _title_partial(conn, terms, filters, limit)
               if row["id"] not in seen] if plain and len(full) < limit else []
    return [_hit(row, terms, mark, stemmed) for row in (full + partial)[:limit]]


def _full_text(conn: Connection, query: str, terms: list[Term], filters: Filters, limit: int,
               stems: bool) -> list[dict]:
    if conn.dialect.name == "postgresql":
        return _full_text_pg(conn, terms, filters, limit, stems)
    return _full_text_sqlite(conn, query, terms, filters, limit, stems)


def query_terms(query: str) -> list[Term]:
    """The folded terms of a query in ``search``'s syntax; QueryError when it has none or too many."""
    try:
        terms = fold_query(query)
    except QueryTooLong as exc:
        raise QueryError(str(exc)) from exc
    if not terms:
        raise QueryError(f"query {query!r} has no words to search for")
    return terms


def match_text(terms: list[Term], dialect: str) -> str:
    """The full-text part of ``search`` for ``terms`` as the database ``dialect`` matches it, the
    stems of one-word terms included (the articles ``search`` finds, on however many pages): a
    ``to_tsquery`` text on PostgreSQL (``tsquery_text``), an FTS5 MATCH expression on SQLite
    (``fts_match``). A watch stores it (etl/load/watches.py) and the analysis counts with it
    (``match_clause``), so both find exactly what ``search``'s full-text match finds."""
    return tsquery_text(terms, stems=True) if dialect == "postgresql" else fts_match(terms, stems=True)


def excerpt_of(row: dict, query: str) -> Snippet:
    """The snippet ``search`` shows for an article row (``title``, ``summary``, ``body``) and a query."""
    return _excerpt(row, query_terms(query), stems=True)


def _hit(row: dict, terms: list[Term], mark: tuple[str, str] = MARKS, stems: bool = False) -> Hit:
    shown = _excerpt(row, terms, stems)
    return Hit(row["id"], row["source"], row["published_at"], row["title"], row["url"], shown.marked(mark),
               float(row["score"]), shown, row.get("agency"))


def _excerpt(row: dict, terms: list[Term], stems: bool = False) -> Snippet:
    """The snippet from the first body paragraph or summary holding a hit; else the opening of
    the body, saying where the match is (a cheap ``fold`` per paragraph picks the paragraph, so
    the offset-keeping fold runs on one paragraph instead of the whole article)."""
    paragraphs = [p for p in (row["body"] or "").split("\n") if p.strip()]
    for text in [*paragraphs, row.get("summary") or ""]:
        if text and may_hit(fold(text), terms, stems):
            shown = excerpt(text, terms, stems=stems)
            if shown.spans:
                return shown
    if row.get("partial"):
        why = "the title holds these letters inside longer words"
    elif has_hit(fold(row["title"]), terms):
        why = "the match is in the title"
    else:
        why = "the words match across paragraphs or fields"
    return excerpt(paragraphs[0] if paragraphs else row["title"], terms, note=why)


def _base(*extra):
    return (select(articles.c.id, sources.c.name.label("source"), articles.c.published_at, articles.c.title,
                   articles.c.url, articles.c.summary, articles.c.body,
                   articles.c.meta["agency"].as_string().label("agency"), *extra)
            .join(sources, sources.c.id == articles.c.source_id))


def tsquery_text(terms: list[Term], stems: bool = False) -> str:
    """The terms as one ``to_tsquery`` string, flat: each term the OR of its spellings (and, with
    ``stems``, of its stem's: ``fold.stem_spellings``), each spelling a phrase:
    ``[Term(("می", "شود"), True, (("میشود",),))]`` -> ``"('می' <-> 'شود' | 'میشود')"``."""
    return " & ".join("(" + " | ".join(" <-> ".join(map(_quoted, words)) for words in _spellings(term, stems)) + ")"
                      for term in terms)


def _spellings(term: Term, stems: bool) -> tuple[tuple[str, ...], ...]:
    return term.spellings + stem_spellings(term) if stems else term.spellings


def _quoted(word: str) -> str:
    # Folded words hold no quote or backslash (fold makes punctuation a space); escaped anyway.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def match_clause(conn: Connection, query: str):
    """The condition an article meets when ``search`` finds ``query`` in its text (in any
    spelling, other forms of a one-word term included), for other read-side questions to count or
    sample exactly those articles: ``articles.search_doc @@ to_tsquery(...)`` on PostgreSQL,
    ``articles.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ...)`` on SQLite.
    Raises QueryError as search does."""
    terms = query_terms(query)
    if conn.dialect.name == "postgresql":
        return _ts_match(_tsquery(match_text(terms, "postgresql")))
    fts = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match").bindparams(
        match=match_text(terms, "sqlite"))
    return articles.c.id.in_(fts)


def _tsquery(query_text: str):
    return func.to_tsquery(literal_column(f"'{TS_CONFIG}'"), bindparam("tsquery", query_text))


def _ts_match(tsquery):
    return articles.c.search_doc.op("@@", is_comparison=True)(tsquery)


def _full_text_pg(conn: Connection, terms: list[Term], filters: Filters, limit: int, stems: bool = False) -> list[dict]:
    tsquery = _tsquery(tsquery_text(terms, stems))
    ids = _recent_matches(conn, tsquery, filters)
    if not ids:
        return []
    score = func.ts_rank_cd(articles.c.search_doc, tsquery)
    # Articles with every term as typed first, then those that match some only by another form.
    exact = [articles.c.search_doc.op("@@")(func.to_tsquery(literal_column("'simple'"),
                                                            bindparam("exact", tsquery_text(terms)))).desc()] if stems else []
    query = (_base(score.label("score")).where(articles.c.id == func.any(bindparam("ids", ids, type_=_ID_ARRAY)))
             .order_by(*exact, score.desc(), articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
             .limit(limit))
    return [dict(r) for r in conn.execute(query).mappings()]


_ID_ARRAY = ARRAY(BigInteger)


# Ids counted back from the newest: the first window holds RANK_CANDIDATES matches of a word
# in half the corpus with room to spare; the next is sized from the matches the last one held.
FIRST_WINDOW = 3 * RANK_CANDIDATES


def _recent_matches(conn: Connection, tsquery, filters: Filters) -> list[int]:
    """The ids of the RANK_CANDIDATES most recently stored matches, newest first.

    Ranking reads every candidate's tsvector, so only these are ranked: relevance among recent
    news. Finding them is the cost that matters: walking the primary key backwards reads the
    tsvector of every row passed, matching or not, and the GIN index alone visits every match
    of a common word. A window of recent ids ANDed with the GIN index visits only matches
    inside it; when it holds too few, the next window is sized from their density (a word
    with no match in the window is looked up in the whole table at once).
    """
    newest = conn.execute(select(func.max(articles.c.id))).scalar()
    if newest is None:
        return []
    # The first window is small: walking it backwards by primary key reads at most
    # FIRST_WINDOW rows and skips the GIN posting lists of very common words, so the planner
    # may pick that walk there; wider windows use the bitmap plans only.
    window = FIRST_WINDOW
    floor = newest - window if window < newest else None
    ids = _matches_since(conn, tsquery, filters, floor)
    with _bitmap_scans(conn):
        while len(ids) < RANK_CANDIDATES and floor is not None:
            window = _next_window(window, len(ids), newest)
            floor = newest - window if window < newest else None
            ids = _matches_since(conn, tsquery, filters, floor)
    return ids


def _next_window(window: int, found: int, newest: int) -> int:
    """A window expected to hold 1.5 x RANK_CANDIDATES matches at the density just seen:
    ``(3000, 300, 10**6)`` -> ``15000``; the whole table when nothing matched."""
    if found == 0:
        return newest
    return max(2 * window, window * RANK_CANDIDATES * 3 // (2 * found))


def _matches_since(conn: Connection, tsquery, filters: Filters, floor: int | None) -> list[int]:
    since = [articles.c.id > floor] if floor is not None else []
    query = (select(articles.c.id).join(sources, sources.c.id == articles.c.source_id)
             .where(_ts_match(tsquery), *since, *filters.clauses())
             .order_by(articles.c.id.desc()).limit(RANK_CANDIDATES))
    return list(conn.execute(query).scalars())


@contextmanager
def _bitmap_scans(conn: Connection) -> Iterator[None]:
    """Plain index scans off for the enclosed statements, in this transaction only.

    With ``ORDER BY id DESC LIMIT n`` PostgreSQL prefers the primary key walk, costing the
    ``@@`` filter as if the tsvector were at hand; it is not (a TOAST fetch per row), and for a
    word in a few percent of the corpus that walk is ten times slower than the bitmap plans
    (GIN AND the id window) that remain allowed.
    """
    previous = conn.execute(text("SELECT current_setting('enable_indexscan')")).scalar()
    conn.execute(text("SELECT set_config('enable_indexscan', 'off', true)"))
    yield
    # Not in a finally: after an error the transaction is aborted, and its rollback undoes the
    # setting anyway (a statement here would only hide the error).
    conn.execute(text("SELECT set_config('enable_indexscan', :value, true)"), {"value": previous})


@contextmanager
def exact_bitmaps(conn: Connection) -> Iterator[None]:
    """work_mem raised, for the enclosed statements only, to what an exact bitmap of every page
    of ``articles`` takes (64 bytes a page as PostgreSQL sizes it, 80 with room; at most
    MAX_WORK_MEM).

    At the default 4 MB a bitmap over more than about 65,000 pages goes lossy: every article on
    a lossy page is rechecked, its search document decompressed and matched again. At 1,000,000
    articles (433,000 pages) counting a year of a word in a fifth of them (تهران) took 1.26 s so
    and 0.76 s with an exact bitmap, a word in 8% (اصفهان) 0.49 s and 0.35 s. A word in half the
    archive is read by a sequential scan either way (the planner's choice; 2.8 s). The memory
    is taken only as the bitmap grows, for one statement at a time, and the setting is put back
    after it.
    """
    # One round trip: the setting before, and the new one where it is larger.
    previous, raised = conn.execute(text(
        "SELECT previous, set_config('work_mem', wanted || 'kB', true) FROM ("
        "SELECT current_setting('work_mem') AS previous, pg_size_bytes(current_setting('work_mem')) / 1024 AS now, "
        "least(:most, pg_relation_size('articles') / current_setting('block_size')::int * 80 / 1024 + 1) AS wanted"
        ") s WHERE wanted > now"), {"most": MAX_WORK_MEM}).first() or (None, None)
    yield
    # Not in a finally: after an error the transaction is aborted and its rollback undoes the
    # setting anyway (as _bitmap_scans).
    if previous is not None:
        conn.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": previous})


MAX_WORK_MEM = 256 * 1024  # kB: 4 million pages, about 30 GB of articles


def fts_match(terms: list[Term], stems: bool = False) -> str:
    """The terms as one FTS5 MATCH string, flat: each spelling a quoted phrase, ORed per term,
    terms ANDed: ``[Term(("می", "شود"), True, (("میشود",),))]`` -> ``'("می شود" OR "میشود")'``."""
    return " AND ".join("(" + " OR ".join('"' + " ".join(words).replace('"', '""') + '"'
                                          for words in _spellings(term, stems)) + ")" for term in terms)


def _full_text_sqlite(conn: Connection, query_text: str, terms: list[Term], filters: Filters,
                      limit: int, stems: bool = False) -> list[dict]:
    # As on PostgreSQL, only the most recent matches are ranked: FTS5 walks its matches in rowid
    # order cheaply, but BM25 over every match of a word in half the corpus is most of the
    # cost. With filters every match is ranked, so the filters cannot leave the cap empty.
    recent = "" if filters.clauses() else f" ORDER BY rowid DESC LIMIT {RANK_CANDIDATES}"
    fts = text("SELECT rowid AS id, -bm25(articles_fts) AS score FROM articles_fts "
               "WHERE articles_fts MATCH :match" + recent) \
        .columns(id=articles.c.id.type, score=articles.c.id.type).subquery("fts")
    # Articles with every term as typed first, then those that match some only by another form.
    exact = [articles.c.id.in_(text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :exact")).desc()] \
        if stems else []
    query = (_base(fts.c.score.label("score")).join(fts, fts.c.id == articles.c.id)
             .where(*filters.clauses())
             .order_by(*exact, fts.c.score.desc(), articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
             .limit(limit))
    params = {"match": fts_match(terms, stems)} | ({"exact": fts_match(terms)} if stems else {})
    try:
        return [dict(r) for r in conn.execute(query, params).mappings()]
    except OperationalError as exc:
        reason = str(exc.orig)
        if not _is_fts_error(reason):
            raise  # a locked or unreadable database is still "database unavailable"
        raise SearchError(query_text, reason) from exc


def _is_fts_error(reason: str) -> bool:
    """FTS5 rejecting a MATCH expression (``fts5: parser stack overflow``, ``unterminated string``)."""
    return reason.startswith("fts5:") or reason in ("unterminated string",) or "MATCH" in reason


def _title_partial(conn: Connection, terms: list[Term], filters: Filters, limit: int) -> list[dict]:
    """Titles containing every word as a substring (partial words); pg_trgm's index serves it."""
    words = [w for t in terms for w in t.words]
    query = (_base(literal_column(str(TITLE_BONUS)).label("score"))
             .where(and_(*(articles.c.title.contains(w, autoescape=True) for w in words)), *filters.clauses())
             .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
             .limit(limit))
    return [dict(r) for r in conn.execute(query).mappings()]


# Ids are 64-bit: a larger number names no article, and binding it fails inside the driver (SQLite:
# OverflowError, a 500; PostgreSQL: "out of range", taken for a lost database, a 503).
ID_RANGE = range(1, 2**63)


def get_article(conn: Connection, article_id: int) -> dict[str, Any] | None:
    """The article with its revisions and its cluster; None when there is none (any id outside
    the 64-bit range included)."""
    if article_id not in ID_RANGE:
        return None
    row = conn.execute(_base(articles.c.key, articles.c.published_time_known,
                             articles.c.fetched_at, articles.c.updated_at, articles.c.cluster_id, articles.c.meta)
                       .where(articles.c.id == article_id)).mappings().first()
    if row is None:
        return None
    article = dict(row)
    article["revisions"] = [dict(r) for r in conn.execute(
        select(article_revisions).where(article_revisions.c.article_id == article_id)
        .order_by(article_revisions.c.replaced_at.desc(), article_revisions.c.id.desc())).mappings()]
    article["cluster"] = [dict(r) for r in conn.execute(
        _base().with_only_columns(articles.c.id, sources.c.name.label("source"), articles.c.published_at,
                                  articles.c.title)
        .where(articles.c.cluster_id == article["cluster_id"], articles.c.id != article_id)
        .order_by(articles.c.published_at, articles.c.id)).mappings()] if article["cluster_id"] else []
    return article


EXPORT_COLUMNS = ("id", "source", "key", "guid", "url", "title", "title_derived", "summary", "body",
                  "published_at", "published_time_known", "fetched_at", "updated_at", "cluster_id", "meta", "agency")


def export_rows(conn: Connection, filters: Filters = Filters(), batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every matching article, oldest first, streamed with a server-side cursor."""
    query = (select(articles.c.id, sources.c.name.label("source"), articles.c.key, articles.c.url,
                    articles.c.title, articles.c.title_derived, articles.c.summary, articles.c.body,
                    articles.c.published_at, articles.c.published_time_known, articles.c.fetched_at,
                    articles.c.updated_at, articles.c.cluster_id, articles.c.meta,
                    articles.c.meta["agency"].as_string().label("agency"))
             .join(sources, sources.c.id == articles.c.source_id)
             .where(*filters.clauses())
             .order_by(articles.c.published_at.nulls_last(), articles.c.id))
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for row in result.mappings():
        record = dict(row)
        # The GUID travels so that a re-import keys the article exactly as the original did.
        record["guid"] = record["key"][5:] if record["key"].startswith("guid:") else None
        yield {name: record[name] for name in EXPORT_COLUMNS}
