"""The ``news-etl`` command: parse arguments, call the library, print the report.

Exit codes: 0 success, 1 some items (or the run) failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from . import __version__
from .config import ConfigError, Settings, Source, build_settings, load_sources
from .display import ProgressLine, fmt_time, table, to_json
from .load.db import DatabaseURLError, describe, make_engine
from .load.migrate import SchemaError, schema_ddl, upgrade
from .load.queries import latest_articles, source_overview
from .load.runs import list_errors, list_runs
from .load.sources import sync_sources
from .pipeline import BATCH_SIZE, Backfill, run_backfill

PROG = "news-etl"


class UsageError(Exception):
    """A command-line mistake: exit code 2."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- shared set-up

def _settings(args: argparse.Namespace) -> Settings:
    return build_settings(getattr(args, "database_url", None), getattr(args, "config", None))


def _configured(settings: Settings) -> list[Source]:
    # The default file may be absent (e.g. running outside the repository); a named one may not.
    return load_sources(settings.config_path, missing_ok=settings.config_is_default)


def _engine(settings: Settings) -> Engine:
    if settings.database_is_default:
        print(f"{PROG}: using the embedded SQLite database ./news.db "
              "(set DATABASE_URL or --database-url for PostgreSQL)", file=sys.stderr)
    engine = make_engine(settings.database_url)
    upgrade(engine, utcnow())
    return engine


def _open(args: argparse.Namespace) -> tuple[Engine, list[Source]]:
    """Settings, sources file and database, with the sources table synced to the file."""
    settings = _settings(args)
    configured = _configured(settings)
    engine = _engine(settings)
    with engine.begin() as conn:
        sync_sources(conn, configured, utcnow())
    return engine, configured


# ---------------------------------------------------------------- commands

def cmd_backfill(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    engine, configured = _open(args)
    source = next((s for s in configured if s.name == args.source), None)
    in_config = source is not None
    if source is None:
        source = Source(name=args.source, kind="files", path=str(paths[0]))
    if args.pattern:
        source = Source(**{**_fields(source), "pattern": args.pattern})
    progress = ProgressLine(enabled=False if args.json or args.no_progress else None)
    job = Backfill(source=source, paths=paths, in_config=in_config, batch_size=args.batch_size)
    try:
        report = run_backfill(engine, job, utcnow, progress)
    finally:
        progress.close()
    if args.json:
        print(to_json(report.as_dict()))
    else:
        for error in report.errors:
            print(f"{PROG}: failed: {error.location}: {error.reason}", file=sys.stderr)
        if report.failed > len(report.errors):
            print(f"{PROG}: ... {report.failed - len(report.errors)} more; see `{PROG} errors --run {report.run_id}`",
                  file=sys.stderr)
        if report.skipped:
            print(f"{PROG}: skipped {report.skipped} file(s) that are not article files", file=sys.stderr)
        if report.error:
            print(f"{PROG}: error: run {report.run_id} stopped: {report.error}", file=sys.stderr)
        print(report.line())
    return 0 if report.ok else 1


def _fields(source: Source) -> dict:
    return {name: getattr(source, name) for name in Source.__slots__}


def cmd_sources(args: argparse.Namespace) -> int:
    engine, _ = _open(args)
    with engine.connect() as conn:
        rows = source_overview(conn)
    if args.json:
        print(to_json(rows))
        return 0
    print(table(
        [(r["name"], r["kind"], "yes" if r["enabled"] else "no", "yes" if r["in_config"] else "no",
          r["articles"], fmt_time(r["last_fetch_at"]), r["last_status"], r["consecutive_failures"],
          fmt_time(r["next_attempt_at"]), (r["last_error"] or "")[:60]) for r in rows],
        ["name", "kind", "enabled", "in config", "articles", "last fetch (Tehran)", "status",
         "failures", "next attempt", "last error"],
    ))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    engine, _ = _open(args)
    with engine.connect() as conn:
        rows = list_runs(conn, args.limit, args.source)
    if args.json:
        print(to_json(rows))
        return 0
    print(table(
        [(r["id"], r["kind"], r["source"], r["status"], fmt_time(r["started_at"]), _duration(r),
          r["seen"], r["new"], r["updated"], r["unchanged"], r["failed"], (r["error"] or "")[:50]) for r in rows],
        ["id", "kind", "source", "status", "started (Tehran)", "took", "seen", "new", "updated",
         "unchanged", "failed", "error"],
    ))
    return 0


def _duration(row: dict) -> str:
    if not row["finished_at"]:
        return "-"
    return f"{(row['finished_at'] - row['started_at']).total_seconds():.1f}s"


def cmd_errors(args: argparse.Namespace) -> int:
    engine, _ = _open(args)
    with engine.connect() as conn:
        rows = list_errors(conn, args.run, args.limit)
    if args.json:
        print(to_json(rows))
        return 0
    print(table([(r["run_id"], r["source"], r["location"], r["reason"][:80]) for r in rows],
                ["run", "source", "location", "reason"]))
    return 0


def cmd_articles(args: argparse.Namespace) -> int:
    engine, _ = _open(args)
    with engine.connect() as conn:
        rows = latest_articles(conn, args.limit, args.source)
    if args.json:
        print(to_json(rows))
        return 0
    print(table([(r["id"], r["source"], fmt_time(r["published_at"]), r["title"][:70]) for r in rows],
                ["id", "source", "published (Tehran)", "title"]))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = make_engine(settings.database_url)
    result = upgrade(engine, utcnow())
    before = "empty" if result.from_version is None else f"version {result.from_version}"
    print(f"{describe(engine)}: schema version {result.to_version} (was {before})")
    return 0


def cmd_db_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_ddl())
    return 0


