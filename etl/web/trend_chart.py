"""Attention over time as line geometry for a server-rendered SVG (no JavaScript): one line of
shares per query, time running right to left like the text (the first period on the right), a
few period labels along the bottom and share ticks on the side. Pure: a Trends in, shapes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import jdatetime

from ..analysis.trends import Trends
from .present import JALALI_MONTHS, fa_digits

WIDTH, HEIGHT = 600, 240  # SVG user units; the SVG scales to the page width
LEFT, RIGHT, TOP, BOTTOM = 12, 48, 12, 36  # room for the share ticks (right, where time starts) and period labels
LABELS = 6  # at most this many period labels
COLOURS = ("#0b57d0", "#b3261e", "#1e7d32", "#8e24aa", "#ef6c00", "#00838f", "#5d4037", "#c2185b", "#455a64",
           "#827717")
GREGORIAN_MONTHS = ("ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر",
                    "نوامبر", "دسامبر")


@dataclass(frozen=True, slots=True)
class Line:
    query: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline points>
    dots: tuple[tuple[float, float, str, int, float], ...]  # x, y, period label, count, share


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    text: str
    anchor: str = "middle"  # SVG text-anchor in a right-to-left text: "start" is the right end


@dataclass(frozen=True, slots=True)
class TrendChart:
    width: int
    height: int
    lines: tuple[Line, ...]
    x_labels: tuple[Tick, ...]
    y_labels: tuple[Tick, ...]
    baseline: float
    plot_left: float
    plot_right: float


def chart(trends: Trends) -> TrendChart:
    n = len(trends.periods)
    peak = max((v for s in trends.series for v in s.shares), default=0.0) or 1.0
    top = _nice(peak)

    def x(i: int) -> float:
        # Right to left: the first period at the right edge of the plot.
        span = WIDTH - LEFT - RIGHT
        return round(WIDTH - RIGHT - (span * i / (n - 1) if n > 1 else span / 2), 2)

    def y(share: float) -> float:
        return round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * share / top, 2)

    lines = tuple(
        Line(s.query, COLOURS[k % len(COLOURS)], " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(s.shares)),
             tuple((x(i), y(v), trends.periods[i], s.counts[i], v) for i, v in enumerate(s.shares)))
        for k, s in enumerate(trends.series))
    step = max(1, -(-n // LABELS))
    shown = list(range(0, n, step))
    # The outermost labels are aligned inwards so they stay inside the picture.
    anchors = {shown[0]: "start", shown[-1]: "end"} if len(shown) > 1 else {}
    names = [period_name(trends.starts[i], trends.by, trends.calendar) for i in shown]
    if trends.by != "month":  # a day's year only where it changes: long labels would overlap
        names = [_without_repeated_year(name, names[k - 1] if k else None) for k, name in enumerate(names)]
    x_labels = tuple(Tick(x(i), HEIGHT - BOTTOM + 16, name, anchors.get(i, "middle")) for i, name in zip(shown, names))
    y_labels = tuple(Tick(WIDTH - RIGHT + 6, y(v), percent(v), "end") for v in (0.0, top / 2, top))
    return TrendChart(WIDTH, HEIGHT, lines, x_labels, y_labels, HEIGHT - BOTTOM, LEFT, WIDTH - RIGHT)


def _without_repeated_year(name: str, previous: str | None) -> str:
    """``("۸ آذر ۱۴۰۴", "۱ مهر ۱۴۰۴")`` -> ``"۸ آذر"``; the first label, or a new year, keeps it."""
    if previous is None or previous.rsplit(" ", 1)[-1] != name.rsplit(" ", 1)[-1]:
        return name
    return name.rsplit(" ", 1)[0]


def _nice(peak: float) -> float:
    """A round top for the share axis at or above the peak: ``0.034`` -> ``0.04``, ``0.47`` -> ``0.5``."""
    for top in (0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0):
        if peak <= top:
            return top
    return 1.0


def percent(share: float) -> str:
    """``0.125`` -> ``"۱۲٫۵٪"`` (Persian digits and signs)."""
    text = f"{100 * share:.1f}".rstrip("0").rstrip(".")
    return fa_digits(text).replace(".", "٫") + "٪"


def period_name(start: date, by: str, calendar: str) -> str:
    """A period as a Persian reader names it, in words rather than a dashed number (whose digits
    a right-to-left line would reorder): ``(date(2026, 1, 21), "month", "jalali")`` ->
    ``"بهمن ۱۴۰۴"``; a day or week ``"۱ بهمن"``; Gregorian months by their Persian names."""
    if calendar == "jalali":
        local = jdatetime.date.fromgregorian(date=start)
        year, month, day, names = local.year, local.month, local.day, JALALI_MONTHS
    else:
        year, month, day, names = start.year, start.month, start.day, GREGORIAN_MONTHS
    if by == "month":
        return f"{names[month - 1]} {fa_digits(year)}"
    return f"{fa_digits(day)} {names[month - 1]} {fa_digits(year)}"
