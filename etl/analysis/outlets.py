"""Outlets compared: for each source and for each agency a lead names, how many of its articles
match a query, what share of its articles in the period that is, and its first and last match.

A source is where news-etl got the article (a feed, a dump); an agency is whom the article's
lead credits (``meta.agency``: "به گزارش خبرگزاری مهر"), so a story Mehr wrote and ISNA carried
counts for the source isna and the agency مهر.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ..load.analysis import OUTLET_KINDS, counted_ahead, outlet_days
from ..load.search import Filters, match_clause
from .queries import check_query
from .trends import check_range, share


@dataclass(frozen=True, slots=True)
class Outlet:
    kind: str  # "source" or "agency"
    name: str
    matches: int
    articles: int  # all its articles under the same filters
    share: float  # matches / articles
    first: date | None  # Tehran day of its first matching article
    last: date | None


@dataclass(frozen=True, slots=True)
class Outlets:
    query: str
    filters: Filters
    outlets: tuple[Outlet, ...]

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "outlets": [
            {"kind": o.kind, "name": o.name, "matches": o.matches, "articles": o.articles, "share": o.share,
             "first": o.first.isoformat() if o.first else None, "last": o.last.isoformat() if o.last else None}
            for o in self.outlets]}

    def columns(self) -> list[str]:
        return ["kind", "name", "matches", "articles", "share", "first", "last"]

    def rows(self) -> list[list]:
        return [[o.kind, o.name, o.matches, o.articles, o.share, o.first.isoformat() if o.first else "",
                 o.last.isoformat() if o.last else ""] for o in self.outlets]


def outlets(conn: Connection, query: str, filters: Filters = Filters()) -> Outlets:
    """Sources, then agencies, each most matches first; outlets with no match are left out."""
    check_range(filters)
    check_query(query)
    match = match_clause(conn, query)
    ahead = counted_ahead(conn, query)
    found = []
    for kind in OUTLET_KINDS:
        totals = {r["outlet"]: r["articles"] for r in outlet_days(conn, filters, kind)}
        for row in outlet_days(conn, filters, kind, match, ahead):
            total = totals.get(row["outlet"], 0)
            found.append(Outlet(kind, row["outlet"], row["articles"], total, share(row["articles"], total),
                                row["first"], row["last"]))
    found.sort(key=lambda o: (OUTLET_KINDS.index(o.kind), -o.matches, o.name))
    return Outlets(query, filters, tuple(found))
