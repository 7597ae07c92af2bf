"""The JSON API's OpenAPI 3.1 description (served at /api/openapi.json).

Schemas are JSON Schema 2020-12, closed (``additionalProperties: false``), so a test that
validates every endpoint's answer against them catches a field added or renamed on one side.
"""

from __future__ import annotations

from typing import Any

from .. import __version__


def _nullable(kind: str, **extra) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required),
            "additionalProperties": False}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


TIME = _nullable("string", format="date-time")
INT = {"type": "integer"}
STR = {"type": "string"}

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": STR}),
    "Hit": _object({"id": INT, "source": STR, "title": STR, "url": _nullable("string"), "published_at": TIME,
                    "published_tehran": TIME, "snippet": {**STR, "description": "hits marked «like this»"},
                    "score": {"type": "number"}}),
    "Filters": _object({"source": _nullable("string"), "agency": _nullable("string"), "since": TIME, "until": TIME}),
    "SearchResult": _object({"query": STR, "filters": _ref("Filters"), "page": INT, "size": INT,
                             "has_more": {"type": "boolean"}, "results": {"type": "array", "items": _ref("Hit")}}),
    "Piece": _object({"kind": {"enum": ["same", "removed", "added", "gap"]}, "text": STR}),
    "Change": _object({"field": STR, "label": STR, "pieces": {"type": "array", "items": _ref("Piece")}}),
    "Revision": _object({"id": INT, "title": STR, "summary": _nullable("string"), "body": STR,
                         "url": _nullable("string"), "published_at": TIME, "stored_at": TIME, "replaced_at": TIME,
                         "changes": {"type": "array", "items": _ref("Change")}}),
    "Duplicate": _object({"id": INT, "source": STR, "title": STR, "published_at": TIME}),
    "Article": _object({
        "id": INT, "source": STR, "title": STR, "summary": _nullable("string"), "body": STR,
        "url": _nullable("string"), "agency": _nullable("string"), "published_at": TIME, "published_tehran": TIME,
        "published_time_known": {"type": "boolean"}, "time_basis": STR, "fetched_at": TIME, "updated_at": TIME,
        "cluster_id": _nullable("integer"), "meta": _nullable("object"),
        "revisions": {"type": "array", "items": _ref("Revision")},
        "duplicates": {"type": "array", "items": _ref("Duplicate")}}),
    "Source": _object({
        "name": STR, "kind": {"enum": ["feed", "files"]}, "url": _nullable("string"), "path": _nullable("string"),
        "enabled": {"type": "boolean"}, "in_config": {"type": "boolean"}, "articles": INT,
        "last_fetch_at": TIME, "last_success_at": TIME, "last_status": _nullable("integer"),
        "consecutive_failures": INT, "last_error": _nullable("string"), "next_attempt_at": TIME,
        "blocked_by": _nullable("string", description="the bot wall (its vendor) that answered the last pass "
                                                      "instead of the site"),
        "healthy": {"type": "boolean"}, "problem": _nullable("string")}),
    "Volume": _object({"source": STR, "days": {"type": "array", "items": _object(
        {"day": {"type": "string", "format": "date"}, "articles": INT})}}),
    "Sources": _object({"sources": {"type": "array", "items": _ref("Source")},
                        "volume": {"type": "array", "items": _ref("Volume"),
                                   "description": "articles per Tehran day, last 30 days, days with articles only"}}),
    "Run": _object({"id": INT, "kind": STR, "source": _nullable("string"),
                    "status": {"enum": ["running", "ok", "partial", "failed"]}, "started_at": TIME,
                    "finished_at": TIME, "seen": INT, "new": INT, "updated": INT, "unchanged": INT, "failed": INT,
                    "error": _nullable("string")}),
    "Runs": _object({"runs": {"type": "array", "items": _ref("Run")}}),
}


def _param(name: str, description: str, kind: str = "string", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": {"type": kind}}


def _answer(schema: str, description: str, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    json = lambda name: {"application/json": {"schema": _ref(name)}}  # noqa: E731
    responses = {"200": {"description": description, "content": json(schema)}}
    described = {400: "bad request (the message names the parameter)", 404: "not found",
                 503: "database unavailable; a retry may help"}
    responses.update({str(code): {"description": described[code], "content": json("Error")}
                      for code in (*errors, 503)})
    return responses


SEARCH_PARAMS = [
    _param("q", "words (all must match) and \"quoted phrases\"; any spelling variant matches", required=True),
    _param("source", "only this source"), _param("agency", "only articles whose lead names this agency"),
    _param("since", "published at or after (ISO or Jalali date)"),
    _param("until", "published before (ISO or Jalali date)"),
    _param("page", "page number, from 1", "integer"), _param("size", "hits per page (1-100, default 20)", "integer"),
]


def spec() -> dict[str, Any]:
    from . import openapi_research as research  # its schemas are built from the helpers above
    return {
        "openapi": "3.1.0",
        "info": {"title": "news-etl", "version": __version__,
                 "description": "Read-only access to the ingested Persian news (the same data as the web page)."},
        "paths": {
            "/api/search": {"get": {"summary": "search articles", "parameters": SEARCH_PARAMS,
                                    "responses": _answer("SearchResult", "ranked hits", (400,))}},
            "/api/articles/{id}": {"get": {
                "summary": "one article with its revisions and near-duplicates",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": INT}],
                "responses": _answer("Article", "the article", (404,))}},
            "/api/sources": {"get": {"summary": "sources with their state, unhealthy first, and daily volume",
                                     "responses": _answer("Sources", "the sources")}},
            "/api/runs": {"get": {"summary": "recent runs, newest first",
                                  "parameters": [_param("source", "only runs of this source"),
                                                 _param("limit", "how many (1-200, default 20)", "integer")],
                                  "responses": _answer("Runs", "the runs", (400,))}},
            **research.PATHS,
        },
        "components": {"schemas": {**SCHEMAS, **research.SCHEMAS}},
    }
