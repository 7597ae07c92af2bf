"""The bookkeeping writes of runs (a run's start, a source's outcome and the run's end),
group-committed: with many sources polled at once, one transaction carries those of all of them
that are waiting, instead of three transactions per source (``groupcommit``).

A run's caller gets a write back only once it is committed, so the rows are the same, written at
the same points of each run, as with a transaction per write. Every run of every task starts and
ends here (``etl.tasks.lifecycle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Connection, Engine

from ..models import RunReport
from .groupcommit import GroupCommit
from .runs import finish_runs, start_runs
from .sources import FetchRecord, record_fetches, source_rows

__all__ = ["RunWrites"]


@dataclass(frozen=True, slots=True)
class _Start:
    kind: str
    name: str
    detail: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class _Finish:
    record: FetchRecord | None  # the outcome on the source row, when there is one to store
    run_id: int | None
    report: RunReport
    at: datetime


class RunWrites:
    """Shared by the threads of a pass (or of an executor); safe to use from any thread."""

    def __init__(self, engine: Engine) -> None:
        self._group: GroupCommit = GroupCommit(engine, _write)

    def start(self, kind: str, name: str, detail: dict[str, Any], at: datetime) -> tuple[Any, int] | None:
        """(the source's row, a new ``running`` run id); None when ``name`` has no row."""
        return self._group.submit(_Start(kind, name, detail, at))

    def finish(self, record: FetchRecord | None, report: RunReport, at: datetime) -> None:
        """The outcome on the source row and the run's end, in one transaction. The report is
        read now: it must be complete."""
        self._group.submit(_Finish(record, report.run_id, _frozen(report), at))


def _frozen(report: RunReport) -> RunReport:
    # finish_runs reads the status fields only; a copy keeps a later change out of the batch.
    return RunReport(kind=report.kind, source=report.source, run_id=report.run_id, failed=report.failed,
                     failure=report.failure)


def _write(conn: Connection, items: Sequence[_Start | _Finish]) -> list:
    starts = [i for i in items if isinstance(i, _Start)]
    finishes = [i for i in items if isinstance(i, _Finish)]
    started: dict[int, tuple[Any, int]] = {}
    if starts:
        rows = source_rows(conn, [s.name for s in starts])
        for kind in sorted({s.kind for s in starts}):
            found = [s for s in starts if s.kind == kind and s.name in rows]
            run_ids = start_runs(conn, kind, [(rows[s.name].id, s.detail, s.at) for s in found])
            started.update({id(s): (rows[s.name], run_id) for s, run_id in zip(found, run_ids)})
    record_fetches(conn, [f.record for f in finishes if f.record is not None])
    finish_runs(conn, [(f.report, f.at) for f in finishes if f.run_id is not None])
    return [started.get(id(i)) for i in items]
