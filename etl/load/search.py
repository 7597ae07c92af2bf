"""Read side: Persian-aware search, one article with its history, and streamed exports.

The query goes through the same ``fold`` as the documents (see etl/clean/fold.py), so any
spelling variant of a word (ZWNJ or not, Arabic or Persian yeh/kaf, any digits) finds the same
articles. User text only ever reaches the database as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any, Iterator

from sqlalchemy import Connection, and_, bindparam, func, literal_column, select, text

from ..clean.fold import Term, fold, fold_query, snippet
from .schema import article_revisions, articles, sources

TITLE_BONUS = 0.05
RANK_CANDIDATES = 1000  # a partial-word title hit ranks below any full-text hit of similar strength


class QueryError(ValueError):
    """The search query holds nothing to search for."""


@dataclass(frozen=True, slots=True)
class Filters:
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    agency: str | None = None  # meta.agency, the agency a lead attribution names

    def clauses(self) -> list:
        out = []
        if self.source:
            out.append(sources.c.name == self.source)
        if self.agency:
            out.append(articles.c.meta["agency"].as_string() == self.agency)
        if self.since:
            out.append(articles.c.published_at >= self.since)
        if self.until:
            out.append(articles.c.published_at < self.until)
        return out


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    source: str
    published_at: datetime | None
    title: str
    url: str | None
    snippet: str
    score: float
    agency: str | None = None  # meta.agency: the canonical agency of the attribution


def search(conn: Connection, query: str, filters: Filters = Filters(), limit: int = 20,
           mark: tuple[str, str] = ("«", "»")) -> list[Hit]:
    """Ranked articles matching every term of ``query`` (quoted parts as phrases); ``mark``
    wraps each hit in the snippet (the web page passes sentinels it turns into ``<mark>``)."""
    terms = fold_query(query)
    if not terms:
        raise QueryError(f"query {query!r} has no words to search for")
    full = _full_text_pg(conn, terms, filters, limit) if conn.dialect.name == "postgresql" \
        else _full_text_sqlite(conn, terms, filters, limit)
    seen = {row["id"] for row in full}
    # Partial words only make sense for plain words; a phrase must match as written.
    plain = all(not t.phrase for t in terms)
    partial = [row for row in _title_partial(conn, terms, filters, limit) if row["id"] not in seen] if plain else []
    rows = (full + partial)[:limit]
    return [Hit(r["id"], r["source"], r["published_at"], r["title"], r["url"],
                snippet(_best_paragraph(r["body"] or r["title"], terms), terms, mark=mark), float(r["score"]), r["agency"])
            for r in rows]


def _best_paragraph(body: str, terms: list[Term]) -> str:
    """The first paragraph holding a term (cheap ``fold`` per paragraph), so the snippet's
    offset-keeping fold runs on one paragraph instead of the whole article."""
    wanted = [" " + " ".join(t.words) + " " for t in terms]
    paragraphs = body.split("\n")
    for paragraph in paragraphs:
        folded = f" {fold(paragraph)} "
        if any(w in folded for w in wanted):
            return paragraph
    return paragraphs[0]


def _base(*extra):
    return (select(articles.c.id, sources.c.name.label("source"), articles.c.published_at, articles.c.title,
                   articles.c.url, articles.c.body, articles.c.meta["agency"].as_string().label("agency"), *extra)
            .join(sources, sources.c.id == articles.c.source_id))


def _full_text_pg(conn: Connection, terms: list[Term], filters: Filters, limit: int) -> list[dict]:
    # One phraseto_tsquery per term, AND-ed: "می شود" must be adjacent words, terms anywhere.
    tsquery = reduce(lambda a, b: a.op("&&")(b),
                     [func.phraseto_tsquery(literal_column("'simple'"), bindparam(f"t{i}", " ".join(t.words)))
                      for i, t in enumerate(terms)])
    # Ranking reads every matching tsvector; a word in half the corpus would make that a full
    # scan. Rank only the RANK_CANDIDATES most recently stored matches (an index walk for common
    # words, the GIN index for rare ones): relevance among recent news.
    candidates = (select(articles.c.id)
                  .join(sources, sources.c.id == articles.c.source_id)
                  .where(articles.c.search_doc.op("@@")(tsquery), *filters.clauses())
                  .order_by(articles.c.id.desc()).limit(RANK_CANDIDATES).subquery())
    score = func.ts_rank_cd(articles.c.search_doc, tsquery)
    query = (_base(score.label("score")).join(candidates, candidates.c.id == articles.c.id)
             .order_by(score.desc(), articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
             .limit(limit))
    return [dict(r) for r in conn.execute(query).mappings()]


def _full_text_sqlite(conn: Connection, terms: list[Term], filters: Filters, limit: int) -> list[dict]:
    # FTS5 syntax: each term a quoted phrase, terms AND-ed; the string is a bound parameter.
    match = " AND ".join('"' + " ".join(t.words).replace('"', '""') + '"' for t in terms)
    fts = text("SELECT rowid AS id, -bm25(articles_fts) AS score FROM articles_fts WHERE articles_fts MATCH :match") \
        .columns(id=articles.c.id.type, score=articles.c.id.type).subquery("fts")
    query = (_base(fts.c.score.label("score")).join(fts, fts.c.id == articles.c.id)
             .where(*filters.clauses())
             .order_by(fts.c.score.desc(), articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
             .limit(limit))
    return [dict(r) for r in conn.execute(query, {"match": match}).mappings()]


def _title_partial(conn: Connection, terms: list[Term], filters: Filters, limit: int) -> list[dict]:
    """Titles containing every word as a substring (partial words); pg_trgm's index serves it."""
    words = [w for t in terms for w in t.words]
    query = (_base(literal_column(str(TITLE_BONUS)).label("score"))
             .where(and_(*(articles.c.title.contains(w, autoescape=True) for w in words)), *filters.clauses())
             .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
             .limit(limit))
    return [dict(r) for r in conn.execute(query).mappings()]


def get_article(conn: Connection, article_id: int) -> dict[str, Any] | None:
    row = conn.execute(_base(articles.c.summary, articles.c.key, articles.c.published_time_known,
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
