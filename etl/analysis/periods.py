"""Periods of the Tehran calendar: days, weeks that start on Saturday, and months, Gregorian or
Jalali. Pure: Tehran days (``date``) in, period starts and labels out.

A period is named by the Gregorian date of its first day (its ``start``); its label is that day
(or month) in the chosen calendar with ASCII digits: ``2026-01-08`` / ``1404-10-18`` for a day or
a week, ``2026-01`` / ``1404-10`` for a month. "Dey 1404" is a month of its own (22 December 2025
to 20 January 2026), never a slice of two Gregorian months.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import jdatetime

from .errors import AnalysisError

TEHRAN = ZoneInfo("Asia/Tehran")
BY = ("day", "week", "month")
CALENDARS = ("gregorian", "jalali")
SATURDAY = 5  # date.weekday(): Monday is 0


def check(by: str, calendar: str) -> None:
    if by not in BY:
        raise AnalysisError(f"by: {by!r} is not one of {', '.join(BY)}")
    if calendar not in CALENDARS:
        raise AnalysisError(f"calendar: {calendar!r} is not one of {', '.join(CALENDARS)}")


def tehran_day(moment: datetime) -> date:
    """The Tehran calendar day of an instant: ``2026-01-07T20:45Z`` -> ``date(2026, 1, 8)``."""
    return moment.astimezone(TEHRAN).date()


def start_of(day: date, by: str, calendar: str) -> date:
    """The first day of the period holding ``day``: ``(date(2026, 1, 8), "week", _)`` ->
    ``date(2026, 1, 3)`` (a Saturday); ``(date(2026, 1, 21), "month", "jalali")`` ->
    ``date(2026, 1, 21)`` (1 Bahman 1404)."""
    if by == "day":
        return day
    if by == "week":
        return day - timedelta(days=(day.weekday() - SATURDAY) % 7)
    if calendar == "jalali":
        return jdatetime.date.fromgregorian(date=day).replace(day=1).togregorian()
    return day.replace(day=1)


def next_start(start: date, by: str, calendar: str) -> date:
    """The first day of the period after the one starting on ``start``."""
    if by == "day":
        return start + timedelta(days=1)
    if by == "week":
        return start + timedelta(days=7)
    # Every month has at least 29 days and at most 31: day 1 + 32 lands in the next month.
    return start_of(start_of(start, by, calendar) + timedelta(days=32), by, calendar)


def starts(first: date, last: date, by: str, calendar: str) -> list[date]:
    """Every period from the one holding ``first`` to the one holding ``last``, empty ones too."""
    out: list[date] = []
    current = start_of(first, by, calendar)
    while current <= last:
        out.append(current)
        current = next_start(current, by, calendar)
    return out


def label(start: date, by: str, calendar: str) -> str:
    """``(date(2026, 1, 8), "day", "jalali")`` -> ``"1404-10-18"``; ``(date(2026, 1, 21), "month",
    "jalali")`` -> ``"1404-11"``; ``(date(2026, 1, 1), "month", "gregorian")`` -> ``"2026-01"``."""
    if calendar == "jalali":
        local = jdatetime.date.fromgregorian(date=start)
        year, month, day = local.year, local.month, local.day
    else:
        year, month, day = start.year, start.month, start.day
    return f"{year:04d}-{month:02d}" if by == "month" else f"{year:04d}-{month:02d}-{day:02d}"


def bucket(per_day: dict[date, int], period_starts: list[date], by: str, calendar: str) -> list[int]:
    """Day counts added up per period, aligned on ``period_starts``; days outside them are
    dropped: ``({date(2026,1,3): 2, date(2026,1,9): 1}, [date(2026,1,3)], "week", _)`` -> ``[3]``."""
    index = {start: i for i, start in enumerate(period_starts)}
    out = [0] * len(period_starts)
    for day, count in per_day.items():
        slot = index.get(start_of(day, by, calendar))
        if slot is not None:
            out[slot] += count
    return out
