"""Is the service healthy? The database answers, and every enabled source is neither failing nor
late. For ``news-etl status`` (a supervisor's health check) and its ``--json``.

A source is *failing* when every attempt so far failed, or when its last ``tolerance`` passes in
a row failed; it is *late* when it has not succeeded within ``factor`` times its slowest allowed
interval (a new source is not late before it is due).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..config import DEFAULT_INTERVAL, parse_interval
from ..defaults import HEALTH_FACTOR, HEALTH_TOLERANCE
from ..errors import one_line
from ..load.schedule import STALLED_AFTER
from ..load.schema import sources
from ..errors import first_line
from .timing import MAX_INTERVAL_FACTOR

__all__ = ["Health", "QueueFigures", "ShardProgress", "SourceHealth", "check_health", "queue_figures",
           "shard_progress"]

DEFAULT_FACTOR = HEALTH_FACTOR
DEFAULT_TOLERANCE = HEALTH_TOLERANCE
LAST_ERROR = "last error: "


@dataclass(slots=True)
class SourceHealth:
    name: str
    kind: str
    ok: bool
    reason: str | None
    consecutive_failures: int
    last_success_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """The procrastinate queue, when the database has one (the procrastinate executor)."""

    waiting: int
    running: int
    oldest_waiting_seconds: float | None
    stalled: int
    workers: int

    def line(self) -> str:
        age = "" if self.oldest_waiting_seconds is None else f" (oldest {self.oldest_waiting_seconds:.0f}s)"
        return (f"queue: {self.waiting} waiting{age}, {self.running} running, {self.stalled} stalled, "
                f"{self.workers} worker(s)")


# Stalled: running on a worker whose heartbeat stopped (killed, machine lost); etl/executors/queue retries them.
_QUEUE = text("""
SELECT (SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo') AS waiting,
       (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing') AS running,
       (SELECT extract(epoch FROM :now - min(e.at)) FROM procrastinate_events e
          JOIN procrastinate_jobs j ON j.id = e.job_id WHERE j.status = 'todo' AND e.type = 'deferred') AS oldest,
       (SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
         WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat < :now - make_interval(secs => :after)))
         AS stalled,
       (SELECT count(*) FROM procrastinate_workers
         WHERE last_heartbeat >= :now - make_interval(secs => :after)) AS workers
""")


def _has_queue(conn: Connection) -> bool:
    """Whether this database holds procrastinate's tables (PostgreSQL with the queue installed)."""
    return conn.dialect.name == "postgresql" and inspect(conn).has_table("procrastinate_jobs")


def queue_figures(conn: Connection, now: datetime) -> QueueFigures | None:
    """None on SQLite or before the queue schema is installed (the local executor)."""
    if not _has_queue(conn):
        return None
    row = conn.execute(_QUEUE, {"now": now, "after": STALLED_AFTER}).one()
    oldest = None if row.oldest is None else max(0.0, float(row.oldest))
    return QueueFigures(row.waiting, row.running, oldest, row.stalled, row.workers)


@dataclass(frozen=True, slots=True)
class ShardProgress:
    """The queued backfill shards of one source (``backfill --queue``), by job status; finished
    jobs are kept for ``PURGE_HOURS`` (etl/executors/queue.py)."""

    waiting: int
    running: int
    done: int
    failed: int

    def line(self, source: str) -> str:
        total = self.waiting + self.running + self.done + self.failed
        return (f"queued backfill of {source}: {total} shard(s): {self.done} done, {self.running} running, "
                f"{self.waiting} waiting, {self.failed} failed")


_SHARDS = text("SELECT status, count(*) FROM procrastinate_jobs WHERE task_name = 'load_shard' "
               "AND args->>'source' = :source GROUP BY status")


def shard_progress(conn: Connection, source: str) -> ShardProgress | None:
    """None without the queue schema, or when no shard of ``source`` is in the queue."""
    if not _has_queue(conn):
        return None
    counts = dict(conn.execute(_SHARDS, {"source": source}).all())
    if not counts:
        return None
    return ShardProgress(counts.get("todo", 0), counts.get("doing", 0), counts.get("succeeded", 0),
                         sum(n for status, n in counts.items() if status not in ("todo", "doing", "succeeded")))


@dataclass(slots=True)
class Health:
    database_problem: str | None = None
    sources: list[SourceHealth] = field(default_factory=list)
    queue: QueueFigures | None = None

    @property
    def problems(self) -> list[str]:
        found = [f"database unreachable: {self.database_problem}"] if self.database_problem else []
        return found + [f"{s.name}: {s.reason}" for s in self.sources if not s.ok]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def checked(self) -> int:
        return len(self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.ok, "database_ok": self.database_problem is None,
                "database_problem": self.database_problem, "sources": [asdict(s) for s in self.sources],
                "queue": asdict(self.queue) if self.queue else None}


def check_health(engine: Engine, now: datetime, factor: float = DEFAULT_FACTOR,
                 tolerance: int = DEFAULT_TOLERANCE) -> Health:
    health = Health()
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sources).where(sources.c.enabled, sources.c.in_config)
                                .order_by(sources.c.name)).all()
            health.queue = queue_figures(conn, now)
    except SQLAlchemyError as exc:
        health.database_problem = first_line(exc)
        return health
    for row in rows:
        reason = source_problem(row, now, factor, tolerance)
        health.sources.append(SourceHealth(row.name, row.kind, reason is None, reason, row.consecutive_failures,
                                           row.last_success_at, one_line(row.last_error)))
    return health


def source_problem(row: Any, now: datetime, factor: float, tolerance: int = DEFAULT_TOLERANCE) -> str | None:
    """Why this source row is unhealthy (every reason that applies, one line), or None."""
    reasons = [r for r in (_lateness(row, now, factor), _failing(row, tolerance)) if r]
    if reasons and row.last_error:
        reasons.append(f"{LAST_ERROR}{one_line(row.last_error)}")
    return "; ".join(reasons) or None


def _failing(row: Any, tolerance: int) -> str | None:
    failures = row.consecutive_failures
    if failures >= tolerance:
        return f"{failures} failed passes in a row (tolerance {tolerance})"
    if failures and row.last_success_at is None:
        return f"every attempt so far failed ({failures})"
    return None


def _lateness(row: Any, now: datetime, factor: float) -> str | None:
    allowance = timedelta(seconds=factor * _slowest_interval(row.settings or {}))
    if row.last_success_at is not None:
        if now - row.last_success_at <= allowance:
            return None
        return f"no successful run for {_ago(now - row.last_success_at)} (allowed {_ago(allowance)})"
    if now - row.created_at <= allowance:
        return None  # new, not yet due
    return f"never succeeded (configured {_ago(now - row.created_at)} ago)"


def _slowest_interval(settings: dict) -> int:
    interval = parse_interval(settings.get("interval", DEFAULT_INTERVAL))
    return max(interval, parse_interval(settings.get("max_interval", interval * MAX_INTERVAL_FACTOR)))


def _ago(delta: timedelta) -> str:
    """``timedelta(seconds=3725) -> "1h02m"``"""
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
