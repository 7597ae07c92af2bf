"""Publication dates as news sources print them -> aware UTC datetimes.

A chain of small parsers, tried in order, each returning ``None`` when its form is absent:

1. ISO 8601 date *and* time, optional offset   ``2025-08-22T10:15:00.123+03:30``
2. RFC 822/2822                                ``Thu, 01 Jan 2026 06:33:52 GMT``
3. day, month name, year (Jalali or Gregorian)  ``۱۵ دی ۱۴۰۴ - ۰۹:۲۲``, ``22 August 2025``
4. English month first                         ``August 22, 2025``
5. numeric y/m/d or (Jalali) d/m/y              ``۱۴۰۴/۱۰/۱۸ - ۱۴:۱۴``, ``date 2025-08-22``

A four-digit year in 1300-1499 is Jalali, in 1900-2199 Gregorian; a year outside both
(``31 Dec 9999``, ``01 Jan 0001 +1400``) is no date, like any unparseable one: such an
instant may not even exist in UTC (Python's ``datetime`` ends at 9999-12-31). A time without an
offset is Asia/Tehran wall-clock time with its real history: +04:30 in summer until
September 2022, +03:30 all year since.

Times that Tehran's clocks skipped or repeated resolve with zoneinfo's ``fold=0``:
a skipped time (the spring-forward hour, 00:00-00:59 on the first day of summer time)
is read with the offset in force *before* the jump (+03:30), and a repeated time
(23:00-23:59 on the last night of summer time) is the *first* occurrence (+04:30).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from etl.clean.jalali import (
    ENGLISH_MONTHS,
    GREGORIAN_YEARS,
    JALALI_MONTHS,
    JALALI_YEARS,
    PERSIAN_GREGORIAN_MONTHS,
    alternation,
    fold,
    gregorian,
    to_gregorian,
)

__all__ = ["ParsedDate", "TEHRAN", "is_future", "parse_date", "parse_date_info"]

TEHRAN = ZoneInfo("Asia/Tehran")


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A parsed instant. ``at`` is aware UTC; ``time_known`` is False for a date-only
    input, whose ``at`` is then that day's midnight in Tehran."""

    at: datetime
    time_known: bool


def parse_date(value: str) -> datetime | None:
    """The UTC instant a date string names, or None when it holds no valid date.

    ``"۱۴۰۴/۱۰/۱۸ - ۱۴:۱۴"`` -> ``datetime(2026, 1, 8, 10, 44, tzinfo=UTC)``
    """
    info = parse_date_info(value)
    return info.at if info else None


def parse_date_info(value: str) -> ParsedDate | None:
    """Like parse_date, but also says whether the string carried a time of day.

    ``"2025-08-22"`` -> ``ParsedDate(at=datetime(2025, 8, 21, 20, 30, tzinfo=UTC), time_known=False)``
    """
    if not value or not isinstance(value, str):
        return None
    text = fold(value)
    for handler in _HANDLERS:
        found = handler(text)
        if found is _IMPOSSIBLE:
            return None
        if found is not None:
            return found.resolve()
    return None


def is_future(at: datetime, now: datetime, tolerance: timedelta = timedelta(hours=1)) -> bool:
    """True when ``at`` lies more than ``tolerance`` after ``now`` (both aware).

    The tolerance absorbs clock skew and sites that stamp an article a few minutes ahead.
    ``(now + 2h, now)`` -> ``True``; ``(now + 30min, now)`` -> ``False``
    """
    return at > now + tolerance


