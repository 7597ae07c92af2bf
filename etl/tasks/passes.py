"""A source's scheduled pass, whatever its kind, and what comes after it: the next attempt.

``run_pass`` is what both executors run when a source is due: a feed is polled, a files source's
new files are loaded, a site is crawled for its last days. ``end_pass`` reads the state the pass
left on the source's row, asks the due policy (``etl.tasks.due``) for the next attempt and stores
it there. An executor only decides when and where; what a pass does and when the next one is due
are decided here, once.
"""

from __future__ import annotations

import random
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from ..config import Source
from ..load.schedule import due_state, store_due
from ..load.sources import record_fetch, source_row
from ..models import Failure, RunReport
from .context import Context
from .crawl import CrawlJob, crawl, scheduled_window
from .due import Due, State, next_attempt, timing_of
from .files import FileStat, files_pass
from .lifecycle import failure_of
from .poll import poll_feed

__all__ = ["end_pass", "record_failure", "run_pass", "scheduled_crawl"]


def run_pass(context: Context, source: Source,
             load_file: Callable[[FileStat], RunReport | None] | None = None) -> RunReport:
    """One pass of ``source``; it never raises for what goes wrong in it (the report's ``failure``
    says what). ``load_file``: how a files source's new files are loaded (default: here, one by
    one; the queue executor defers them to its workers)."""
    try:
        if source.kind == "feed":
            return poll_feed(context, source)
        if source.kind == "files":
            return files_pass(context, source, load_file)
        return crawl(context, CrawlJob(source, scheduled_window(source, context.now())))
    except Exception as exc:  # outside any run: a bug in the pass itself, still shown on the source
        report = RunReport(kind=source.kind, source=source.name)
        report.failure = failure_of(exc, source.name)
        record_failure(context, source, report.failure)
        return report


def scheduled_crawl(context: Context, source: Source) -> RunReport:
    """A feed source's crawl of its last ``crawl.days`` days (``crawl = {every, days}``), beside its polls."""
    return crawl(context, CrawlJob(source, scheduled_window(source, context.now())))


def end_pass(context: Context, source: Source, report: RunReport, previous: State | None = None,
             uniform: Callable[[float, float], float] = random.uniform) -> Due:
    """The next attempt after ``report``'s pass, stored on the source's row (its lease dropped).
    When the database cannot be read or written, the next attempt is computed from ``previous``
    (what the caller remembers) and the failure is a database one: the caller keeps it in memory."""
    timing, now = timing_of(source), context.now()
    try:
        with context.engine.begin() as conn:
            row = source_row(conn, source.name)
            state = _state(due_state(conn, row.id)) if row is not None else (previous or State())
            due = next_attempt(timing, state, report.failure, report.new, now, uniform)
            if row is not None:
                store_due(conn, row.id, due.at, due.state.healthy_delay, due.state.database_failures)
            return due
    except SQLAlchemyError as exc:
        failure = report.failure if report.failure and report.failure.kind == "database" else Failure.database(exc)
        return next_attempt(timing, previous or State(), failure, 0, now, uniform)


def record_failure(context: Context, source: Source, failure: Failure) -> None:
    """A failure outside a pass's own run, on the source row (failure count, last error)."""
    if failure.kind == "database":
        return  # the database is what failed: nothing can be recorded, and it is not the source's fault
    try:
        with context.engine.begin() as conn:
            row = source_row(conn, source.name)
            if row is not None:
                record_fetch(conn, row.id, context.now(), status=failure.status, ok=False, error=failure.message,
                             blocked_by=failure.blocked_by)
    except SQLAlchemyError:
        pass  # the next attempt is computed from memory (end_pass)


def _state(row) -> State:
    return State(row.consecutive_failures, row.last_delay, row.database_failures)