# ---------------------------------------------------------------- parser

def _common() -> argparse.ArgumentParser:
    # SUPPRESS lets the options stand before or after the subcommand without overwriting each other.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, metavar="URL",
                        help="SQLAlchemy URL (default: $DATABASE_URL, else sqlite:///news.db)")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="sources file (default: $NEWS_ETL_CONFIG, else config/sources.toml)")
    return common


def _add(sub, name: str, handler: Callable, help_: str, example: str, parents=()) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_, description=help_, parents=list(parents),
                            epilog=f"Example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=handler)
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Ingest Persian-language news into PostgreSQL (or SQLite): fetch -> clean -> load.",
        epilog="Example:\n  news-etl backfill tests/data/seed --source samples",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _add(sub, "backfill", cmd_backfill, "load articles from files, folders and .zip/.tar.gz archives",
             "news-etl backfill tests/data/fars-news --source fars", [common])
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or archive")
    p.add_argument("--source", required=True, metavar="NAME",
                   help="source the articles belong to (a name from the sources file, or a new one)")
    p.add_argument("--pattern", metavar="GLOB", help="only files whose name matches, e.g. '*.jsonl'")
    p.add_argument("--batch-size", type=_positive, default=BATCH_SIZE, help=f"articles per transaction (default {BATCH_SIZE})")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress line, even on a terminal")

    p = _add(sub, "sources", cmd_sources, "list sources with their fetch state and article counts",
             "news-etl sources --json", [common])
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _add(sub, "runs", cmd_runs, "list recent ingest runs with their counts", "news-etl runs --limit 5", [common])
    p.add_argument("--limit", type=_positive, default=20)
    p.add_argument("--source", metavar="NAME", help="only runs of this source")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _add(sub, "errors", cmd_errors, "list items that failed to load, with their location and reason",
             "news-etl errors --run 3", [common])
    p.add_argument("--run", type=_positive, metavar="ID", help="only failures of this run")
    p.add_argument("--limit", type=_positive, default=50)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _add(sub, "articles", cmd_articles, "list the latest articles", "news-etl articles --source fars --limit 5", [common])
    p.add_argument("--limit", type=_positive, default=10)
    p.add_argument("--source", metavar="NAME", help="only articles of this source")
    p.add_argument("--json", action="store_true", help="print JSON")

    db = _add(sub, "db", lambda a: _usage(db), "database maintenance: upgrade, schema", "news-etl db upgrade", [common])
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND")
    _add(db_sub, "upgrade", cmd_db_upgrade,
         "create the schema or upgrade it in place, keeping all data (every command also does this on start)",
         "news-etl db upgrade --database-url postgresql://postgres@127.0.0.1/news", [common])
    _add(db_sub, "schema", cmd_db_schema, "print the PostgreSQL schema (what sql/schema.sql holds)",
         "news-etl db schema > sql/schema.sql", [common])
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, ConfigError, DatabaseURLError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SchemaError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"{PROG}: error: database unavailable: {_first_line(exc)}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"{PROG}: error: database error: {_first_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
