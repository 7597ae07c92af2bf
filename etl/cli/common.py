"""What every command shares: settings, the database (schema upgraded, sources synced), errors,
exit codes, and how much to say on stderr (``--quiet`` / ``--verbose``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from typing import Callable, Sequence

from ..clean.dates import parse_date
from ..display import table, terminal_width, to_json
from ..config import Settings, Source, build_settings, load_sources
from ..fetch.http import HttpSettings
from ..load.db import describe, make_engine
from ..load.migrate import upgrade
from ..load.sources import sync_sources
from ..config import DEFAULT_CONCURRENCY  # shown in --concurrency's help
from ..pipeline import first_line  # noqa: F401  (re-exported for the command modules)

PROG = "news-etl"

# Exit codes (the README's table lists the same).
EXIT_OK = 0
EXIT_FAILED = 1  # some items or sources failed (the rest is loaded), unhealthy, or not found
EXIT_USAGE = 2  # usage or configuration error: nothing was done
EXIT_UNAVAILABLE = 3  # the database cannot be reached


class UsageError(Exception):
    """A command-line mistake: exit code 2."""


class NotFound(Exception):
    """What the command was asked about does not exist (``show 999``, ``errors --run 999``): exit 1."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached (connection refused, unknown host, no such file): exit 3."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def quiet(args: argparse.Namespace) -> bool:
    return getattr(args, "quiet", False)


def verbose(args: argparse.Namespace) -> bool:
    return getattr(args, "verbose", False)


def note(args: argparse.Namespace, message: str) -> None:
    """An informational line on stderr (not an error); ``--quiet`` silences it."""
    if not quiet(args):
        print(f"{PROG}: {message}", file=sys.stderr)


def settings_of(args: argparse.Namespace) -> Settings:
    return build_settings(getattr(args, "database_url", None), getattr(args, "config", None),
                          concurrency=getattr(args, "concurrency", None))


def configured(settings: Settings) -> list[Source]:
    # A missing sources file is an error even when it is the default: running outside the clone
    # would otherwise create an empty database and report a healthy service with nothing in it.
    return load_sources(settings.config_path)


def connect(settings: Settings, notice: bool = True) -> Engine:
    """An engine whose database answered once; a connection failure is DatabaseUnavailable."""
    if settings.database_is_default and notice:
        print(f"{PROG}: using the embedded SQLite database ./news.db "
              "(set DATABASE_URL or --database-url for PostgreSQL)", file=sys.stderr)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"{describe(engine)}: {first_line(exc)}") from None
    return engine


def engine_of(settings: Settings, notice: bool = True) -> Engine:
    engine = connect(settings, notice)
    upgrade(engine, utcnow())
    return engine


def open_db(args: argparse.Namespace) -> tuple[Engine, list[Source]]:
    """Settings, sources file and database, with the sources table synced to the file."""
    settings = settings_of(args)
    sources = configured(settings)
    engine = engine_of(settings, notice=not quiet(args))
    if verbose(args):
        note(args, f"sources file {settings.config_path} ({len(sources)} source(s)), database {describe(engine)}")
    with engine.begin() as conn:
        sync_sources(conn, sources, utcnow())
    return engine, sources


def show_rows(args: argparse.Namespace, read: Callable, headers: Sequence[str], cells: Callable,
              shrink: Sequence[int] = (), detail: bool = False, heading: Callable | None = None) -> int:
    """Open the database, ``read(conn)`` the rows, print them as JSON (``--json``) or a table
    fitted to the terminal (``shrink``: columns that may be cut; ``detail``: the last column is
    an error message that moves under its row rather than lose its reason; ``heading(conn)``: a
    line above the table, or None)."""
    engine, _ = open_db(args)
    with engine.connect() as conn:
        rows = read(conn)
        above = None if args.json or heading is None else heading(conn)
    if args.json:
        print(to_json(rows))
        return EXIT_OK
    if above:
        print(above)
    width = terminal_width(getattr(args, "wide", False))
    print(table([cells(r) for r in rows], headers, width, shrink, detail))
    return EXIT_OK


def setup_verbose_logging(args: argparse.Namespace) -> None:
    """``--verbose`` on a one-shot command: the library's debug log on stderr, times in UTC (``Z``)."""
    if verbose(args):
        from ..service import setup_logging  # the service's formatter: ISO times ending in Z
        setup_logging(False, logging.DEBUG)


def http_settings(**overrides) -> HttpSettings:
    """HTTP settings for fetching commands; the contact URL in the User-Agent comes from
    NEWS_ETL_CONTACT_URL when set."""
    contact = os.environ.get("NEWS_ETL_CONTACT_URL")
    return HttpSettings(**({"contact_url": contact} if contact else {}), **overrides)


def concurrency_arg(parser: argparse.ArgumentParser) -> None:
    """``--concurrency N`` (``--workers`` is its older name); unset, $NEWS_ETL_CONCURRENCY or the default."""
    parser.add_argument("--concurrency", "--workers", dest="concurrency", type=positive, metavar="N",
                        help=f"sources fetched at once (default: $NEWS_ETL_CONCURRENCY, else {DEFAULT_CONCURRENCY})")


def date_arg(value: str) -> datetime:
    """argparse type for --since/--until: any form parse_date reads (ISO, Jalali, ...)."""
    parsed = parse_date(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (e.g. 2025-08-22 or ۱۴۰۴/۰۵/۳۱)")
    return parsed


def non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number
