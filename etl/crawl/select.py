"""Date pruning for a crawl, pure: which sitemaps can hold articles of a date range, and which
article URLs are in it. No network, no database, no clock.

Evidence, strongest first:

- ``news:publication_date`` of a URL entry: the publication instant.
- A date in the URL (``/1403/05/12/``, ``/2024/08/02/``, ``sitemap-2024-08.xml``,
  ``posts-1403-05.xml``): a Tehran day, month or (sitemaps only) year. A year in 1300-1499 is
  Jalali, in 1900-2199 Gregorian, as in ``etl.clean.dates``.
- ``<lastmod>``: when the sitemap or page last changed. Content published in the range was
  written no earlier than the range's start, so ``lastmod < since`` rules a sitemap or page out;
  a later lastmod proves nothing (old sitemaps are regenerated, old articles edited).
- Siblings already fetched: in an index whose sub-sitemaps run newest-first (or oldest-first),
  once one ends before the range, every later one does too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Sequence
from urllib.parse import unquote, urlsplit

import jdatetime

from ..clean.dates import TEHRAN
from ..clean.jalali import JALALI_YEARS, to_gregorian

__all__ = ["Observed", "Span", "Window", "page_verdict", "sibling_skip", "sitemap_skip", "url_span"]

# y-m-d or y-m with one separator throughout; a bare year (sitemaps only) between separators.
_YMD = re.compile(r"(?<!\d)(1[34]\d\d|19\d\d|2[01]\d\d)([/_.-])(\d{1,2})(?:\2(\d{1,2}))?(?!\d)")
_YEAR = re.compile(r"(?<![\d])(1[34]\d\d|2[01]\d\d)(?![\d])")


@dataclass(frozen=True, slots=True)
class Window:
    """A crawl's date range: ``since`` inclusive, ``until`` exclusive, both aware."""

    since: datetime
    until: datetime

    @classmethod
    def from_strings(cls, since: str, until: str) -> Window:
        """The window a queued crawl's job carries: ISO instants, as ``isoformat()`` wrote them."""
        return cls(datetime.fromisoformat(since), datetime.fromisoformat(until))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` meets the window; ``start == end`` is one instant."""
        if start == end:
            return self.since <= start < self.until
        return start < self.until and end > self.since


@dataclass(frozen=True, slots=True)
class Span:
    """What a URL's date says: ``[start, end)``, aware UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Observed:
    """A sibling sitemap already fetched: its place in the index and its entries' date range."""

    position: int
    oldest: datetime
    newest: datetime


def url_span(url: str, allow_year: bool = False) -> Span | None:
    """The most precise date the URL's path and query carry, as a span of Tehran time.

    ``"https://x.ir/fa/news/1403/05/12/3021/a"`` -> 1403-05-12 (2024-08-02) as one Tehran day;
    ``"https://x.ir/sitemap-2024-08.xml"`` -> August 2024; ``"/index-1402.xml"`` (``allow_year``)
    -> the Jalali year 1402. Nothing date-like -> None.
    """
    parts = urlsplit(url)
    text = unquote(parts.path + ("?" + parts.query if parts.query else ""))
    best: Span | None = None
    best_rank = 0
    for match in _YMD.finditer(text):
        year, month, day = int(match.group(1)), int(match.group(3)), match.group(4)
        span = _day_span(year, month, int(day)) if day else _month_span(year, month)
        rank = 3 if day else 2
        if span and rank > best_rank:
            best, best_rank = span, rank
    if best is None and allow_year:
        for match in _YEAR.finditer(text):
            best = _year_span(int(match.group(1)))
            if best:
                break
    return best


def _tehran(day: date) -> datetime:
    return datetime.combine(day, time(0), TEHRAN).astimezone(timezone.utc)


def _day_span(year: int, month: int, day: int) -> Span | None:
    start = to_gregorian(year, month, day)
    if start is None:
        return None
    return Span(_tehran(start), _tehran(date.fromordinal(start.toordinal() + 1)))


def _month_span(year: int, month: int) -> Span | None:
    if not 1 <= month <= 12:
        return None
    first = to_gregorian(year, month, 1)
    if first is None:
        return None
    following = (year + month // 12, month % 12 + 1)
    nxt = to_gregorian(*following, 1)
    return Span(_tehran(first), _tehran(nxt)) if nxt else None


def _year_span(year: int) -> Span | None:
    if year in JALALI_YEARS:
        return Span(_tehran(jdatetime.date(year, 1, 1).togregorian()),
                    _tehran(jdatetime.date(year + 1, 1, 1).togregorian()))
    if 1900 <= year <= 2199:
        return Span(_tehran(date(year, 1, 1)), _tehran(date(year + 1, 1, 1)))
    return None


def sitemap_skip(url: str, lastmod: datetime | None, window: Window,
                 siblings: Sequence[Observed] = (), position: int | None = None) -> str | None:
    """Why the sitemap at ``url`` cannot hold URLs of ``window`` (a reason), or None to fetch it.

    ``sitemap_skip("https://x.ir/sitemap-2019-01.xml", None, Window(2024-06-01, 2024-09-01))``
    -> ``"its URL dates it 2019-01-01..2019-02-01 (Tehran)"``.
    """
    if lastmod is not None and lastmod < window.since:
        return f"not modified since {lastmod:%Y-%m-%d}, before the range"
    span = url_span(url, allow_year=True)
    if span is not None and not window.overlaps(span.start, span.end):
        return f"its URL dates it {_day(span.start)}..{_day(span.end)} (Tehran)"
    if position is not None:
        return sibling_skip(position, siblings, window)
    return None


def _day(at: datetime) -> str:
    return f"{at.astimezone(TEHRAN):%Y-%m-%d}"


def sibling_skip(position: int, siblings: Sequence[Observed], window: Window) -> str | None:
    """Whether fetched siblings, ordered by date, put ``position`` outside the window.

    With siblings at 0 (2024-07) and 1 (2024-06) the index runs newest-first; for a window
    of 2024-07 a sibling at 2 (older than 1) -> ``"... an earlier sibling ends before the range"``.
    """
    order = _order(siblings)
    if order is None:
        return None
    for seen in siblings:
        # Newest-first: what comes after ``seen`` is older than it; oldest-first: what comes before.
        older_than_seen = (seen.position < position) == (order == "newest-first")
        if older_than_seen and seen.newest < window.since:
            return f"the index runs {order} and a sibling at {seen.position} ends before the range"
        if not older_than_seen and seen.oldest >= window.until:
            return f"the index runs {order} and a sibling at {seen.position} starts after the range"
    return None


def _order(siblings: Sequence[Observed]) -> str | None:
    """``"newest-first"`` or ``"oldest-first"`` when at least two siblings show it, else None."""
    ordered = sorted(siblings, key=lambda s: s.position)
    if len(ordered) < 2:
        return None
    pairs = list(zip(ordered, ordered[1:]))
    if all(a.newest <= b.oldest for a, b in pairs) and any(a.newest < b.oldest for a, b in pairs):
        return "oldest-first"
    if all(a.oldest >= b.newest for a, b in pairs) and any(a.oldest > b.newest for a, b in pairs):
        return "newest-first"
    return None


def page_verdict(date_from: datetime | None, date_to: datetime | None, lastmod: datetime | None,
                 window: Window) -> str:
    """``"in"``, ``"out"`` or ``"unknown"`` (only the page itself can tell) for an article URL.

    A publication date or a URL date decides; else a lastmod before the range rules it out.
    """
    if date_from is not None:
        return "in" if window.overlaps(date_from, date_to or date_from) else "out"
    if lastmod is not None and lastmod < window.since:
        return "out"
    return "unknown"
