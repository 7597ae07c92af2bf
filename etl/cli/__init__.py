"""The ``news-etl`` command: parse arguments, call the library, print the report.

Exit codes: 0 success (also when a reader such as ``head`` closes the pipe early), 1 some items
or sources failed (the rest is loaded), unhealthy, or not found, 2 usage or configuration error,
3 the database cannot be reached, 130 interrupted.
One small module per group of commands: ingest.py (loading), query.py (reading), service.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .. import __version__
from ..config import ConfigError
from ..export import FORMATS, ExportError
from ..load.db import DatabaseURLError
from ..load.migrate import SchemaError
from ..errors import one_line
from ..load.search import QueryError
from ..fetch.ranges import SHARD_RECORDS
from ..pipeline import BATCH_SIZE
from .common import (EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, PROG, DatabaseUnavailable, NotFound,
                     UsageError, concurrency_arg, date_arg, first_line, non_negative, positive, setup_verbose_logging)
from .crawl import add_crawl_command
from .ingest import cmd_backfill, cmd_db_schema, cmd_db_upgrade, cmd_errors, cmd_fetch, cmd_runs, cmd_sources
from .lexicon import lexicon_commands, use_env_lexicon
from .query import cmd_articles, cmd_export, cmd_search, cmd_show
from ..service.health import DEFAULT_FACTOR, DEFAULT_TOLERANCE
from .service import cmd_run, cmd_status
from .web import register as register_web
from .worker import register as register_worker

__all__ = ["build_parser", "main"]


def _common() -> argparse.ArgumentParser:
    # SUPPRESS lets the options stand before or after the subcommand without overwriting each other.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, metavar="URL",
                        help="SQLAlchemy URL (default: $DATABASE_URL, else sqlite:///news.db)")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="sources file (default: $NEWS_ETL_CONFIG, else config/sources.toml in the working "
                             "directory; it must exist: --config /dev/null for none)")
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                      help="print only errors on stderr (no SQLite notice, no counts or progress)")
    talk.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="also print debug logging and what was opened, on stderr")
    return common


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example's layout and shows each option's default (unless the help says it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def _add(sub, name: str, handler: Callable, help_: str, example: str, parents=()) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_, description=help_, parents=list(parents),
                            epilog=f"Example:\n  {example}", formatter_class=_Formatter)
    parser.set_defaults(handler=handler)
    return parser


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="NAME", help="only articles of this source")
    parser.add_argument("--since", type=date_arg, metavar="DATE", help="published at or after (ISO or Jalali)")
    parser.add_argument("--until", type=date_arg, metavar="DATE", help="published before (ISO or Jalali)")


def _listing(parser: argparse.ArgumentParser, json_help: str = "print JSON") -> None:
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--wide", action="store_true",
                        help="full text in every column (also the case when standard output is not a terminal)")


def _ingest_commands(sub, common) -> None:
    p = _add(sub, "backfill", cmd_backfill, "load articles from files, folders and .zip/.tar.gz archives",
             "news-etl backfill tests/data/fars-news --source fars", [common])
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or archive")
    p.add_argument("--source", required=True, metavar="NAME",
                   help="source the articles belong to (a name from the sources file, or a new one)")
    p.add_argument("--pattern", metavar="GLOB", help="only files whose name matches, e.g. '*.jsonl'")
    p.add_argument("--batch-size", type=positive, default=BATCH_SIZE, metavar="N", help="articles per transaction")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress line, even on a terminal")
    p.add_argument("--workers", type=non_negative, default=None, metavar="N",
                   help="cleaning processes beside this one (default: one per core but one; 0 cleans in this process)")
    p.add_argument("--reclean", action="store_true",
                   help="clean every item again, also those whose input and cleaner version are unchanged")
    p.add_argument("--queue", action="store_true",
                   help="PostgreSQL: split the input into shards (files, zip members, line ranges of a large "
                        "JSONL/CSV) and defer one job per shard to `news-etl worker`s instead of loading here; "
                        "`news-etl runs` shows their progress")
    p.add_argument("--files-per-shard", type=positive, default=1, metavar="N", help="files in one queued shard")
    p.add_argument("--shard-size", type=positive, default=SHARD_RECORDS, metavar="N",
                   help=f"with --queue: records in one line-range shard of a JSONL/CSV file (default {SHARD_RECORDS:,})")

    p = _add(sub, "fetch", cmd_fetch, "fetch the enabled feed sources (or the named ones) once",
             "news-etl fetch mehr isna --json", [common])
    p.add_argument("names", nargs="*", metavar="NAME", help="feed sources to fetch (default: every enabled feed)")
    concurrency_arg(p)
    p.add_argument("--json", action="store_true", help="print the reports as one JSON object")

    p = _add(sub, "sources", cmd_sources, "list sources with their fetch state and article counts",
             "news-etl sources --json", [common])
    _listing(p)

    p = _add(sub, "runs", cmd_runs, "list recent ingest runs with their counts", "news-etl runs --limit 5", [common])
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many runs, newest first")
    p.add_argument("--source", metavar="NAME", help="only runs of this source")
    _listing(p)
    p.add_argument("--repair", action="store_true",
                   help="first mark 'aborted' the runs left 'running' by a killed process")

    p = _add(sub, "errors", cmd_errors, "list items that failed to load, with their location and reason",
             "news-etl errors --run 3", [common])
    p.add_argument("--run", type=positive, metavar="ID", help="only failures of this run (it must exist)")
    p.add_argument("--limit", type=positive, default=50, metavar="N", help="how many failures, newest first")
    _listing(p)

    db = _add(sub, "db", lambda a: _usage(db), "database maintenance: upgrade, schema", "news-etl db upgrade", [common])
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND")
    _add(db_sub, "upgrade", cmd_db_upgrade,
         "create the schema or upgrade it in place, keeping all data (every command also does this on start)",
         "news-etl db upgrade --database-url postgresql://postgres@127.0.0.1/news", [common])
    _add(db_sub, "schema", cmd_db_schema, "print the PostgreSQL schema (what sql/schema.sql holds)",
         "news-etl db schema > sql/schema.sql", [common])


def _query_commands(sub, common) -> None:
    p = _add(sub, "articles", cmd_articles, "list the latest articles", "news-etl articles --source fars --limit 5", [common])
    p.add_argument("--limit", type=positive, default=10, metavar="N", help="how many articles, latest first")
    p.add_argument("--source", metavar="NAME", help="only articles of this source")
    _listing(p)

    p = _add(sub, "search", cmd_search,
             "search articles; any spelling variant (ZWNJ, Arabic yeh/kaf, digits) finds the same; \"quoted\" = phrase",
             'news-etl search \'"وزارت خارجه" میشود\' --since 1404/01/01 --limit 5', [common])
    p.add_argument("query", help="words (all must match) and \"quoted phrases\"")
    _filters(p)
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many results, best first")
    _listing(p, "print JSON (published time in UTC and Tehran, URLs as stored)")

    p = _add(sub, "show", cmd_show, "print one article with its revision history and near-duplicates",
             "news-etl show 42", [common])
    p.add_argument("id", type=positive, help="article id")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _add(sub, "export", cmd_export, "export articles as JSONL, CSV or Parquet (backfill reads them back)",
             "news-etl export --format jsonl --source fars --since 2025-01-01 --output fars.jsonl", [common])
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="output format")
    p.add_argument("--output", metavar="FILE", help="write here (default: standard output; Parquet needs a file)")
    p.add_argument("--excel", action="store_true",
                   help="CSV for Excel: a UTF-8 byte-order mark and CRLF line ends, so Persian text opens readable")
    _filters(p)


def _service_commands(sub, common) -> None:
    p = _add(sub, "run", cmd_run,
             "run the service: fetch every enabled source on its schedule until SIGTERM (SIGHUP reloads the sources file)",
             "news-etl run --log-json --metrics-port 9108", [common])
    concurrency_arg(p)
    p.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                   help="on SIGTERM, wait this long for running passes to commit")
    p.add_argument("--log-json", action="store_true", help="log JSON lines instead of key=value text (times in UTC)")
    p.add_argument("--metrics-port", type=positive, metavar="PORT", help="serve Prometheus metrics on this port")
    p.add_argument("--metrics-addr", default="127.0.0.1", metavar="ADDR",
                   help="address for the metrics server (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--http-retries", type=int, default=1, metavar="N",
                   help="retries within one pass for transient HTTP errors (default 1; the schedule retries later)")
    p.add_argument("--per-host-delay", type=float, default=1.0, metavar="SECONDS",
                   help="minimum pause between requests to one host")
    p.add_argument("--executor", choices=("local", "procrastinate"), default="local",
                   help="local: this process schedules (SQLite too); procrastinate: the shared PostgreSQL "
                        "schedule, dispatch and a worker in this process (see README \"Scaling\")")

    p = _add(sub, "status", cmd_status,
             "check the service's health: exit 0 when the database answers and every enabled source is neither "
             "failing nor late, 1 when a source is, 3 when the database cannot be reached",
             "news-etl status --max-failures 5 --json", [common])
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help="a source is late after this many times its longest interval without success")
    p.add_argument("--max-failures", type=positive, default=DEFAULT_TOLERANCE, metavar="N",
                   help="a source is failing after N failed passes in a row (or when every attempt so far failed)")
    _listing(p, "print the health of the database and of each source as JSON")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], formatter_class=_Formatter,
        description="Ingest Persian-language news into PostgreSQL (or SQLite): fetch -> clean -> load.",
        epilog="Example:\n  news-etl backfill tests/data/seed --source samples",
    )
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _ingest_commands(sub, common)
    _query_commands(sub, common)
    _service_commands(sub, common)
    lexicon_commands(sub, common, _add)
    register_web(sub, common)
    add_crawl_command(sub, common)
    register_worker(sub, common)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader (head, less) has what it wanted: a quiet exit 0, as for `yes | head`.
        _discard_stdout()
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    """The command, with each library error turned into one line and its exit code."""
    try:
        setup_verbose_logging(args)
        use_env_lexicon()  # $NEWS_ETL_LEXICON: a learned lexicon for all cleaning in this process
        return args.handler(args)
    except (UsageError, ConfigError, DatabaseURLError, QueryError, ExportError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except DatabaseUnavailable as exc:
        return _fail(f"database unavailable: {exc}", EXIT_UNAVAILABLE)
    except (NotFound, SchemaError) as exc:
        return _fail(str(exc), EXIT_FAILED)
    except OperationalError as exc:
        if exc.connection_invalidated:  # the connection was lost during the command
            return _fail(f"database unavailable: {first_line(exc)}", EXIT_UNAVAILABLE)
        return _fail(f"database error: {first_line(exc)}", EXIT_FAILED)
    except SQLAlchemyError as exc:
        return _fail(f"database error: {first_line(exc)}", EXIT_FAILED)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    return code


def _discard_stdout() -> None:
    """Point stdout at /dev/null so Python's own flush at exit does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file descriptor (e.g. captured in tests): nothing will flush to it
