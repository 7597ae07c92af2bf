"""Calendar pieces the date parsers share: digit and letter folding for Persian text,
month-name tables, and turning a (year, month, day) in either calendar into a Gregorian date.

Everything here is pure and returns ``None`` instead of raising on a bad date.
"""

from __future__ import annotations

import re
from datetime import date

import jdatetime

# A four-digit year says which calendar a numeric date is in: Persian sites print
# Jalali years (1300s/1400s), feeds print Gregorian ones. The ranges do not overlap.
JALALI_YEARS = range(1300, 1500)
GREGORIAN_YEARS = range(1900, 2200)

_FOLD = str.maketrans(
    {
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits ۰-۹
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits ٠-٩
        "ي": "ی",  # Arabic yeh, common in older Persian CMS output
        "ى": "ی",  # alef maksura, used as a dotless yeh
        "ك": "ک",  # Arabic kaf
        "ـ": None,  # tatweel stretches words visually but is not part of them
        "\u200c": " ",  # ZWNJ: keeps "ارديبهشت‌ماه"-style joins from gluing words
        "\u200f": None,  # RLM/LRM marks appear around numbers in RTL pages
        "\u200e": None,
        "٫": ".",  # Arabic decimal/date separator
        "٬": ",",
        "،": ",",
    }
)


def fold(text: str) -> str:
    """Fold the digits and letters dates are written with to one spelling.

    ``"۱۵ دي ۱۴۰۴"`` -> ``"15 دی 1404"``
    """
    return text.translate(_FOLD)


# Spellings seen on Persian sites, after fold() (so Arabic yeh/kaf variants are covered).
JALALI_MONTHS: dict[str, int] = {
    "فروردین": 1,
    "اردیبهشت": 2,
    "اردبهشت": 2,
    "خرداد": 3,
    "تیر": 4,
    "مرداد": 5,
    "امرداد": 5,
    "شهریور": 6,
    "مهر": 7,
    "آبان": 8,
    "ابان": 8,
    "آذر": 9,
    "اذر": 9,
    "دی": 10,
    "بهمن": 11,
    "اسفند": 12,
}

ENGLISH_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

# Gregorian months as Persian sites transliterate them ("۳ ژانویه ۲۰۲۶").
PERSIAN_GREGORIAN_MONTHS: dict[str, int] = {
    "ژانویه": 1,
    "ژانویهٔ": 1,
    "فوریه": 2,
    "مارس": 3,
    "آوریل": 4,
    "اوریل": 4,
    "مه": 5,
    "می": 5,
    "ژوئن": 6,
    "ژوین": 6,
    "ژوئیه": 7,
    "جولای": 7,
    "اوت": 8,
    "آگوست": 8,
    "اگوست": 8,
    "سپتامبر": 9,
    "اکتبر": 10,
    "نوامبر": 11,
    "دسامبر": 12,
}


def alternation(names: object) -> str:
    """A regex alternation of literal names, longest first so "امرداد" wins over "مرداد".

    ``["دی", "مهر"]`` -> ``"مهر|دی"``
    """
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))  # type: ignore[arg-type]


def to_gregorian(year: int, month: int, day: int) -> date | None:
    """The Gregorian date for a y/m/d whose calendar is told by the year's range.

    ``(1404, 10, 1)`` -> ``date(2025, 12, 22)``; ``(1404, 12, 30)`` -> ``None`` (not a leap year)
    """
    if year in JALALI_YEARS:
        return jalali_to_gregorian(year, month, day)
    if year in GREGORIAN_YEARS:
        return gregorian(year, month, day)
    return None


def jalali_to_gregorian(year: int, month: int, day: int) -> date | None:
    """``(1403, 12, 30)`` -> ``date(2025, 3, 20)``; an impossible Jalali date -> ``None``."""
    try:
        return jdatetime.date(year, month, day).togregorian()
    except ValueError:
        return None


def gregorian(year: int, month: int, day: int) -> date | None:
    """``(2025, 8, 22)`` -> ``date(2025, 8, 22)``; ``(2025, 2, 30)`` -> ``None``."""
    try:
        return date(year, month, day)
    except ValueError:
        return None
