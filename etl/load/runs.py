"""``ingest_runs`` and ``ingest_errors``: what each run did and what it could not load."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Connection, func, insert, select, update

from ..errors import one_line
from ..models import ItemError, RunReport
from .schema import ingest_errors, ingest_runs, sources

EXCERPT_CHARS = 500


def start_run(conn: Connection, kind: str, source_id: int | None, detail: dict[str, Any], now: datetime) -> int:
    return conn.execute(
        insert(ingest_runs)
        .values(kind=kind, source_id=source_id, status="running", started_at=now, detail=detail)
        .returning(ingest_runs.c.id)
    ).scalar_one()


def add_counts(conn: Connection, run_id: int, counts: dict[str, int]) -> None:
    """Add a batch's counts to its run, in the batch's own transaction."""
    values = {name: ingest_runs.c[name] + value for name, value in counts.items() if value}
    if values:
        conn.execute(update(ingest_runs).where(ingest_runs.c.id == run_id).values(values))


def record_errors(conn: Connection, run_id: int, source_id: int, errors: Iterable[ItemError], now: datetime) -> None:
    rows = [
        {"run_id": run_id, "source_id": source_id, "location": e.location, "reason": one_line(e.reason),
         "excerpt": e.excerpt[:EXCERPT_CHARS], "created_at": now}
        for e in errors
    ]
    if rows:
        conn.execute(insert(ingest_errors), rows)


def finish_run(conn: Connection, report: RunReport, now: datetime) -> None:
    if report.error:
        status = "failed"
    elif report.failed:
        status = "partial"
    else:
        status = "ok"
    conn.execute(
        update(ingest_runs).where(ingest_runs.c.id == report.run_id)
        .values(status=status, finished_at=now, error=one_line(report.error))
    )


def list_runs(conn: Connection, limit: int = 20, source: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(ingest_runs, sources.c.name.label("source"))
        .select_from(ingest_runs.outerjoin(sources, sources.c.id == ingest_runs.c.source_id))
        .order_by(ingest_runs.c.id.desc()).limit(limit)
    )
    if source:
        query = query.where(sources.c.name == source)
    return [dict(row) for row in conn.execute(query).mappings()]


def list_errors(conn: Connection, run_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    query = (
        select(ingest_errors, sources.c.name.label("source"))
        .join(sources, sources.c.id == ingest_errors.c.source_id)
        .order_by(ingest_errors.c.id.desc()).limit(limit)
    )
    if run_id is not None:
        query = query.where(ingest_errors.c.run_id == run_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def count_errors(conn: Connection, run_id: int) -> int:
    return conn.execute(select(func.count()).where(ingest_errors.c.run_id == run_id)).scalar_one()
