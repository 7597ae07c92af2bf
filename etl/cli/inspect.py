"""Commands that show how loading went, and keep the database: sources, runs, errors, db."""

from __future__ import annotations

import argparse
import sys

from ..display import fmt_time
from ..errors import one_line
from ..load.db import describe
from ..load.migrate import schema_ddl, upgrade
from ..load.queries import run_exists, source_overview
from ..load.runs import list_errors, list_runs, repair_runs
from ..load.health import progress_lines
from .common import EXIT_OK, PROG, NotFound, UsageError, quiet, utcnow
from .db import connect, open_db, settings_of, show_rows


def cmd_sources(args: argparse.Namespace) -> int:
    return show_rows(
        args, source_overview,
        ["name", "kind", "on", "articles", "fetched (Tehran)", "fails", "next (Tehran)", "last error"],
        lambda r: (r["name"], r["kind"], _state(r), r["articles"], fmt_time(r["last_fetch_at"]),
                   r["consecutive_failures"], fmt_time(r["next_attempt_at"]), one_line(r["last_error"]) or ""),
        shrink=(0,), detail=True)


def _state(row: dict) -> str:
    """``on``: yes, no (disabled), gone (no longer in the sources file, or ad hoc from a backfill),
    or blocked (enabled, but a bot wall answered its last pass: the last error names the vendor)."""
    if not row["in_config"]:
        return "gone"
    if not row["enabled"]:
        return "no"
    return "blocked" if row.get("blocked_by") else "yes"


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
    """With --source: how far a queued backfill or crawl of it has got across the workers (one run
    per shard or slice)."""
    def heading(conn) -> str | None:
        return "\n".join(progress_lines(conn, source)) or None if source else None
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


def cmd_db_precount(args: argparse.Namespace) -> int:
    from ..analysis.queries import check_queries
    from ..load import querycounts
    if not args.queries:
        if args.forget:
            raise UsageError("db precount --forget: name the queries to forget")
        return show_rows(args, querycounts.counted_queries, ["articles", "counted since (Tehran)", "query"],
                         lambda r: (r["articles"], fmt_time(r["counted_at"]), r["query"]), prose=(2,))
    check_queries(args.queries)
    engine, _ = open_db(args)
    if engine.dialect.name != "postgresql":
        raise UsageError("db precount: only PostgreSQL counts queries ahead (SQLite counts them live)")
    for query in args.queries:
        with engine.begin() as conn:
            done = querycounts.forget(conn, query) if args.forget else querycounts.count_ahead(conn, query, utcnow())
        state = ("forgotten" if done else "was not counted") if args.forget else \
            ("counted ahead" if done else "already counted")
        print(f"{query}: {state}")
    return EXIT_OK
