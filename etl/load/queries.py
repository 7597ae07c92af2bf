"""Read-side queries the CLI shows (the same questions sql/queries.sql answers in SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from .schema import articles, ingest_runs, sources


def source_overview(conn: Connection) -> list[dict[str, Any]]:
    counts = (
        select(articles.c.source_id, func.count().label("articles"))
        .group_by(articles.c.source_id).subquery()
    )
    query = (
        select(sources, func.coalesce(counts.c.articles, 0).label("articles"))
        .select_from(sources.outerjoin(counts, counts.c.source_id == sources.c.id))
        .order_by(sources.c.name)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def latest_articles(conn: Connection, limit: int, source: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(articles.c.id, sources.c.name.label("source"), articles.c.published_at,
               articles.c.published_time_known, articles.c.title, articles.c.url)
        .join(sources, sources.c.id == articles.c.source_id)
        .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
        .limit(limit)
    )
    if source:
        query = query.where(sources.c.name == source)
    return [dict(row) for row in conn.execute(query).mappings()]


def run_exists(conn: Connection, run_id: int) -> bool:
    return conn.execute(select(ingest_runs.c.id).where(ingest_runs.c.id == run_id)).first() is not None
