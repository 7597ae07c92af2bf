"""One run life cycle for every task: start a run (its ``ingest_runs`` row), do the work, turn
whatever went wrong into a typed ``Failure``, and finish the run, with the pass's outcome on the
source row in the same transaction when the run is a scheduled pass. A run is never left
``running`` by an error in its work, and the report always says why it failed.

The work's own failures stop it by raising: a ``FetchError`` (network, HTTP status, parse,
blocked, limit), a ``SQLAlchemyError`` (database), an ``InputError`` (a local folder or file),
anything else is a bug (its traceback is logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ..config import Source
from ..fetch.errors import FetchError
from ..load.sources import FetchRecord, ensure_source
from ..models import Failure, RunReport
from .context import Context

__all__ = ["InputError", "Outcome", "Run", "perform"]

log = logging.getLogger("etl.tasks")
R = TypeVar("R", bound=RunReport)


class InputError(Exception):
    """Local input that cannot be read (a folder that vanished, a file without permission)."""


@dataclass(slots=True)
class Outcome:
    """What a pass puts on its source's row beside success or failure (``etl.load.sources``)."""

    status: int | None = None  # HTTP status of the feed
    validators: tuple[str | None, str | None] | None = None  # ETag, Last-Modified to store
    items: int = 0  # items seen
    warning: str | None = None  # a readable but malformed feed: kept as last_error on success


@dataclass(slots=True)
class Run:
    """The run a task's work writes into."""

    context: Context
    source: Source
    report: RunReport
    source_id: int
    row: Any  # the source's row when the run started (validators, state)
    outcome: Outcome = field(default_factory=Outcome)

    @property
    def engine(self):
        return self.context.engine


def perform(context: Context, source: Source, report: R, detail: dict[str, Any], work: Callable[[Run], None], *,
            record_pass: bool = False, in_config: bool = True) -> R:
    """Run ``work`` as one run of ``report.kind`` for ``source``. ``record_pass``: the run is a
    scheduled pass, whose outcome goes on the source row (failure count, last error, validators).
    A source without a row gets one now (``in_config`` False: not in the sources file, an ad-hoc backfill)."""
    try:
        run = _start(context, source, report, detail, in_config)
    except Exception as exc:  # no run row: nothing to finish, the report says why
        report.failure = failure_of(exc, source.name)
        return report
    try:
        work(run)
    except KeyboardInterrupt:
        report.failure = Failure.stopped()
        _finish(run, record_pass)
        raise
    except Exception as exc:
        report.failure = failure_of(exc, source.name)
    _finish(run, record_pass)
    return report


def failure_of(exc: Exception, source: str) -> Failure:
    """The typed failure of an exception that stopped a task's work."""
    if isinstance(exc, FetchError):
        return exc.failure
    if isinstance(exc, SQLAlchemyError):
        return Failure.database(exc)
    if isinstance(exc, InputError):
        return Failure("input", str(exc), transient=True)
    # A bug, or input nobody foresaw: this source fails, the others go on.
    log.error("unexpected error in a run of %s", source, exc_info=exc)
    return Failure.bug(exc)


def _start(context: Context, source: Source, report: RunReport, detail: dict[str, Any], in_config: bool) -> Run:
    now = context.now()
    started = context.writes.start(report.kind, source.name, detail, now)
    if started is None:  # not synced from the sources file: an ad-hoc backfill source, say
        with context.engine.begin() as conn:
            ensure_source(conn, source, now, in_config)
        started = context.writes.start(report.kind, source.name, detail, now)
    row, report.run_id = started
    return Run(context, source, report, row.id, row)


def _finish(run: Run, record_pass: bool) -> None:
    """The run's end (and the pass's outcome on the source row) in one transaction; when the
    database refuses the outcome, the run still ends (failed, saying why)."""
    report, now = run.report, run.context.now()
    # A database failure is not the source's: it does not count against it (etl/tasks/due.py).
    blamed = report.failure is None or report.failure.kind != "database"
    record = _record(run, now) if record_pass and blamed else None
    try:
        run.context.writes.finish(record, report, now)
        return
    except SQLAlchemyError as exc:
        report.failure = report.failure if record is None and report.failure else Failure.database(exc)
        if record is None:
            return
    try:
        run.context.writes.finish(None, report, now)
    except SQLAlchemyError:
        log.warning("cannot finish the run of %s", report.source, exc_info=True)


def _record(run: Run, now) -> FetchRecord:
    failure, outcome = run.report.failure, run.outcome
    if failure is not None:
        return FetchRecord(run.source_id, now, status=failure.status, ok=False, error=failure.message,
                           blocked_by=failure.blocked_by)
    return FetchRecord(run.source_id, now, status=outcome.status, ok=True, error=outcome.warning,
                       validators=outcome.validators, items=outcome.items)
