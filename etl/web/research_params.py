"""The analysis pages' fields -> the library's arguments; a bad field is a one-line error naming it.

Same meaning as the CLI's options: ``q`` (repeated for several queries), ``by``, ``calendar``,
``source`` (repeated), ``agency``, ``since``/``until`` (ISO or Jalali, ``until`` exclusive),
``limit``, ``sample``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clean.text import normalize_text
from ..load.search import Filters
from .params import ParamError, field_date, field_number, field_text

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
    agency = field_text(params, "agency")
    filters = Filters(sources=sources, agency=normalize_text(agency) if agency else None,
                      since=field_date(params, "since"), until=field_date(params, "until"))
    return Research(queries, filters, field_text(params, "by") or "day", field_text(params, "calendar") or "gregorian",
                    field_number(params, "limit", limit, MAX_LIMIT), field_number(params, "sample", 5000, MAX_SAMPLE))


def one_query(request: Research) -> str:
    if not request.queries:
        raise ParamError("q: missing (the words to search for)")
    if len(request.queries) > 1:
        raise ParamError(f"q: one query here, got {len(request.queries)}")
    return request.queries[0]
