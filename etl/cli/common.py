"""What every command shares: settings, the database (schema upgraded, sources synced), errors."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

from sqlalchemy import Engine

from typing import Callable, Sequence

from ..clean.dates import parse_date
from ..display import table, to_json
from ..config import Settings, Source, build_settings, load_sources
from ..fetch.http import HttpSettings
from ..load.db import make_engine
from ..load.migrate import upgrade
from ..load.sources import sync_sources
from ..config import DEFAULT_CONCURRENCY  # shown in --concurrency's help
from ..pipeline import first_line  # noqa: F401  (re-exported for the command modules)

PROG = "news-etl"


class UsageError(Exception):
    """A command-line mistake: exit code 2."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def settings_of(args: argparse.Namespace) -> Settings:
    return build_settings(getattr(args, "database_url", None), getattr(args, "config", None),
                          concurrency=getattr(args, "concurrency", None))


def configured(settings: Settings) -> list[Source]:
    # The default file may be absent (e.g. running outside the repository); a named one may not.
    return load_sources(settings.config_path, missing_ok=settings.config_is_default)


def engine_of(settings: Settings) -> Engine:
    if settings.database_is_default:
        print(f"{PROG}: using the embedded SQLite database ./news.db "
              "(set DATABASE_URL or --database-url for PostgreSQL)", file=sys.stderr)
    engine = make_engine(settings.database_url)
    upgrade(engine, utcnow())
    return engine


def open_db(args: argparse.Namespace) -> tuple[Engine, list[Source]]:
    """Settings, sources file and database, with the sources table synced to the file."""
    settings = settings_of(args)
    sources = configured(settings)
    engine = engine_of(settings)
    with engine.begin() as conn:
        sync_sources(conn, sources, utcnow())
    return engine, sources


def show_rows(args: argparse.Namespace, read: Callable, headers: Sequence[str], cells: Callable) -> int:
    """Open the database, ``read(conn)`` the rows, print them as JSON (``--json``) or a table."""
    engine, _ = open_db(args)
    with engine.connect() as conn:
        rows = read(conn)
    print(to_json(rows) if args.json else table([cells(r) for r in rows], headers))
    return 0


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


def positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number

