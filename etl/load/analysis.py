"""The SQL behind the analysis commands (etl/analysis/): counts per Tehran day, per outlet,
samples of article texts and the clusters several outlets carried. Every function takes the
search's own ``Filters`` and, where a query narrows the articles, the condition
``search.match_clause`` builds, so "the articles that match" is always exactly what ``search``
matches. Rows out, no statistics here.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import (Connection, Date, String, case, cast, column, distinct, func, literal, not_, select,
                        table, union_all)
from sqlalchemy.sql.util import ClauseAdapter

from . import querycounts
from .daycounts import DAY_COUNTS
from .schema import articles, sources
from .search import Filters, exact_bitmaps

TEHRAN = ZoneInfo("Asia/Tehran")
CHUNK = 900  # ids per IN list on SQLite (its default limit is 999 bound variables on old builds)


def _dated(filters: Filters, match=None) -> list:
    """Undated articles have no period: every count here leaves them out."""
    return [articles.c.published_at.is_not(None), *filters.clauses(), *([match] if match is not None else [])]


def _from_articles(*columns):
    return select(*columns).select_from(articles.join(sources, sources.c.id == articles.c.source_id))


# --- per Tehran day ----------------------------------------------------------------------------

def day_counts(conn: Connection, filters: Filters, match=None, ahead: str | None = None) -> dict[date, int]:
    """Articles per Tehran calendar day (with Tehran's real offset history) under ``filters``,
    those meeting ``match`` only when given: ``{date(2026, 1, 8): 12, ...}``. ``ahead``: the
    query's key when it is counted ahead (``counted_ahead``), read from its counts."""
    if conn.dialect.name != "postgresql":
        return _day_counts_sqlite(conn, filters, match)
    if match is None or ahead is not None:
        return _precounted(conn, filters, match, ahead)
    return _day_counts_pg(conn, filters, match)


def _day_counts_pg(conn: Connection, filters: Filters, match) -> dict[date, int]:
    day = cast(func.timezone("Asia/Tehran", articles.c.published_at), Date)
    query = _from_articles(day, func.count()).where(*_dated(filters, match)).group_by(day)
    if match is None:  # all the articles of a day or two: no bitmap to keep exact
        return {d: int(n) for d, n in conn.execute(query)}
    with exact_bitmaps(conn):
        return {d: int(n) for d, n in conn.execute(query)}


_QUERY_COUNTS = table(querycounts.COUNTS, column("query"), column("day", Date), column("source_id"),
                      column("agency"), column("articles"))


def counted_ahead(conn: Connection, query: str) -> str | None:
    """The key of ``query``'s counts when it is counted ahead (etl/load/querycounts.py), else None."""
    if conn.dialect.name != "postgresql":
        return None
    key = querycounts.query_key(query)
    return key if querycounts.is_counted(conn, key) else None


def _precounted(conn: Connection, filters: Filters, match=None, ahead: str | None = None) -> dict[date, int]:
    """Articles per Tehran day from ``article_day_counts`` (etl/load/daycounts.py), or those
    matching a query counted ahead from ``query_day_counts`` (``ahead``, its key; ``match``, its
    condition), for the days ``filters`` covers whole; a day it covers in part (``since`` or
    ``until`` not at Tehran midnight) is counted from the articles themselves, so the sum is
    exact either way."""
    whole = _whole_days(filters)
    if whole is None:
        return _day_counts_pg(conn, filters, match)
    counts, where = _counts_table(filters, ahead, whole)
    c = counts.c
    query = (select(c.day, func.sum(c.articles)).select_from(counts.join(sources, sources.c.id == c.source_id))
             .where(*where).group_by(c.day).having(func.sum(c.articles) > 0))
    out = {d: int(n) for d, n in conn.execute(query)}
    for edge in _part_days(filters, whole):
        for d, n in _day_counts_pg(conn, edge, match).items():
            out[d] = out.get(d, 0) + n
    return out


def _whole_days(filters: Filters) -> tuple[date | None, date | None] | None:
    """The Tehran days ``filters`` covers whole, as (first, end) (None: open), or None when it
    covers no whole day (it lies within one or two part days)."""
    first = _tehran_day(filters.since, up=True) if filters.since else None
    end = _tehran_day(filters.until, up=False) if filters.until else None
    return None if first is not None and end is not None and first >= end else (first, end)


def _counts_table(filters: Filters, ahead: str | None, whole: tuple[date | None, date | None]):
    """The kept counts to read (all articles, or a query's counted ahead) and the conditions
    that select ``filters``' whole days from them."""
    first, end = whole
    counts = DAY_COUNTS if ahead is None else _QUERY_COUNTS
    c = counts.c
    return counts, [*([c.query == ahead] if ahead is not None else []),
                    *([sources.c.name == filters.source] if filters.source else []),
                    *([sources.c.name.in_(filters.sources)] if filters.sources else []),
                    *([c.agency == filters.agency] if filters.agency else []),
                    *([c.day >= first] if first else []), *([c.day < end] if end else [])]


def _part_days(filters: Filters, whole: tuple[date | None, date | None]) -> list[Filters]:
    """The filters of the part days at either end of ``whole`` (counted from the articles)."""
    first, end = whole
    edges = []
    if first is not None and _midnight(first) != filters.since:
        edges.append(replace(filters, until=_midnight(first)))
    if end is not None and _midnight(end) != filters.until:
        edges.append(replace(filters, since=_midnight(end)))
    return edges


def _tehran_day(moment: datetime, up: bool) -> date:
    """The first Tehran day starting at or after ``moment`` (``up``), or the day holding it."""
    day = moment.astimezone(TEHRAN).date()
    return day + timedelta(days=1) if up and _midnight(day) != moment else day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TEHRAN).astimezone(timezone.utc)


