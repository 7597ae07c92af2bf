"""How the web page shows things: Persian digits, Tehran time beside the Jalali date, marked
snippets. Pure functions (no clock, no database), used as Jinja filters.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
from markupsafe import Markup, escape

TEHRAN = ZoneInfo("Asia/Tehran")
# Private-use sentinels the search marks hits with; turned into <mark> after escaping, so a
# literal « or » in a Persian text (they are its quotation marks) is never mistaken for a hit.
MARK = ("\ue000", "\ue001")
_SENTINELS = re.compile("([\ue000\ue001])")
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
JALALI_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
                 "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")


def fa_digits(value: Any) -> str:
    """``"2025-08-22 14:30"`` -> ``"۲۰۲۵-۰۸-۲۲ ۱۴:۳۰"``; None -> ``""``."""
    return "" if value is None else str(value).translate(_FA_DIGITS)


def jalali_date(moment: datetime | date) -> str:
    """The Tehran calendar day in Jalali: ``2025-08-22T10:00Z`` -> ``"۳۱ مرداد ۱۴۰۴"``; a ``date``
    is taken as a Tehran day already."""
    day = moment.astimezone(TEHRAN).date() if isinstance(moment, datetime) else moment
    local = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{local.day} {JALALI_MONTHS[local.month - 1]} {local.year}")


def tehran_time(moment: datetime | None, time_known: bool = True) -> str:
    """Jalali date, Tehran clock time and the Gregorian date beside it:
    ``2025-08-22T10:00Z`` -> ``"۳۱ مرداد ۱۴۰۴، ساعت ۱۳:۳۰ (۲۰۲۵-۰۸-۲۲)"``.
    A date-only value (``time_known=False``) shows no clock time; None shows ``"—"``.
    """
    if moment is None:
        return "—"
    local = moment.astimezone(TEHRAN)
    clock = f"، ساعت {fa_digits(local.strftime('%H:%M'))}" if time_known else ""
    return f"{jalali_date(moment)}{clock} ({fa_digits(local.strftime('%Y-%m-%d'))})"


def iso(moment: datetime | None) -> str:
    """For ``<time datetime=...>`` and the JSON API: ISO 8601 in UTC."""
    return moment.isoformat() if moment else ""


def marked(snippet: str) -> Markup:
    """Escape a snippet and turn the search's hit sentinels into ``<mark>``:
    ``"a \\ue000<b>\\ue001"`` -> ``Markup('a <mark>&lt;b&gt;</mark>')``. Unbalanced sentinels
    (the text itself held one) never leave a tag open."""
    out, inside = [], False
    for part in _SENTINELS.split(snippet):
        if part == MARK[0]:
            out.append(Markup("") if inside else Markup("<mark>"))
            inside = True
        elif part == MARK[1]:
            out.append(Markup("</mark>") if inside else Markup(""))
            inside = False
        else:
            out.append(escape(part))
    if inside:
        out.append(Markup("</mark>"))
    return Markup("").join(out)


def plain_snippet(snippet: str) -> str:
    """The JSON API's snippet: hits marked «like this», as ``news-etl search`` prints them."""
    return snippet.replace(MARK[0], "«").replace(MARK[1], "»")


DATE_FLAGS = {
    "unparsed": "تاریخ منبع خوانده نشد",
    "future": "تاریخ منبع در آینده بود و پذیرفته نشد",
}


def time_basis(article: dict[str, Any]) -> str:
    """How the publication time is known, in Persian, from the article's row and ``meta``."""
    meta = article.get("meta") or {}
    flag = meta.get("date_flag")
    if article.get("published_at") is None:
        said = meta.get("published_raw") or meta.get("published_claimed")
        reason = DATE_FLAGS.get(flag, "منبع تاریخی نداشت")
        return f"{reason}: «{said}»" if said else reason
    if not article.get("published_time_known"):
        return "فقط روز انتشار معلوم است (ساعت در منبع نبود)"
    return "تاریخ و ساعت از منبع"
