"""Attention over time: per period, the articles matching each query, all articles under the
same filters, and the share (matching / all), several queries aligned on the same periods.

As Media Cloud's "attention over time", normalized: a story's share of the coverage, not a raw
count that rises whenever the archive grows. The matching articles are exactly those ``search``
finds with the same filters (``match_clause``); periods are Tehran calendar days, weeks from
Saturday, Gregorian or Jalali months (etl/analysis/periods.py); empty periods are present with
zeros. Undated articles belong to no period and are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..load.analysis import counted_ahead, day_counts
from ..load.search import Filters, match_clause
from . import periods
from .errors import AnalysisError
from .queries import check_queries

SHARE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Series:
    query: str
    counts: tuple[int, ...]
    shares: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Trends:
    by: str
    calendar: str
    filters: Filters
    starts: tuple[date, ...]  # each period's first day (Gregorian), for charts
    periods: tuple[str, ...]  # each period's label in the chosen calendar
    totals: tuple[int, ...]
    series: tuple[Series, ...]

    def as_json(self) -> dict[str, Any]:
        return {"by": self.by, "calendar": self.calendar, "periods": list(self.periods), "totals": list(self.totals),
                "series": [{"query": s.query, "counts": list(s.counts), "shares": list(s.shares)}
                           for s in self.series]}

    def columns(self) -> list[str]:
        """The CSV's header: period, total, then a count and a share column per query."""
        return ["period", "total"] + [f"{kind}: {s.query}" for s in self.series for kind in ("count", "share")]

    def rows(self) -> list[list[Any]]:
        return [[label, total] + [value for s in self.series for value in (s.counts[i], s.shares[i])]
                for i, (label, total) in enumerate(zip(self.periods, self.totals))]


def check_range(filters: Filters) -> None:
    if filters.since and filters.until and filters.since >= filters.until:
        raise AnalysisError(f"since ({filters.since.isoformat()}) is not before until ({filters.until.isoformat()})")


def trends(conn: Connection, queries: list[str], filters: Filters = Filters(), by: str = "day",
           calendar: str = "gregorian") -> Trends:
    """Per period of ``by`` in ``calendar``: all articles under ``filters``, and for each query
    the matching ones and their share."""
    periods.check(by, calendar)
    check_range(filters)
    check_queries(queries)
    matches = [match_clause(conn, q) for q in queries]  # a query search refuses fails before any counting
    totals_per_day = day_counts(conn, filters)
    span = _span(filters, totals_per_day)
    starts = periods.starts(*span, by, calendar) if span else []
    totals = periods.bucket(totals_per_day, starts, by, calendar)
    series = []
    for query, match in zip(queries, matches):
        counts = periods.bucket(day_counts(conn, filters, match, counted_ahead(conn, query)), starts, by, calendar)
        series.append(Series(query, tuple(counts), tuple(share(c, t) for c, t in zip(counts, totals))))
    labels = tuple(periods.label(s, by, calendar) for s in starts)
    return Trends(by, calendar, filters, tuple(starts), labels, tuple(totals), tuple(series))


def share(count: int, total: int) -> float:
    """``share(3, 12)`` -> ``0.25``; an empty period's share is 0."""
    return round(count / total, SHARE_DIGITS) if total else 0.0


def _span(filters: Filters, per_day: dict[date, int]) -> tuple[date, date] | None:
    """The Tehran days the periods cover: from ``since`` (else the first day with articles) to
    the day before ``until`` (exclusive; else the last day with articles)."""
    first = periods.tehran_day(filters.since) if filters.since else min(per_day, default=None)
    last = _last_day(filters.until) if filters.until else max(per_day, default=None)
    if first is None or last is None or last < first:
        return None
    return first, last


def _last_day(until: datetime) -> date:
    # until is exclusive: an until at Tehran midnight ends the day before.
    return periods.tehran_day(until - timedelta(microseconds=1))