# --- what a handler finds -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    """A calendar day, an optional wall-clock time, and an optional fixed UTC offset
    (None = Tehran local time)."""

    day: date
    clock: time | None = None
    offset: timedelta | None = None

    def resolve(self) -> ParsedDate | None:
        """The UTC instant; None when it falls outside what ``datetime`` can hold (handlers keep
        years in range, so only a bug or a new handler gets here, never a raise)."""
        zone = TEHRAN if self.offset is None else timezone(self.offset)
        # fold=0 (the default) picks the pre-transition offset in a gap and the first
        # instant in an overlap; see the module docstring.
        clock = self.clock if self.clock is not None else time(0)
        local = datetime.combine(self.day, clock, tzinfo=zone)
        try:
            return ParsedDate(at=local.astimezone(UTC), time_known=self.clock is not None)
        except OverflowError:
            return None


# A handler whose form is present but impossible (day 32, an unknown zone) returns this,
# which stops the chain: a looser parser further down would otherwise read the same
# text differently, e.g. "06:33 XYZ" as Tehran time.
_IMPOSSIBLE = _Found(date.min)


def _clock(hour: str, minute: str, second: str | None = None, fraction: str | None = None) -> time | None:
    """``("14", "05", "09")`` -> ``time(14, 5, 9)``; ``("25", "00")`` -> ``None``."""
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        return None
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return time(h, m, s, micro)


def _offset(zone: str) -> timedelta | None:
    """``"+03:30"`` -> ``timedelta(hours=3, minutes=30)``; ``"Z"`` -> zero; unknown -> None."""
    zone = zone.strip().upper()
    if zone in _NAMED_ZONES:
        return _NAMED_ZONES[zone]
    match = re.fullmatch(r"(?:GMT|UTC|UT)?\s*([+-])([0-9]{2}):?([0-9]{2})?", zone)
    if not match:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if sign == "-" else delta


_NAMED_ZONES: dict[str, timedelta] = {
    name: timedelta(minutes=minutes)
    for name, minutes in {
        "Z": 0, "UT": 0, "UTC": 0, "GMT": 0,
        "EST": -300, "EDT": -240, "CST": -360, "CDT": -300,
        "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
        "CET": 60, "CEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
        "IRST": 210, "IRDT": 270,
    }.items()
}  # fmt: skip


# --- 1. ISO 8601 date and time ------------------------------------------------------------

_ISO = re.compile(
    r"(?<![0-9])(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:T|\s+)(?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]+))?)?"
    r"(?:\s*(?P<tz>Z|[+-][0-9]{2}(?::?[0-9]{2})?))?(?![0-9])",
    re.IGNORECASE,
)


def _iso8601(text: str) -> _Found | None:
    """``"2025-08-22T10:15:00Z"`` -> ``_Found(date(2025, 8, 22), time(10, 15), timedelta(0))``

    Date-only ISO strings are left to the numeric parser, which also looks for a time
    printed elsewhere in the string.
    """
    m = _ISO.search(text)
    if not m:
        return None
    day = to_gregorian(int(m["y"]), int(m["mo"]), int(m["d"]))
    clock = _clock(m["h"], m["mi"], m["s"], m["f"])
    offset = _offset(m["tz"]) if m["tz"] else None
    if day is None or clock is None or (m["tz"] and offset is None):
        return _IMPOSSIBLE
    return _Found(day, clock, offset)


# --- 2. RFC 822 / 2822 -------------------------------------------------------------------

_RFC822 = re.compile(
    r"(?<![0-9])(?P<d>[0-9]{1,2})[\s-]+(?P<mon>" + alternation(ENGLISH_MONTHS) + r")\.?[\s-]+"
    r"(?P<y>[0-9]{4}|[0-9]{2})\s+(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?"
    r"(?:\s*(?P<half>[AP]\.?M\.?)(?![A-Za-z]))?"
    # Zone names are upper case, so a lower-case word after the time ("by", "Tehran") is
    # text, not an unknown zone.
    r"(?:\s*(?P<tz>(?:(?:GMT|UTC|UT)\s*)?[+-][0-9]{2}:?[0-9]{2}|(?-i:[A-Z]{1,5})))?(?![0-9A-Za-z])",
    re.IGNORECASE,
)


def _rfc822(text: str) -> _Found | None:
    """``"Thu, 01 Jan 2026 06:33:52 GMT"`` -> ``_Found(date(2026, 1, 1), time(6, 33, 52), timedelta(0))``

    The weekday is ignored: feeds get it wrong often enough that checking it would
    drop good dates. Without a zone the time is Tehran local, like every naive time.
    """
    m = _RFC822.search(text)
    if not m:
        return None
    year = int(m["y"])
    if len(m["y"]) == 2:
        # RFC 2822 section 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
        year += 2000 if year < 50 else 1900
    month = ENGLISH_MONTHS[m["mon"].lower()]
    day = gregorian(year, month, int(m["d"])) if year in GREGORIAN_YEARS else None
    clock = _clock_12(m)
    offset = _offset(m["tz"]) if m["tz"] else None
    # An unknown zone name leaves the instant hours off; better no date than a wrong one.
    if day is None or clock is None or (m["tz"] and offset is None):
        return _IMPOSSIBLE
    return _Found(day, clock, offset)


# --- a time printed anywhere near a date (Persian sites) -----------------------------------

_TIME = re.compile(
    r"(?<![0-9:])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?![0-9:])"
    r"(?:\s*(?P<half>ق\.?\s?ظ|ب\.?\s?ظ|قبل\s?از\s?ظهر|بعد\s?از\s?ظهر|صبح|عصر|[AP]\.?M\.?(?![A-Za-z])))?",
    re.IGNORECASE,
)
_AFTERNOON = re.compile(r"ب\.?\s?ظ|بعد|عصر|P", re.IGNORECASE)


# How far from the date a time may be printed and still belong to it. Wide enough for
# "۱۳ دی ۱۴۰۴ - ۱۳ رجب ۱۴۴۷ - ۳ ژانویه ۲۰۲۶ - ۱۰:۰۰", narrow enough that a time in
# the article text after a "date 2025-08-22" header is not taken for the publication time.
_TIME_REACH = 40


def _time_near(text: str, start: int, end: int) -> re.Match[str] | None:
    """The time printed next to the date at ``text[start:end]``: the first one just after
    it, else the last one just before it (``"07:00 | 1404/10/15"`` puts it first).

    ``("1404/10/18 - 14:14", 0, 10)`` -> the match for ``"14:14"``
    """
    times = list(_TIME.finditer(text))
    after = [m for m in times if 0 <= m.start() - end <= _TIME_REACH]
    before = [m for m in times if 0 <= start - m.end() <= _TIME_REACH]
    return after[0] if after else (before[-1] if before else None)


def _clock_12(m: re.Match[str]) -> time | None:
    """``"02:14 ب.ظ"`` -> ``time(14, 14)``; ``"12:30 ق.ظ"`` -> ``time(0, 30)``; 24-hour if unmarked."""
    clock = _clock(m["h"], m["mi"], m["s"])
    if clock is None or not m["half"]:
        return clock
    if not 1 <= clock.hour <= 12:
        return None
    return clock.replace(hour=clock.hour % 12 + (12 if _AFTERNOON.match(m["half"]) else 0))


def _with_time(text: str, m: re.Match[str], day: date | None) -> _Found | None:
    """The day matched by ``m``, with the time printed near it if there is one."""
    if day is None:
        return _IMPOSSIBLE
    near = _time_near(text, m.start(), m.end())
    if near is None:
        return _Found(day)
    clock = _clock_12(near)
    # A time that cannot be ("25:10") means the string is not what we think it is.
    return _Found(day, clock) if clock is not None else _IMPOSSIBLE


# --- 3. day, month name, year --------------------------------------------------------------

_MONTH_NAMES: dict[str, tuple[range, int]] = {
    **{name: (JALALI_YEARS, n) for name, n in JALALI_MONTHS.items()},
    **{name: (GREGORIAN_YEARS, n) for name, n in PERSIAN_GREGORIAN_MONTHS.items()},
    **{name: (GREGORIAN_YEARS, n) for name, n in ENGLISH_MONTHS.items()},
}
_DAY_MONTH_YEAR = re.compile(
    r"(?<![0-9])(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?\s*(?:[/\-]\s*)?"
    r"(?P<mon>" + alternation(_MONTH_NAMES) + r")(?:\s*ماه)?\.?(?![^\W\d_])"
    r",?\s*(?:[/\-]\s*)?(?P<y>[0-9]{4})(?![0-9])",
    re.IGNORECASE,
)


def _day_month_year(text: str) -> _Found | None:
    """``"۱۵ دی ۱۴۰۴ - ۰۹:۲۲"`` -> ``_Found(date(2026, 1, 5), time(9, 22))``

    The month name says the calendar, so its year must be in that calendar's range.
    """
    m = _DAY_MONTH_YEAR.search(text)
    if not m:
        return None
    years, month = _MONTH_NAMES[m["mon"].lower()]
    year = int(m["y"])
    day = to_gregorian(year, month, int(m["d"])) if year in years else None
    return _with_time(text, m, day)


# --- 4. English month first ----------------------------------------------------------------

_MONTH_DAY_YEAR = re.compile(
    r"(?<![A-Za-z])(?P<mon>" + alternation(ENGLISH_MONTHS) + r")\.?\s+(?P<d>[0-9]{1,2})"
    r"(?:st|nd|rd|th)?,?\s+(?P<y>[0-9]{4})(?![0-9])",
    re.IGNORECASE,
)


def _month_day_year(text: str) -> _Found | None:
    """``"August 22, 2025 10:00"`` -> ``_Found(date(2025, 8, 22), time(10, 0))``"""
    m = _MONTH_DAY_YEAR.search(text)
    if not m:
        return None
    year = int(m["y"])
    month = ENGLISH_MONTHS[m["mon"].lower()]
    day = gregorian(year, month, int(m["d"])) if year in GREGORIAN_YEARS else None
    return _with_time(text, m, day)


# --- 5. numeric dates ----------------------------------------------------------------------

_NUMERIC = re.compile(
    r"(?<![0-9])(?:"
    r"(?P<y>[0-9]{4})\s*(?P<sep>[/\-.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})"
    r"|(?P<d2>[0-9]{1,2})\s*(?P<sep2>[/\-.])\s*(?P<m2>[0-9]{1,2})\s*(?P=sep2)\s*(?P<y2>[0-9]{4})"
    r")(?![0-9])"
)


def _numeric(text: str) -> _Found | None:
    """``"تاریخ انتشار: ۰۷:۰۰ | ۱۴۰۴/۱۰/۱۵"`` -> ``_Found(date(2026, 1, 5), time(7, 0))``

    Year-last dates are read as day/month/year and only for Jalali years: that is how
    Persian sites print them, while a Gregorian ``08/09/2025`` could be either order.
    """
    m = _NUMERIC.search(text)
    if not m:
        return None
    if m["y"]:
        day = to_gregorian(int(m["y"]), int(m["m"]), int(m["d"]))
    elif int(m["y2"]) in JALALI_YEARS:
        day = to_gregorian(int(m["y2"]), int(m["m2"]), int(m["d2"]))
    else:
        return None  # an ambiguous Gregorian d/m/y or m/d/y: not a form we read
    return _with_time(text, m, day)


_HANDLERS: tuple[Callable[[str], _Found | None], ...] = (
    _iso8601,
    _rfc822,
    _day_month_year,
    _month_day_year,
    _numeric,
)
