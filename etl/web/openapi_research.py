"""The analysis endpoints' part of the OpenAPI description: /api/trends, /api/terms,
/api/outlets, /api/stories (the same JSON as the CLI's ``--json``)."""

from __future__ import annotations

from typing import Any

from .openapi import INT, STR, _answer, _nullable, _object, _param, _ref

NUMBER = {"type": "number"}
DAY = _nullable("string", format="date")

SCHEMAS: dict[str, Any] = {
    "Series": _object({"query": STR, "counts": {"type": "array", "items": INT},
                       "shares": {"type": "array", "items": NUMBER}}),
    "Trends": _object({
        "by": {"enum": ["day", "week", "month"]}, "calendar": {"enum": ["gregorian", "jalali"]},
        "periods": {"type": "array", "items": STR,
                    "description": "each period's label: 2026-01-08 or 1404-10-18 (a day, a week's first day), "
                                   "2026-01 or 1404-10 (a month); Tehran days, weeks from Saturday"},
        "totals": {"type": "array", "items": INT, "description": "all articles under the filters, per period"},
        "series": {"type": "array", "items": _ref("Series"),
                   "description": "per query: matching articles per period and their share of the total"}}),
    "TermRow": _object({"term": STR, "count": INT, "background": INT, "score": NUMBER}),
    "Terms": _object({"query": STR, "sample": INT, "every_match": {"type": "boolean"}, "background_sample": INT,
                      "terms": {"type": "array", "items": _ref("TermRow")}}),
    "Outlet": _object({"kind": {"enum": ["source", "agency"]}, "name": STR, "matches": INT, "articles": INT,
                       "share": NUMBER, "first": DAY, "last": DAY}),
    "Outlets": _object({"query": STR, "outlets": {"type": "array", "items": _ref("Outlet")}}),
    "Copy": _object({"id": INT, "source": STR, "published_at": {"type": "string", "format": "date-time"},
                     "delay_seconds": INT, "agency": _nullable("string"), "credits_first": {"type": "boolean"},
                     "title": STR}),
    "Story": _object({"cluster_id": INT, "title": STR, "outlets": INT, "first": _ref("Copy"),
                      "copies": {"type": "array", "items": _ref("Copy")}}),
    "Stories": _object({"stories": {"type": "array", "items": _ref("Story")}}),
}

FILTERS = [
    _param("source", "only this source (repeat for several)"),
    _param("agency", "only articles whose lead credits this agency"),
    _param("since", "published at or after (ISO or Jalali date)"),
    _param("until", "published before (ISO or Jalali date)"),
]
CALENDAR = _param("calendar", "gregorian (default) or jalali")
QUERY = _param("q", "a query as /api/search takes it", required=True)

PATHS: dict[str, Any] = {
    "/api/trends": {"get": {
        "summary": "attention over time: matching articles per period, all articles, the share; several queries",
        "parameters": [_param("q", "a query (repeat q for several, up to 10)", required=True),
                       _param("by", "day (default), week or month"), CALENDAR, *FILTERS],
        "responses": _answer("Trends", "one series per query, aligned on periods", (400,))}},
    "/api/terms": {"get": {
        "summary": "words and two-word phrases characteristic of the matching articles (weighted log-odds z)",
        "parameters": [QUERY, _param("limit", "how many terms (1-500, default 30)", "integer"),
                       _param("sample", "matching articles read at most, and as many others (default 5000)",
                              "integer"), *FILTERS],
        "responses": _answer("Terms", "the terms, most characteristic first", (400,))}},
    "/api/outlets": {"get": {
        "summary": "per source and per agency: matching articles, their share of the outlet's, first and last day",
        "parameters": [QUERY, *FILTERS],
        "responses": _answer("Outlets", "the outlets, sources first, most matches first", (400,))}},
    "/api/stories": {"get": {
        "summary": "stories most outlets carried: the first outlet, the others' delays and attribution",
        "parameters": [_param("limit", "how many stories (1-500, default 20)", "integer"), *FILTERS],
        "responses": _answer("Stories", "the stories, most outlets first", (400,))}},
}
