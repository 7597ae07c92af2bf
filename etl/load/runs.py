"""``ingest_runs`` and ``ingest_errors``: what each run did and what it could not load.

A run row records the process that owns it (host, pid, the process's start time) in ``detail``,
so a run whose process was killed (``running`` forever) can be recognised and marked ``aborted``:
when the next run of that source starts, and by ``repair_runs`` (``news-etl runs --repair``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import Connection, bindparam, func, insert, select, update

from ..clean.controls import clean_controls
from ..errors import one_line
from ..models import ItemError, RunReport
from .chunks import chunks
from .schema import ingest_errors, ingest_runs, sources

EXCERPT_CHARS = 500


@dataclass(frozen=True, slots=True)
class Owner:
    """The process running a run. ``started`` (clock ticks since boot, from /proc) tells a reused
    pid from the original process; None where /proc is missing."""

    host: str
    pid: int
    started: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "started": self.started}


_OWNERS: dict[int, Owner] = {}  # by pid: a forked child is a process of its own


def this_process() -> Owner:
    """This process, read once (a feed pass starts a run per source; /proc and the host name
    do not change under it)."""
    pid = os.getpid()
    owner = _OWNERS.get(pid)
    if owner is None:
        owner = _OWNERS[pid] = Owner(socket.gethostname(), pid, _process_start(pid))
    return owner


def _process_start(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # Field 22 (starttime); the command name (field 2) may hold spaces, so split after it.
            return int(stat.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def process_alive(owner: dict[str, Any]) -> bool:
    """Whether the process recorded on a run row (``Owner.as_dict``) still runs on this host."""
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    started = owner.get("started")
    return started is None or _process_start(int(owner["pid"])) in (None, started)


def start_run(conn: Connection, kind: str, source_id: int | None, detail: dict[str, Any], now: datetime,
              owner: Owner | None = None) -> int:
    """A new ``running`` row; first, runs of the same source whose process is gone become ``aborted``."""
    owner = owner or this_process()
    if source_id is None:
        return conn.execute(
            insert(ingest_runs)
            .values(kind=kind, source_id=None, status="running", started_at=now,
                    detail={**detail, "process": owner.as_dict()})
            .returning(ingest_runs.c.id)
        ).scalar_one()
    return start_runs(conn, kind, [(source_id, detail, now)], owner)[0]


def start_runs(conn: Connection, kind: str, starts: Sequence[tuple[int, dict[str, Any], datetime]],
               owner: Owner | None = None) -> list[int]:
    """``start_run`` for many sources at once ((source id, detail, started at) each): one query
    for their dead runs and one insert; the new run ids, in the order given."""
    if not starts:
        return []
    owner = owner or this_process()
    abort_dead_runs(conn, max(at for _, _, at in starts), owner.host, source_ids=[sid for sid, _, _ in starts])
    process = owner.as_dict()
    rows = [{"kind": kind, "source_id": sid, "status": "running", "started_at": at,
             "detail": {**detail, "process": process}} for sid, detail, at in starts]
    result = conn.execute(insert(ingest_runs).returning(ingest_runs.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def abort_dead_runs(conn: Connection, now: datetime, host: str, source_id: int | None = None,
                    unowned: bool = False, alive: Callable[[dict[str, Any]], bool] = process_alive,
                    source_ids: Sequence[int] | None = None) -> list[int]:
    """Mark ``aborted`` the ``running`` runs whose process on ``host`` is gone; with ``unowned``,
    also those that name no process (written by an older news-etl). Runs of other hosts are left
    alone: their processes cannot be checked from here. Returns the ids marked."""
    query = (select(ingest_runs.c.id, ingest_runs.c.detail)
             .where(ingest_runs.c.status == "running").order_by(ingest_runs.c.id))
    if source_id is not None:
        query = query.where(ingest_runs.c.source_id == source_id)
    if source_ids is not None:
        query = query.where(ingest_runs.c.source_id.in_(bindparam("ids", expanding=True)))
    rows = (row for part in chunks(source_ids) for row in conn.execute(query, {"ids": part})) \
        if source_ids is not None else conn.execute(query)
    dead = []
    for run_id, detail in rows:
        owner = (detail or {}).get("process") if isinstance(detail, dict) else None
        if (owner is None and unowned) or (owner and owner.get("host") == host and not alive(owner)):
            dead.append(run_id)
    for part in chunks(dead):
        conn.execute(update(ingest_runs).where(ingest_runs.c.id.in_(part), ingest_runs.c.status == "running")
                     .values(status="aborted", error=f"aborted: its process was gone at {now.isoformat()}"))
    return dead


def repair_runs(conn: Connection, now: datetime) -> list[int]:
    """``news-etl runs --repair``: every run left ``running`` by a killed process becomes ``aborted``."""
    return abort_dead_runs(conn, now, socket.gethostname(), unowned=True)


def add_counts(conn: Connection, run_id: int, counts: dict[str, int]) -> None:
    """Add a batch's counts to its run, in the batch's own transaction."""
    values = {name: ingest_runs.c[name] + value for name, value in counts.items() if value}
    if values:
        conn.execute(update(ingest_runs).where(ingest_runs.c.id == run_id).values(values))


def record_errors(conn: Connection, run_id: int, source_id: int, errors: Iterable[ItemError], now: datetime) -> None:
    rows = [
        {"run_id": run_id, "source_id": source_id, "location": clean_controls(e.location),
         "reason": one_line(clean_controls(e.reason)), "excerpt": clean_controls(e.excerpt[:EXCERPT_CHARS]), "created_at": now}
        for e in errors
    ]
    if rows:
        conn.execute(insert(ingest_errors), rows)


def finish_run(conn: Connection, report: RunReport, now: datetime) -> None:
    finish_runs(conn, [(report, now)])


def run_status(report: RunReport) -> str:
    if report.error:
        return "failed"
    return "partial" if report.failed else "ok"


_FINISH = (update(ingest_runs).where(ingest_runs.c.id == bindparam("b_id"))
           .values(status=bindparam("b_status"), finished_at=bindparam("b_at", type_=ingest_runs.c.finished_at.type),
                   error=bindparam("b_error")))


def finish_runs(conn: Connection, finished: Sequence[tuple[RunReport, datetime]]) -> None:
    """Each run's status, end time and error, in one executemany (a statement built once)."""
    rows = [{"b_id": report.run_id, "b_status": run_status(report), "b_at": now,
             "b_error": one_line(clean_controls(report.error)) if report.error else None}
            for report, now in finished]
    if rows:
        conn.execute(_FINISH, rows)


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
