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

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .config import DEFAULT_INTERVAL, parse_interval
from .defaults import HEALTH_FACTOR, HEALTH_TOLERANCE
from .errors import first_line, one_line
from .load.health import QueueFigures, enabled_sources, queue_figures
from .load.watches import failing_deliveries

__all__ = ["Health", "SourceHealth", "check_health", "source_problem"]

DEFAULT_FACTOR = HEALTH_FACTOR
DEFAULT_TOLERANCE = HEALTH_TOLERANCE
LAST_ERROR = "last error: "
MAX_INTERVAL_FACTOR = 4  # etl.tasks.due's default max_interval: 4x the interval


@dataclass(slots=True)
class SourceHealth:
    name: str
    kind: str
    ok: bool
    reason: str | None
    consecutive_failures: int
    last_success_at: datetime | None
    last_error: str | None
    blocked_by: str | None = None  # the bot wall that answered its last pass


@dataclass(slots=True)
class Health:
    database_problem: str | None = None
    sources: list[SourceHealth] = field(default_factory=list)
    queue: QueueFigures | None = None
    # Watch channels whose latest finished delivery failed (etl/load/watches.failing_deliveries).
    watches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [f"database unreachable: {self.database_problem}"] if self.database_problem else []
        return found + [f"{s.name}: {s.reason}" for s in self.sources if not s.ok] + [
            f"watch {w['watch']}: {w['channel']}: {w['failed']} delivery(ies) failed; {LAST_ERROR}"
            f"{one_line(w['last_error'])}" for w in self.watches]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def checked(self) -> int:
        return len(self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.ok, "database_ok": self.database_problem is None,
                "database_problem": self.database_problem, "sources": [asdict(s) for s in self.sources],
                "queue": asdict(self.queue) if self.queue else None, "watches": self.watches}


def check_health(engine: Engine, now: datetime, factor: float = DEFAULT_FACTOR,
                 tolerance: int = DEFAULT_TOLERANCE) -> Health:
    health = Health()
    try:
        with engine.connect() as conn:
            rows = enabled_sources(conn)
            health.queue = queue_figures(conn, now)
            health.watches = failing_deliveries(conn)
    except SQLAlchemyError as exc:
        health.database_problem = first_line(exc)
        return health
    for row in rows:
        reason = source_problem(row, now, factor, tolerance)
        health.sources.append(SourceHealth(row.name, row.kind, reason is None, reason, row.consecutive_failures,
                                           row.last_success_at, one_line(row.last_error),
                                           getattr(row, "blocked_by", None)))
    return health


def source_problem(row: Any, now: datetime, factor: float, tolerance: int = DEFAULT_TOLERANCE) -> str | None:
    """Why this source row is unhealthy (every reason that applies, one line), or None."""
    reasons = [r for r in (_blocked(row), _lateness(row, now, factor), _failing(row, tolerance)) if r]
    if reasons and row.last_error:
        reasons.append(f"{LAST_ERROR}{one_line(row.last_error)}")
    return "; ".join(reasons) or None


def _blocked(row: Any) -> str | None:
    """A wall needs a person (a proxy, a word with the outlet): unhealthy from its first pass on."""
    vendor = getattr(row, "blocked_by", None)
    if not vendor:
        return None
    by = "a bot wall of unknown vendor" if vendor == "unknown" else f"{vendor}'s bot wall"
    return f"blocked: {by} answers instead of the site (README: Bot walls)"


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
    interval = _seconds(settings.get("interval"), DEFAULT_INTERVAL)
    return max(interval, _seconds(settings.get("max_interval"), interval * MAX_INTERVAL_FACTOR))


def _seconds(value: Any, default: int) -> int:
    """A stored setting in seconds; one that a hand edit or an older version left unreadable counts
    as the default rather than stopping the check."""
    try:
        return parse_interval(value) if value is not None else default
    except ValueError:
        return default


def _ago(delta: timedelta) -> str:
    """``timedelta(seconds=3725) -> "1h02m"``"""
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
