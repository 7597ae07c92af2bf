"""Commands that load data or show how loading went: backfill, sources, runs, errors, db."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Source
from ..display import ProgressLine, fmt_time, to_json
from ..fetch.http import HttpClient
from ..fetch_run import run_fetch
from ..load.db import describe, make_engine
from ..load.migrate import schema_ddl, upgrade
from ..load.queries import source_overview
from ..load.runs import list_errors, list_runs
from ..models import RunReport
from ..pipeline import Backfill, run_backfill
from .common import PROG, UsageError, http_settings, open_db, settings_of, show_rows, utcnow


def cmd_backfill(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    engine, configured = open_db(args)
    source = next((s for s in configured if s.name == args.source), None)
    in_config = source is not None
    if source is None:
        source = Source(name=args.source, kind="files", path=str(paths[0]))
    if args.pattern:
        source = Source(**{**{n: getattr(source, n) for n in Source.__slots__}, "pattern": args.pattern})
    progress = ProgressLine(enabled=False if args.json or args.no_progress else None)
    job = Backfill(source=source, paths=paths, in_config=in_config, batch_size=args.batch_size)
    try:
        report = run_backfill(engine, job, utcnow, progress)
    finally:
        progress.close()
    if args.json:
        print(to_json(report.as_dict()))
    else:
        _explain(report)
        print(report.line())
    return 0 if report.ok else 1


def _explain(report) -> None:
    for error in report.errors:
        print(f"{PROG}: failed: {error.location}: {error.reason}", file=sys.stderr)
    if report.failed > len(report.errors):
        print(f"{PROG}: ... {report.failed - len(report.errors)} more; see `{PROG} errors --run {report.run_id}`",
              file=sys.stderr)
    if report.skipped:
        print(f"{PROG}: skipped {report.skipped} file(s) that are not article files", file=sys.stderr)
    if report.error:
        print(f"{PROG}: error: run {report.run_id} stopped: {report.error}", file=sys.stderr)


def cmd_sources(args: argparse.Namespace) -> int:
    return show_rows(
        args, source_overview,
        ["name", "kind", "enabled", "in config", "articles", "last fetch (Tehran)", "status",
         "failures", "next attempt", "last error"],
        lambda r: (r["name"], r["kind"], "yes" if r["enabled"] else "no", "yes" if r["in_config"] else "no",
                   r["articles"], fmt_time(r["last_fetch_at"]), r["last_status"], r["consecutive_failures"],
                   fmt_time(r["next_attempt_at"]), (r["last_error"] or "")[:60]))


def cmd_runs(args: argparse.Namespace) -> int:
    return show_rows(
        args, lambda conn: list_runs(conn, args.limit, args.source),
        ["id", "kind", "source", "status", "started (Tehran)", "took", "seen", "new", "updated",
         "unchanged", "failed", "error"],
        lambda r: (r["id"], r["kind"], r["source"], r["status"], fmt_time(r["started_at"]), _duration(r),
                   r["seen"], r["new"], r["updated"], r["unchanged"], r["failed"], (r["error"] or "")[:50]))


def _duration(row: dict) -> str:
    if not row["finished_at"]:
        return "-"
    return f"{(row['finished_at'] - row['started_at']).total_seconds():.1f}s"


def cmd_errors(args: argparse.Namespace) -> int:
    return show_rows(args, lambda conn: list_errors(conn, args.run, args.limit), ["run", "source", "location", "reason"],
                     lambda r: (r["run_id"], r["source"], r["location"], r["reason"][:80]))


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = make_engine(settings_of(args).database_url)
    result = upgrade(engine, utcnow())
    before = "empty" if result.from_version is None else f"version {result.from_version}"
    print(f"{describe(engine)}: schema version {result.to_version} (was {before})")
    return 0


def cmd_db_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_ddl())
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    engine, configured = open_db(args)
    feeds = _chosen_feeds(configured, args.names)
    with HttpClient(http_settings()) as client:
        reports = run_fetch(engine, feeds, client, utcnow, workers=settings_of(args).concurrency)
    if args.json:
        print(to_json({"sources": [r.as_dict() for r in reports], "total": _total(reports).as_dict()}))
    else:
        for report in reports:
            _explain(report)
            print(f"{report.source}: {report.line()}" + (f"  [failed: {report.error}]" if report.error else ""))
        if len(reports) > 1:
            print(f"total: {_total(reports).line()}")
    return 0 if all(r.ok for r in reports) else 1


def _chosen_feeds(configured: list[Source], names: list[str]) -> list[Source]:
    feeds = {s.name: s for s in configured if s.kind == "feed"}
    unknown = [n for n in names if n not in feeds]
    if unknown:
        raise UsageError(f"no feed source named {unknown[0]!r} in the sources file")
    chosen = [feeds[n] for n in names] if names else [s for s in feeds.values() if s.enabled]
    if not chosen:
        raise UsageError("no enabled feed sources in the sources file")
    return chosen


def _total(reports: list[RunReport]) -> RunReport:
    total = RunReport(kind="fetch", source="*")
    for report in reports:
        for name in ("seen", "new", "updated", "unchanged", "failed", "skipped"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.error:
            total.error = report.error
    return total
