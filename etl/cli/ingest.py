"""Commands that load data or show how loading went: backfill, sources, runs, errors, db."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Source
from ..display import ProgressLine, fmt_time, to_json
from ..errors import one_line
from ..fetch.http import HttpClient
from ..fetch_run import run_fetch
from ..load.db import describe
from ..load.migrate import schema_ddl, upgrade
from ..load.queries import run_exists, source_overview
from ..load.runs import list_errors, list_runs, repair_runs
from ..models import RunReport
from ..service.health import shard_progress
from ..pipeline import Backfill, run_backfill
from .common import (EXIT_FAILED, EXIT_OK, PROG, NotFound, UsageError, connect, http_settings, open_db, quiet,
                     settings_of, show_rows, utcnow)


def cmd_backfill(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    if not any(p.exists() for p in paths):
        raise UsageError(f"no such file or directory: {', '.join(map(str, paths))}")
    if args.queue:
        return _queue_backfill(args, paths)
    # Missing paths among existing ones are not fatal: the run records each as a failed item
    # (named in the report and in `errors --run`) and loads the rest, exit 1.
    engine, configured = open_db(args)
    source = next((s for s in configured if s.name == args.source), None)
    in_config = source is not None
    if source is None:
        # An ad-hoc source still reads attributions with the sources file's [agencies].
        agencies = configured[0].agencies if configured else ()
        source = Source(name=args.source, kind="files", path=str(next(p for p in paths if p.exists())),
                        agencies=agencies)
    if args.pattern:
        source = Source(**{**{n: getattr(source, n) for n in Source.__slots__}, "pattern": args.pattern})
    quiet_progress = args.json or args.no_progress or quiet(args)
    progress = ProgressLine(enabled=False if quiet_progress else None)
    job = Backfill(source=source, paths=paths, in_config=in_config, batch_size=args.batch_size,
                   workers=args.workers, reclean=args.reclean)
    try:
        report = run_backfill(engine, job, utcnow, progress)
    finally:
        progress.close()
    _print_report(args, report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _queue_backfill(args: argparse.Namespace, paths: list[Path]) -> int:
    """Defer the shards and return; the workers load them (each shard is one backfill run)."""
    from ..executors.queue import conninfo_of, defer_shards, ensure_queue_schema, make_app
    from ..tasks import shards_of
    settings = settings_of(args)
    try:
        conninfo = conninfo_of(settings.database_url)
    except ValueError as exc:
        raise UsageError(f"--queue: {exc}; load here without --queue") from None
    engine, _ = open_db(args)
    ensure_queue_schema(engine)
    engine.dispose()
    app = make_app(conninfo, None)
    with app.open():
        shards = shards_of(paths, args.files_per_shard, args.shard_size, args.pattern)
        count = defer_shards(app, args.source, shards, args.pattern, args.batch_size)
    print(f"{PROG}: deferred {count} shard(s) of {args.source} to the queue; `{PROG} runs --source {args.source}` "
          "shows their progress")
    return EXIT_OK


def _print_report(args: argparse.Namespace, report: RunReport) -> None:
    if args.json:
        print(to_json(_one_line_report(report)))
        return
    if not quiet(args):
        _explain(report)
    print(report.line())


def _one_line_report(report: RunReport) -> dict:
    data = report.as_dict()
    data["error"] = one_line(data["error"])
    for error in data["errors"]:
        error["reason"] = one_line(error["reason"])
    return data


def _explain(report: RunReport) -> None:
    """Each failure and each skipped file by name, on stderr; the counts go to stdout."""
    for error in report.errors:
        print(f"{PROG}: failed: {error.location}: {one_line(error.reason)}", file=sys.stderr)
    if report.failed > len(report.errors):
        print(f"{PROG}: ... {report.failed - len(report.errors)} more; see `{PROG} errors --run {report.run_id}`",
              file=sys.stderr)
    for skipped in report.skipped_files:
        print(f"{PROG}: skipped: {skipped.location}: {skipped.reason}", file=sys.stderr)
    if report.skipped > len(report.skipped_files):
        print(f"{PROG}: skipped {report.skipped - len(report.skipped_files)} more file(s) that are not article files",
              file=sys.stderr)
    if report.error:
        print(f"{PROG}: error: run {report.run_id} stopped: {one_line(report.error)}", file=sys.stderr)


def cmd_sources(args: argparse.Namespace) -> int:
    return show_rows(
        args, source_overview,
        ["name", "kind", "on", "articles", "fetched (Tehran)", "fails", "next (Tehran)", "last error"],
        lambda r: (r["name"], r["kind"], _state(r), r["articles"], fmt_time(r["last_fetch_at"]),
                   r["consecutive_failures"], fmt_time(r["next_attempt_at"]), one_line(r["last_error"]) or ""),
        shrink=(0,), detail=True)


def _state(row: dict) -> str:
    """``on``: yes, no (disabled), or gone (no longer in the sources file, or ad hoc from a backfill)."""
    if not row["in_config"]:
        return "gone"
    return "yes" if row["enabled"] else "no"


def cmd_runs(args: argparse.Namespace) -> int:
    if getattr(args, "repair", False):
        engine, _ = open_db(args)
        with engine.begin() as conn:
            aborted = repair_runs(conn, utcnow())
        print(f"{PROG}: marked {len(aborted)} run(s) aborted" + (f": {', '.join(map(str, aborted))}" if aborted else ""),
              file=sys.stderr)
    return show_rows(
        args, lambda conn: list_runs(conn, args.limit, args.source),
        ["id", "kind", "source", "status", "started (Tehran)", "took", "seen", "new", "upd", "same", "fail", "error"],
        lambda r: (r["id"], r["kind"], r["source"], r["status"], fmt_time(r["started_at"]), _duration(r),
                   r["seen"], r["new"], r["updated"], r["unchanged"], r["failed"], one_line(r["error"]) or ""),
        shrink=(2, 1, 3), detail=True, heading=_shards_heading(args.source))


def _shards_heading(source: str | None):
    """With --source: how far a queued backfill of it has got across the workers (one run per shard)."""
    def heading(conn) -> str | None:
        progress = shard_progress(conn, source) if source else None
        return progress.line(source) if progress else None
    return heading


def _duration(row: dict) -> str:
    if not row["finished_at"]:
        return "-"
    return f"{(row['finished_at'] - row['started_at']).total_seconds():.1f}s"


def cmd_errors(args: argparse.Namespace) -> int:
    def read(conn):
        if args.run is not None and not run_exists(conn, args.run):
            raise NotFound(f"no run with id {args.run} (see `{PROG} runs`)")
        return list_errors(conn, args.run, args.limit)
    return show_rows(args, read, ["run", "source", "location", "reason"],
                     lambda r: (r["run_id"], r["source"], r["location"], one_line(r["reason"])),
                     shrink=(2, 1), detail=True)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = connect(settings_of(args), notice=not quiet(args))
    result = upgrade(engine, utcnow())
    before = "empty" if result.from_version is None else f"version {result.from_version}"
    print(f"{describe(engine)}: schema version {result.to_version} (was {before})")
    if engine.dialect.name == "postgresql":
        from ..executors.queue import ensure_queue_schema  # procrastinate is loaded only for PostgreSQL
        queue = ensure_queue_schema(engine)
        if queue.installed:
            print(f"{describe(engine)}: procrastinate queue schema installed")
        if queue.applied:
            print(f"{describe(engine)}: procrastinate migrations applied: {', '.join(queue.applied)}")
        if queue.assumed_current:
            print(f"{describe(engine)}: procrastinate schema found without queue_migrations; recorded as "
                  "this procrastinate's version (news-etl installed it from the package's schema.sql)")
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
        print(to_json({"sources": [_one_line_report(r) for r in reports], "total": _total(reports).as_dict()}))
    else:
        for report in reports:
            if not quiet(args):
                _explain(report)
            print(f"{report.source}: {report.line()}" + (f"  [failed: {one_line(report.error)}]" if report.error else ""))
        if len(reports) > 1:
            print(f"total: {_total(reports).line()}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _chosen_feeds(configured: list[Source], names: list[str]) -> list[Source]:
    feeds = {s.name: s for s in configured if s.kind == "feed"}
    others = {s.name: s for s in configured if s.kind != "feed"}
    for name in names:
        if name in others:
            raise UsageError(f"{name!r} is a {others[name].kind} source, not a feed: load it with "
                             f"`{PROG} backfill {others[name].path} --source {name}` or let `{PROG} run` watch it")
        if name not in feeds:
            raise UsageError(f"no feed source named {name!r} in the sources file")
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