def _day_counts_sqlite(conn: Connection, filters: Filters, match) -> dict[date, int]:
    # SQLite has no time zones. Since 1946 every Tehran offset is a whole number of half hours,
    # so a UTC half hour lies within one Tehran day: count per half hour in SQL (a few thousand
    # groups a year) and place each in its Tehran day here. Older instants (local mean time,
    # +03:25:44) are grouped by the exact instant instead.
    stamp = cast(articles.c.published_at, String)
    half = func.substr(stamp, 1, 14) + case((func.substr(stamp, 15, 2) >= "30", "30"), else_="00")
    key = case((stamp < "1946", stamp), else_=half)
    query = _from_articles(key, func.count()).where(*_dated(filters, match)).group_by(key)
    out: Counter[date] = Counter()
    for bucket, count in conn.execute(query):
        instant = datetime.fromisoformat(bucket).replace(tzinfo=timezone.utc)
        out[instant.astimezone(TEHRAN).date()] += int(count)
    return dict(out)


def count(conn: Connection, filters: Filters, match=None) -> int:
    """Dated articles under ``filters`` (meeting ``match`` when given)."""
    return int(conn.execute(_from_articles(func.count()).where(*_dated(filters, match))).scalar())


# --- per outlet --------------------------------------------------------------------------------

OUTLET_KINDS = ("source", "agency")


def outlet_days(conn: Connection, filters: Filters, kind: str, match=None,
                ahead: str | None = None) -> list[dict[str, Any]]:
    """Per source (``kind="source"``) or per agency named in the lead (``"agency"``): the dated
    articles under ``filters`` (meeting ``match`` when given) and the Tehran days of their first
    and last publication: ``[{"outlet": "fars", "articles": 40, "first": date, "last": date}]``.
    Articles whose lead names no agency are left out of the agency rows.

    On PostgreSQL the whole days come from the kept counts (all articles, or ``ahead``: the key of
    a query counted ahead), as trends reads them, and only part days from the articles: counting
    a common word's matches per outlet over 1,000,000 articles read half the table."""
    if conn.dialect.name != "postgresql" or (match is not None and ahead is None) \
            or (whole := _whole_days(filters)) is None:
        return [{**row, "first": _tehran_day(row["first"], up=False), "last": _tehran_day(row["last"], up=False)}
                for row in outlet_counts(conn, filters, kind, match)]
    counts, where = _counts_table(filters, ahead, whole)
    c = counts.c
    outlet = sources.c.name if kind == "source" else c.agency
    held = case((c.articles > 0, c.day))
    query = (select(outlet.label("outlet"), func.sum(c.articles).label("articles"), func.min(held).label("first"),
                    func.max(held).label("last"))
             .select_from(counts.join(sources, sources.c.id == c.source_id))
             .where(*where, *([c.agency != ""] if kind == "agency" else []))
             .group_by(outlet).having(func.sum(c.articles) > 0))
    found = {r["outlet"]: {**dict(r), "articles": int(r["articles"])} for r in conn.execute(query).mappings()}
    for edge in _part_days(filters, whole):
        for row in outlet_counts(conn, edge, kind, match):
            seen = found.setdefault(row["outlet"], {"outlet": row["outlet"], "articles": 0, "first": None, "last": None})
            seen["articles"] += row["articles"]
            first, last = _tehran_day(row["first"], up=False), _tehran_day(row["last"], up=False)
            seen["first"] = min(first, seen["first"] or first)
            seen["last"] = max(last, seen["last"] or last)
    return list(found.values())


