"""The analysis pages' fields -> the library's arguments; a bad field is a one-line error naming it.

Same meaning as the CLI's options: ``q`` (repeated for several queries), ``by``, ``calendar``,
``source`` (repeated), ``agency``, ``since``/``until`` (ISO or Jalali, ``until`` exclusive),
``limit``, ``sample``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clean.dates import parse_date
from ..clean.text import normalize_text
from ..load.search import Filters
from .params import ParamError

MAX_LIMIT = 500
MAX_SAMPLE = 50_000


@dataclass(frozen=True, slots=True)
class Research:
    queries: tuple[str, ...]
    filters: Filters
    by: str = "day"
    calendar: str = "gregorian"
    limit: int = 30
    sample: int = 5000


def research_request(params: Any, limit: int = 30) -> Research:
    """``q=نفت&q=گاز&by=month&calendar=jalali&source=fars`` -> Research(...). ``params`` is a
    Starlette QueryParams (several values per name)."""
    queries = tuple(q.strip() for q in params.getlist("q") if q.strip())
    sources = tuple(s.strip() for s in params.getlist("source") if s.strip())
    agency = _text(params, "agency")
    filters = Filters(sources=sources, agency=normalize_text(agency) if agency else None,
                      since=_date(params, "since"), until=_date(params, "until"))
    return Research(queries, filters, _text(params, "by") or "day", _text(params, "calendar") or "gregorian",
                    _number(params, "limit", limit, MAX_LIMIT), _number(params, "sample", 5000, MAX_SAMPLE))


def _text(params: Any, name: str) -> str | None:
    value = (params.get(name) or "").strip()
    return value or None


def _date(params: Any, name: str):
    value = _text(params, name)
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ParamError(f"{name}: not a date: {value!r} (e.g. 2025-08-22 or ۱۴۰۴/۰۵/۳۱)")
    return parsed


def _number(params: Any, name: str, default: int, highest: int) -> int:
    value = _text(params, name)
    if value is None:
        return default
    try:
        number = int(value)  # int() reads Persian and Arabic-Indic digits too
    except ValueError:
        raise ParamError(f"{name}: not a number: {value!r}") from None
    if not 1 <= number <= highest:
        raise ParamError(f"{name}: must be between 1 and {highest}, got {number}")
    return number


def one_query(request: Research) -> str:
    if not request.queries:
        raise ParamError("q: missing (the words to search for)")
    if len(request.queries) > 1:
        raise ParamError(f"q: one query here, got {len(request.queries)}")
    return request.queries[0]
