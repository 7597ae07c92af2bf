"""What a feed holds, measured on its items. Pure: items -> counts.

* **Persian or not**: an item (title and lead) is Persian when most of its letters are of the
  Arabic script and it is not Arabic: Arabic text writes none of پ چ ژ گ and shows ة or the article
  ال on many words. ``"خبرگزاری مهر گزارش داد"`` -> True; ``"الرئيس يزور المدينة"`` -> False;
  ``"Breaking news"`` -> False.
* **Full text or a lead**: the items' text is a whole article when their median length is at least
  1,500 characters (a Persian lead is one or two sentences, 150 to 400).
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Iterable

from ..clean.dates import parse_date
from ..clean.html import html_to_text
from ..models import RawItem

__all__ = ["FULL_TEXT_CHARS", "is_persian", "newest_date", "full_text", "persian_items"]

FULL_TEXT_CHARS = 1500
_PERSIAN_ONLY = frozenset("پچژگ")
_ARABIC_ONLY = frozenset("ة")


def _arabic_script(c: str) -> bool:
    return "\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufdff" or "\ufe70" <= c <= "\ufeff"


def is_persian(text: str) -> bool:
    """Whether ``text`` is written in Persian (see the module's docstring)."""
    letters = [c for c in text if c.isalpha()]
    if not letters or sum(map(_arabic_script, letters)) * 2 < len(letters):
        return False
    if _PERSIAN_ONLY.intersection(letters):
        return True
    words = text.split()
    arabic_articles = sum(1 for w in words if w.startswith("ال") and len(w) > 3)
    return not (_ARABIC_ONLY.intersection(letters) or arabic_articles * 4 >= max(1, len(words)))


def persian_items(items: Iterable[RawItem]) -> int:
    return sum(1 for item in items if is_persian(f"{item.title or ''} {_text(item.summary or item.body)[:500]}"))


def newest_date(items: Iterable[RawItem]) -> datetime | None:
    dates = [d for d in (parse_date(item.published) for item in items if item.published) if d is not None]
    return max(dates, default=None)


def full_text(items: list[RawItem]) -> bool | None:
    lengths = [len(_text(item.body)) for item in items if item.body]
    return statistics.median(lengths) >= FULL_TEXT_CHARS if lengths else None


def _text(value: str | None) -> str:
    return html_to_text(value or "")