def outlet_counts(conn: Connection, filters: Filters, kind: str, match=None) -> list[dict[str, Any]]:
    """Per source (``kind="source"``) or per agency named in the lead (``"agency"``): the dated
    articles under ``filters`` (meeting ``match`` when given) and their first and last
    publication, counted from the articles: ``[{"outlet": "fars", "articles": 40, "first":
    datetime, "last": datetime}]``. Articles whose lead names no agency are left out of the
    agency rows."""
    outlet = sources.c.name if kind == "source" else articles.c.meta["agency"].as_string()
    query = (_from_articles(outlet.label("outlet"), func.count().label("articles"),
                            func.min(articles.c.published_at).label("first"),
                            func.max(articles.c.published_at).label("last"))
             .where(*_dated(filters, match), outlet.is_not(None)).group_by(outlet))
    return [{**dict(r), "first": _utc(r["first"]), "last": _utc(r["last"])} for r in conn.execute(query).mappings()]


def _utc(value) -> datetime | None:
    """min()/max() over the UTC column come back as text on SQLite (no column type applies)."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value else None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


# --- samples of texts --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sample:
    ids: list[int]  # at most ``size`` ids, drawn at random
    whole: bool  # True: these are every such article (there were no more than the size)


def sample_ids(conn: Connection, filters: Filters, condition, size: int, seed: int) -> Sample:
    """At most ``size`` dated articles under ``filters`` meeting ``condition``, drawn at random
    when there are more; the same seed draws the same sample from the same rows.

    On PostgreSQL a large set is not read whole: pages are sampled (``TABLESAMPLE SYSTEM ...
    REPEATABLE``) at a fraction sized from what the last try held, until the sample holds more
    than ``size`` (proof that there are more) or every page was read. A set the planner expects
    to be small (a rare query's matches) is first listed, at most ``size + 1`` of them through
    the search index, which also tells when they are all there are; so is one the sampled pages
    find smaller than the planner said. Either order draws the same sample. SQLite lists them
    all (the embedded database is small).
    """
    where = _dated(filters) + [condition]
    listing = _from_articles(articles.c.id).where(*where).order_by(articles.c.id)
    if conn.dialect.name != "postgresql":
        ids = list(conn.execute(listing).scalars())
        return Sample(_draw(ids, size, seed), len(ids) <= size)
    listed = False
    if _planned_rows(conn, listing) < LISTED_BELOW * size:
        first = list(conn.execute(listing.limit(size + 1)).scalars())
        if len(first) <= size:
            return Sample(first, True)
        listed = True
    # The articles under the filters, from the day totals (a millisecond) rather than a count.
    percent = min(100.0, 100.0 * 2 * size / max(1, sum(day_counts(conn, filters).values())))
    while True:
        sampled = articles.tablesample(func.system(percent), name="a", seed=literal(seed % 2_147_483_647))
        query = (select(sampled.c.id).select_from(sampled.join(sources, sources.c.id == sampled.c.source_id))
                 .where(*_on(sampled, where)))
        ids = sorted(conn.execute(query).scalars())
        if percent >= 100:  # every page: these are all there are
            return Sample(_draw(ids, size, seed), len(ids) <= size)
        if not listed and (len(ids) == size or len(ids) * 100 / percent < LISTED_BELOW * size):
            first = list(conn.execute(listing.limit(size + 1)).scalars())
            if len(first) <= size:
                return Sample(first, True)
            listed = True
        if len(ids) >= size:
            return Sample(_draw(ids, size, seed), False)
        # Twice the size expected at the density just seen; page sampling is lumpy.
        percent = min(100.0, percent * max(2.0, 2 * size / max(1, len(ids))))


LISTED_BELOW = 4  # a set the planner expects under 4 x the sample size is listed before it is sampled


def _planned_rows(conn: Connection, query) -> float:
    """The rows the planner expects ``query`` to return (EXPLAIN: planned, nothing read)."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    return float(plan[0]["Plan"]["Plan Rows"])


def not_matching(match):
    """The articles a query does not match (the background of its terms)."""
    return not_(match)


def _on(alias, clauses: list) -> list:
    """``clauses`` written against ``articles`` re-pointed at an alias of it (the sampled table)."""
    adapter = ClauseAdapter(alias)
    return [adapter.traverse(clause) for clause in clauses]


def _draw(ids: Sequence[int], size: int, seed: int) -> list[int]:
    """``size`` of ``ids`` chosen at random (all of them when there are no more), the same for
    the same seed: ``([1, 2, 3], 5, 0)`` -> ``[1, 2, 3]``."""
    if len(ids) <= size:
        return list(ids)
    return sorted(random.Random(seed).sample(list(ids), size))


def texts(conn: Connection, ids: Iterable[int]) -> Iterator[dict[str, Any]]:
    """Title, summary and body of the articles with these ids (in any order), as they come.

    On PostgreSQL the rows are streamed (psycopg's chunked rows mode): the caller reads the words
    of one chunk while the server decompresses the next on the other core, instead of waiting
    for all of them first (5,000 articles of 1,000,000, words split: 0.2 s instead of 0.3 to
    0.4 s). The caller reads them all before it asks the connection anything else."""
    wanted = list(ids)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        sql = "SELECT id, title, summary, body FROM articles WHERE id = ANY(%s)"
        from psycopg import pq  # PostgreSQL only: SQLite commands do not load the driver
        # Chunks need libpq 17 (psycopg's binary wheels bundle it); an older one sends row by row.
        chunk = STREAMED_ROWS if pq.version() >= 170000 else 1
        for row in cursor.stream(sql, [wanted], size=chunk):
            yield dict(zip(TEXT_COLUMNS, row))
        return
    columns = [articles.c[name] for name in TEXT_COLUMNS]
    for start in range(0, len(wanted), CHUNK):
        query = select(*columns).where(articles.c.id.in_(wanted[start:start + CHUNK]))
        yield from (dict(r) for r in conn.execute(query).mappings())


TEXT_COLUMNS = ("id", "title", "summary", "body")
STREAMED_ROWS = 200  # rows per chunk of a streamed result


# --- stories several outlets carried -----------------------------------------------------------

def shared_clusters(conn: Connection, filters: Filters, limit: int, at_least: int = 2) -> list[int]:
    """The near-duplicate clusters whose dated members under ``filters`` come from at least
    ``at_least`` sources, most sources first (then the most recent first publication).

    A cluster of two or more members under the filters has a member under them that joined it
    (``cluster_id <> id``: only the article that started a cluster has its own id), so the
    clusters are found from those (the ``articles_joined`` index, about a tenth of the articles),
    and their starters are added by primary key: the same members as grouping every article of
    the period by cluster, which read the whole period (2.5 s at 1,000,000 articles)."""
    columns = (articles.c.cluster_id, articles.c.source_id, articles.c.published_at)
    joined = _from_articles(*columns).where(*_dated(filters), articles.c.cluster_id != articles.c.id).cte("joined")
    starters = (_from_articles(*columns)
                .where(*_dated(filters), articles.c.cluster_id == articles.c.id,
                       articles.c.id.in_(select(joined.c.cluster_id).distinct())))
    members = union_all(select(joined), starters).subquery("members")
    outlets = func.count(distinct(members.c.source_id))
    query = (select(members.c.cluster_id).group_by(members.c.cluster_id).having(outlets >= at_least)
             .order_by(outlets.desc(), func.min(members.c.published_at).desc(), members.c.cluster_id.desc())
             .limit(limit))
    return list(conn.execute(query).scalars())


def cluster_members(conn: Connection, cluster_ids: Sequence[int], filters: Filters) -> list[dict[str, Any]]:
    """The dated members under ``filters`` of these clusters, earliest first."""
    if not cluster_ids:
        return []
    query = (_from_articles(articles.c.id, articles.c.cluster_id, sources.c.name.label("source"),
                            articles.c.published_at, articles.c.title, articles.c.url,
                            articles.c.meta["agency"].as_string().label("agency"))
             .where(*_dated(filters), articles.c.cluster_id.in_(list(cluster_ids)))
             .order_by(articles.c.published_at, articles.c.id))
    return [dict(r) for r in conn.execute(query).mappings()]
