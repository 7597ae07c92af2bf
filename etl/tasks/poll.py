"""Poll one feed source (``etl.fetch_run.fetch_source``) and store when to poll it next.

The next attempt is computed exactly as the one-process service does (``etl.service.timing``:
backoff, quiet stretching, Retry-After) from what the ``sources`` row holds, and written back with
the lease dropped, so any worker on any machine continues the same schedule.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..config import Source
from ..fetch.http import ErrorKeeper, FetchError, HttpClient
from ..fetch_run import fetch_source
from ..load.schedule import release
from ..load.sources import source_row
from ..models import RunReport
from ..pipeline import Clock
from ..service.timing import Outcome, bounds_of, jitter_of, next_delay

__all__ = ["poll_source"]

MIN_DELAY = 0.05


def poll_source(engine: Engine, source: Source, client: HttpClient, now: Clock,
                uniform: Callable[[float, float], float] = random.uniform) -> RunReport:
    """One pass of ``source``; its row gets the next attempt and loses its lease, even on failure."""
    keeper = ErrorKeeper(client)
    report = fetch_source(engine, source, keeper, now)
    try:
        with engine.begin() as conn:
            row = source_row(conn, source.name)
            delay, healthy = _delay(source, row, report, keeper.pop_error(source.url))
            at = now() + timedelta(seconds=max(MIN_DELAY, delay + jitter_of(delay, uniform)))
            release(conn, row.id, at, delay if healthy else None)
    except SQLAlchemyError:
        # The lease runs out by itself and the source is claimed again then; the report says why.
        report.error = report.error or "database error while storing the next attempt"
    return report


def _delay(source: Source, row, report: RunReport, error: FetchError | None) -> tuple[float, bool]:
    """(seconds until the next attempt, whether it is a healthy delay to remember)."""
    bounds = bounds_of(source)
    if report.error and report.error.startswith("database error"):
        return bounds.interval, False  # not the source's fault: try again at its interval
    if report.error:
        outcome = Outcome(ok=False, failures=max(1, row.consecutive_failures),
                          retry_after=error.retry_after if error else None)
        return next_delay(bounds, 0, outcome), False
    previous = row.last_delay or bounds.interval
    return next_delay(bounds, previous, Outcome(ok=True, new=report.new)), True
