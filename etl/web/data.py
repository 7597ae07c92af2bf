"""What each page shows, gathered from the library's read functions (the CLI's own); the HTML
page and its JSON twin call the same function here, so they cannot disagree. No SQL here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from ..load.queries import articles_per_day, source_overview
from ..load.runs import list_errors, list_runs
from ..load.search import Hit, excerpt_of, get_article, search
from ..load.watches import latest_hits, watch_overview
from ..watches.atom import render_atom
from ..health import DEFAULT_FACTOR, source_problem
from .changes import changes
from .chart import SourceChart, charts, window
from .params import SearchRequest
from .present import MARK

RECENT_RUNS = 20
RECENT_ERRORS = 20


@dataclass(frozen=True, slots=True)
class SearchPage:
    request: SearchRequest
    hits: list[Hit]
    has_more: bool


def search_page(conn: Connection, request: SearchRequest) -> SearchPage:
    """One page of hits; one more than the page is asked for, to know whether a next page exists."""
    hits = search(conn, request.query, request.filters, limit=request.offset + request.size + 1, mark=MARK)
    page = hits[request.offset:request.offset + request.size]
    return SearchPage(request, page, len(hits) > request.offset + request.size)


def article_view(conn: Connection, article_id: int) -> dict[str, Any] | None:
    """``get_article`` plus, for each revision, what the next version changed."""
    article = get_article(conn, article_id)
    if article is None:
        return None
    newer: dict[str, Any] = article
    for revision in article["revisions"]:  # newest first: each was replaced by the one before it
        revision["changes"] = changes(revision, newer)
        newer = revision
    return article


@dataclass(frozen=True, slots=True)
class SourcesPage:
    sources: list[dict[str, Any]]
    charts: list[SourceChart]
    runs: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def sources_page(conn: Connection, now: datetime) -> SourcesPage:
    rows = sources_state(conn, now)
    days, start, end = window(now)
    volume = charts(articles_per_day(conn, start, end), days, [r["name"] for r in rows])
    return SourcesPage(rows, volume, list_runs(conn, RECENT_RUNS), list_errors(conn, limit=RECENT_ERRORS))


def sources_state(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Every source with its fetch state and ``problem`` (as ``news-etl status`` judges it),
    the unhealthy ones first."""
    rows = []
    for row in source_overview(conn):
        checked = row["enabled"] and row["in_config"]
        row["problem"] = source_problem(SimpleNamespace(**row), now, DEFAULT_FACTOR) if checked else None
        row["healthy"] = row["problem"] is None and not row["consecutive_failures"]
        rows.append(row)
    return sorted(rows, key=lambda r: (r["healthy"], -r["consecutive_failures"], r["name"]))


LATEST_HITS = 10  # on the watches page, per watch
FEED_HITS = 50  # in a watch's Atom feed


def watches_page(conn: Connection) -> list[dict[str, Any]]:
    """Every watch with its hit counts, deliveries and latest hits (``news-etl watches``'s data);
    the webhook address is not shown (its path often holds its secret)."""
    rows = watch_overview(conn)
    for row in rows:
        row.pop("webhook", None)
        row.pop("email", None)
        row["latest"] = latest_hits(conn, row["name"], LATEST_HITS) or []
    return rows


def watch_feed(conn: Connection, name: str, self_url: str, now: datetime) -> bytes | None:
    """A watch's newest hits as Atom; None when there is no such watch."""
    hits = latest_hits(conn, name, FEED_HITS)
    if hits is None:
        return None
    query = next((w["query"] for w in watch_overview(conn) if w["name"] == name), "")
    return render_atom(name, query, hits, self_url, now, snippet=lambda hit: excerpt_of(hit, query).text)
