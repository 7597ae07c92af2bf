"""What `news-etl status`, `runs` and the metrics read about the sources and the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Connection, bindparam, inspect, select, text

from .schedule import STALLED_AFTER
from .schema import sources

__all__ = ["QueueFigures", "QueuedProgress", "enabled_sources", "progress_lines", "queue_figures", "queued_progress",
           "waiting_jobs"]


def enabled_sources(conn: Connection) -> list[Any]:
    """The rows of the enabled sources of the sources file, by name."""
    return conn.execute(select(sources).where(sources.c.enabled, sources.c.in_config).order_by(sources.c.name)).all()


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
class QueuedProgress:
    """The queued jobs of one source's backfill (``backfill --queue``: shards) or crawl (``crawl
    --queue``: slices), by job status; finished jobs are kept for ``PURGE_HOURS`` (etl/executors/queue.py)."""

    what: str  # "backfill" or "crawl"
    unit: str  # "shard" or "slice"
    waiting: int
    running: int
    done: int
    failed: int

    def line(self, source: str) -> str:
        total = self.waiting + self.running + self.done + self.failed
        return (f"queued {self.what} of {source}: {total} {self.unit}(s): {self.done} done, {self.running} running, "
                f"{self.waiting} waiting, {self.failed} failed")


_TASKS = {"backfill": (("load_shard",), "shard"), "crawl": (("crawl_walk", "crawl_pages"), "slice")}
_QUEUED = text("SELECT status, count(*) FROM procrastinate_jobs WHERE task_name IN :tasks "
               "AND args->>'source' = :source GROUP BY status").bindparams(bindparam("tasks", expanding=True))


def queued_progress(conn: Connection, source: str, what: str) -> QueuedProgress | None:
    """None without the queue schema, or when no job of that kind for ``source`` is in the queue."""
    if not _has_queue(conn):
        return None
    tasks, unit = _TASKS[what]
    counts = dict(conn.execute(_QUEUED, {"source": source, "tasks": list(tasks)}).all())
    if not counts:
        return None
    return QueuedProgress(what, unit, counts.get("todo", 0), counts.get("doing", 0), counts.get("succeeded", 0),
                          sum(n for status, n in counts.items() if status not in ("todo", "doing", "succeeded")))


def waiting_jobs(conn: Connection, queue: str) -> int:
    """Jobs of ``queue`` deferred and not started yet (the partial index on status = 'todo' answers it)."""
    return conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = :q"),
                        {"q": queue}).scalar()


def progress_lines(conn: Connection, source: str) -> Sequence[str]:
    """A line for each kind of queued work of ``source`` (a backfill, a crawl) in the queue."""
    found = (queued_progress(conn, source, what) for what in _TASKS)
    return [progress.line(source) for progress in found if progress is not None]
