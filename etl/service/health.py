"""Is the service healthy? The database answers, and every enabled source has succeeded within
``factor`` times its slowest allowed interval, or is new and not yet due. For ``news-etl status``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ..config import DEFAULT_INTERVAL, parse_interval
from ..load.schema import sources
from ..pipeline import first_line
from .timing import MAX_INTERVAL_FACTOR

__all__ = ["Health", "check_health"]

DEFAULT_FACTOR = 3.0


@dataclass(slots=True)
class Health:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_health(engine: Engine, now: datetime, factor: float = DEFAULT_FACTOR) -> Health:
    health = Health()
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sources).where(sources.c.enabled, sources.c.in_config)).all()
    except SQLAlchemyError as exc:
        health.problems.append(f"database unreachable: {first_line(exc)}")
        return health
    for row in rows:
        health.checked += 1
        problem = source_problem(row, now, factor)
        if problem:
            health.problems.append(f"{row.name}: {problem}")
    return health


def source_problem(row: Any, now: datetime, factor: float) -> str | None:
    """Why this source row is unhealthy, or None."""
    allowance = timedelta(seconds=factor * _slowest_interval(row.settings or {}))
    if row.last_success_at is not None:
        if now - row.last_success_at <= allowance:
            return None
        return f"no successful run for {_ago(now - row.last_success_at)} (allowed {_ago(allowance)})" + _why(row)
    if now - row.created_at <= allowance:
        return None  # new, not yet due
    return f"never succeeded (configured {_ago(now - row.created_at)} ago)" + _why(row)


def _slowest_interval(settings: dict) -> int:
    interval = parse_interval(settings.get("interval", DEFAULT_INTERVAL))
    return max(interval, parse_interval(settings.get("max_interval", interval * MAX_INTERVAL_FACTOR)))


def _why(row: Any) -> str:
    return f"; {row.consecutive_failures} failure(s), last: {row.last_error}" if row.last_error else ""


def _ago(delta: timedelta) -> str:
    """``timedelta(seconds=3725) -> "1h02m"``"""
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
