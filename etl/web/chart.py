"""Articles per Tehran day per source as bar geometry for a server-rendered SVG (no JavaScript).

Pure: the days and counts come in, rectangles come out; the template draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")
DAYS = 30
WIDTH, HEIGHT = 300, 60  # SVG user units; the SVG scales to the page width
SLOT = WIDTH / DAYS
BAR = SLOT * 0.7


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class SourceChart:
    source: str
    bars: tuple[Bar, ...]
    total: int
    peak: int


def window(now: datetime, days: int = DAYS) -> tuple[list[date], datetime, datetime]:
    """The last ``days`` Tehran days up to today, and the UTC instants bounding them."""
    today = now.astimezone(TEHRAN).date()
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    start = datetime.combine(span[0], time(), TEHRAN)
    end = datetime.combine(today + timedelta(days=1), time(), TEHRAN)
    return span, start, end


def charts(rows: Iterable[dict[str, Any]], days: list[date], sources: Iterable[str]) -> list[SourceChart]:
    """One chart per source (in the order given), one bar per day that has articles.
    ``rows`` are ``{"source", "day", "articles"}`` as ``articles_per_day`` returns them."""
    counts: dict[str, dict[date, int]] = {}
    for row in rows:
        counts.setdefault(row["source"], {})[row["day"]] = int(row["articles"])
    return [_chart(name, counts.get(name, {}), days) for name in sources]


def _chart(source: str, per_day: dict[date, int], days: list[date]) -> SourceChart:
    peak = max(per_day.values(), default=0)
    bars = []
    for slot, day in enumerate(days):
        count = per_day.get(day, 0)
        if count:
            # A day with one article still gets a visible bar (at least 2 units high).
            height = max(2.0, HEIGHT * count / peak)
            # Time runs right to left, like the text: the oldest day on the right, today on the left.
            x = WIDTH - (slot + 1) * SLOT + (SLOT - BAR) / 2
            bars.append(Bar(day, count, round(x, 2), round(HEIGHT - height, 2), round(BAR, 2), round(height, 2)))
    return SourceChart(source, tuple(bars), sum(per_day.get(d, 0) for d in days), peak)
