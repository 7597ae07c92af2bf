"""Read-side queries the CLI shows (the same questions sql/queries.sql answers in SQL)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Connection, Date, cast, func, select

from .chunks import chunks
from .daycounts import DAY_COUNTS
from .schema import articles, ingest_runs, sources


def source_overview(conn: Connection) -> list[dict[str, Any]]:
    """Every source with its row and its number of articles.

    On PostgreSQL the dated articles are summed from ``article_day_counts`` (kept exact by
    triggers, etl/load/daycounts.py) and only the undated ones are counted, through the date
    index: counting a 1,000,000-article table per source read every index entry (about 0.2 s) on
    each `sources`, `status` and web sources page."""
    if conn.dialect.name == "postgresql":
        dated = select(DAY_COUNTS.c.source_id, func.sum(DAY_COUNTS.c.articles).label("articles")) \
            .group_by(DAY_COUNTS.c.source_id)
        undated = select(articles.c.source_id, func.count().label("articles")) \
            .where(articles.c.published_at.is_(None)).group_by(articles.c.source_id)
        both = dated.union_all(undated).subquery()
        # sum() of integers is numeric in PostgreSQL: cast back, so the count is an int as before.
        counts = select(both.c.source_id, cast(func.sum(both.c.articles), BigInteger).label("articles")) \
            .group_by(both.c.source_id)
    else:
        counts = select(articles.c.source_id, func.count().label("articles")).group_by(articles.c.source_id)
    counts = counts.subquery()
    query = (
        select(sources, func.coalesce(counts.c.articles, 0).label("articles"))
        .select_from(sources.outerjoin(counts, counts.c.source_id == sources.c.id))
        .order_by(sources.c.name)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def latest_articles(conn: Connection, limit: int, source: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(articles.c.id, sources.c.name.label("source"), articles.c.published_at,
               articles.c.published_time_known, articles.c.title, articles.c.url)
        .join(sources, sources.c.id == articles.c.source_id)
        .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
        .limit(limit)
    )
    if source:
        query = query.where(sources.c.name == source)
    return [dict(row) for row in conn.execute(query).mappings()]


def run_exists(conn: Connection, run_id: int) -> bool:
    if not 0 < run_id < 2**63:
        return False  # no 64-bit id: there is no such run, and the driver could not bind it
    return conn.execute(select(ingest_runs.c.id).where(ingest_runs.c.id == run_id)).first() is not None


TEHRAN = ZoneInfo("Asia/Tehran")


def source_names(conn: Connection) -> list[str]:
    """Every source's name, for a filter list (cheaper than ``source_overview``'s counts)."""
    return list(conn.execute(select(sources.c.name).order_by(sources.c.name)).scalars())


def articles_per_day(conn: Connection, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Articles per source per Tehran day, published in ``[since, until)``:
    ``[{"source": "fars", "day": date(2025, 8, 22), "articles": 12}, ...]``, by source then day.

    The day is Tehran's calendar day (with its real offset history), as in the
    ``articles_per_source_day`` view. Undated articles are not counted.
    """
    rows = _per_day_pg(conn, since, until) if conn.dialect.name == "postgresql" else _per_day_python(conn, since, until)
    return sorted(rows, key=lambda r: (r["source"], r["day"]))


def _per_day_pg(conn: Connection, since: datetime, until: datetime) -> list[dict[str, Any]]:
    day = cast(func.timezone("Asia/Tehran", articles.c.published_at), Date).label("day")
    query = (select(sources.c.name.label("source"), day, func.count().label("articles"))
             .join(sources, sources.c.id == articles.c.source_id)
             .where(articles.c.published_at >= since, articles.c.published_at < until)
             .group_by(sources.c.name, day))
    return [dict(r) for r in conn.execute(query).mappings()]


def _per_day_python(conn: Connection, since: datetime, until: datetime) -> list[dict[str, Any]]:
    # SQLite has no time zones: count the window's timestamps here (the embedded database is small).
    query = (select(sources.c.name, articles.c.published_at)
             .join(sources, sources.c.id == articles.c.source_id)
             .where(articles.c.published_at >= since, articles.c.published_at < until))
    counts: Counter[tuple[str, date]] = Counter(
        (name, published.astimezone(TEHRAN).date()) for name, published in conn.execute(query))
    return [{"source": s, "day": d, "articles": n} for (s, d), n in counts.items()]


def keys_by_url(conn: Connection, source_id: int, urls: Sequence[str]) -> dict[str, str]:
    """url -> key of the source's stored articles at these URLs (a crawled page, keyed by its URL,
    that a feed later lists under a GUID is the same article)."""
    query = select(articles.c.url, articles.c.key).where(articles.c.source_id == source_id)
    return {url: key for part in chunks(urls) for url, key in conn.execute(query.where(articles.c.url.in_(part)))}
