"""The search form's fields -> a typed request; a bad field gets a one-line error naming it.

Same meaning as ``news-etl search``'s options: ``since``/``until`` take ISO or Jalali dates
(Persian, Arabic or ASCII digits), ``until`` is exclusive, the query language is the CLI's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..clean.dates import parse_date
from ..clean.text import normalize_text
from ..load.search import Filters

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 50  # search ranks at most 1,000 candidates; deeper pages would repeat the tail


class ParamError(ValueError):
    """A request parameter the page cannot use (the client's mistake; retrying will not help)."""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str
    filters: Filters
    page: int = 1
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def search_request(params: Mapping[str, str]) -> SearchRequest:
    """``{"q": "نخستوزیر", "since": "۱۴۰۴/۰۱/۰۱", "page": "2"}`` -> SearchRequest(...)."""
    agency = field_text(params, "agency")
    filters = Filters(source=field_text(params, "source"), agency=normalize_text(agency) if agency else None,
                      since=field_date(params, "since"), until=field_date(params, "until"))
    return SearchRequest(query=field_text(params, "q") or "", filters=filters,
                         page=field_number(params, "page", 1, MAX_PAGE),
                         size=field_number(params, "size", PAGE_SIZE, MAX_PAGE_SIZE))


def field_text(params: Mapping[str, str], name: str) -> str | None:
    value = (params.get(name) or "").strip()
    return value or None


def field_date(params: Mapping[str, str], name: str):
    value = field_text(params, name)
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ParamError(f"{name}: not a date: {value!r} (e.g. 2025-08-22 or ۱۴۰۴/۰۵/۳۱)")
    return parsed


def field_number(params: Mapping[str, str], name: str, default: int, highest: int) -> int:
    value = field_text(params, name)
    if value is None:
        return default
    try:
        number = int(value)  # int() reads Persian and Arabic-Indic digits too
    except ValueError:
        raise ParamError(f"{name}: not a number: {value!r}") from None
    if not 1 <= number <= highest:
        raise ParamError(f"{name}: must be between 1 and {highest}, got {number}")
    return number
