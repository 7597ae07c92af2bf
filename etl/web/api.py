"""The JSON twins of the pages: the same data functions, serialized to what openapi.py describes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from .chart import SourceChart
from .data import SearchPage, SourcesPage
from .present import TEHRAN, plain_snippet, time_basis


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _tehran(value: datetime | None) -> str | None:
    return value.astimezone(TEHRAN).isoformat() if value else None


def search_json(page: SearchPage) -> dict[str, Any]:
    f = page.request.filters
    return {
        "query": page.request.query, "page": page.request.page, "size": page.request.size,
        "has_more": page.has_more,
        "filters": {"source": f.source, "agency": f.agency, "since": _time(f.since), "until": _time(f.until)},
        "results": [{"id": h.id, "source": h.source, "title": h.title, "url": h.url,
                     "published_at": _time(h.published_at), "published_tehran": _tehran(h.published_at),
                     "snippet": plain_snippet(h.snippet), "score": round(h.score, 6)} for h in page.hits],
    }


def article_json(article: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": article["id"], "source": article["source"], "title": article["title"],
        "summary": article["summary"], "body": article["body"], "url": article["url"],
        "agency": (article["meta"] or {}).get("agency"),
        "published_at": _time(article["published_at"]), "published_tehran": _tehran(article["published_at"]),
        "published_time_known": bool(article["published_time_known"]), "time_basis": time_basis(article),
        "fetched_at": _time(article["fetched_at"]), "updated_at": _time(article["updated_at"]),
        "cluster_id": article["cluster_id"], "meta": article["meta"],
        "revisions": [_revision(r) for r in article["revisions"]],
        "duplicates": [{"id": d["id"], "source": d["source"], "title": d["title"],
                        "published_at": _time(d["published_at"])} for d in article["cluster"]],
    }


def _revision(rev: dict[str, Any]) -> dict[str, Any]:
    return {"id": rev["id"], "title": rev["title"], "summary": rev["summary"], "body": rev["body"],
            "url": rev["url"], "published_at": _time(rev["published_at"]), "stored_at": _time(rev["stored_at"]),
            "replaced_at": _time(rev["replaced_at"]), "changes": [asdict(c) for c in rev["changes"]]}


SOURCE_FIELDS = ("name", "kind", "url", "path", "enabled", "in_config", "articles", "last_status",
                 "consecutive_failures", "last_error", "blocked_by", "healthy", "problem")
SOURCE_TIMES = ("last_fetch_at", "last_success_at", "next_attempt_at")


def sources_json(page: SourcesPage) -> dict[str, Any]:
    return {
        "sources": [{**{k: s[k] for k in SOURCE_FIELDS}, **{k: _time(s[k]) for k in SOURCE_TIMES}}
                    for s in page.sources],
        "volume": [_volume(c) for c in page.charts],
    }


def _volume(chart: SourceChart) -> dict[str, Any]:
    return {"source": chart.source,
            "days": [{"day": b.day.isoformat(), "articles": b.count} for b in sorted(chart.bars, key=lambda b: b.day)]}


RUN_FIELDS = ("id", "kind", "source", "status", "seen", "new", "updated", "unchanged", "failed", "error")


def runs_json(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"runs": [{**{k: r[k] for k in RUN_FIELDS}, "started_at": _time(r["started_at"]),
                      "finished_at": _time(r["finished_at"])} for r in runs]}
