"""The database as every command opens it: settings, the sources file, an engine whose database
answered (schema upgraded, sources synced), and rows printed as a table or JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from ..config import Config, Settings, build_settings, load_config
from ..display import shown, table, terminal_width, to_json
from ..errors import first_line
from ..load.db import describe, make_engine
from ..load.migrate import upgrade
from ..load.watches import sync_watches
from ..load.sources import sync_sources
from .common import EXIT_OK, PROG, DatabaseUnavailable, note, quiet, utcnow, verbose


def settings_of(args: argparse.Namespace) -> Settings:
    return build_settings(getattr(args, "database_url", None), getattr(args, "config", None),
                          concurrency=getattr(args, "concurrency", None))


def configured(settings: Settings) -> Config:
    # A missing sources file is an error even when it is the default: running outside the clone
    # would otherwise create an empty database and report a healthy service with nothing in it.
    return load_config(settings.config_path)


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


def open_db(args: argparse.Namespace) -> tuple[Engine, Config]:
    """Settings, sources file and database, with the sources table synced to the file."""
    settings = settings_of(args)
    config = configured(settings)
    engine = engine_of(settings, notice=not quiet(args))
    if verbose(args):
        note(args, f"sources file {settings.config_path} ({len(config.sources)} source(s)), "
                   f"database {describe(engine)}")
    with engine.begin() as conn:
        sync_sources(conn, config.sources, utcnow())
        sync_watches(conn, config.watches, utcnow())
    return engine, config


def show_rows(args: argparse.Namespace, read: Callable, headers: Sequence[str], cells: Callable,
              shrink: Sequence[int] = (), detail: bool = False, heading: Callable | None = None,
              prose: Sequence[int] = ()) -> int:
    """Open the database, ``read(conn)`` the rows, print them as JSON (``--json``) or a table
    fitted to the terminal (``shrink``: columns that may be cut; ``detail``: the last column is
    an error message that moves under its row rather than lose its reason; ``heading(conn)``: a
    line above the table, or None; ``prose``: title columns, which keep their bidi marks)."""
    engine, _ = open_db(args)
    with engine.connect() as conn:
        rows = read(conn)
        above = None if args.json or heading is None else heading(conn)
    if args.json:
        print(to_json(rows))
        return EXIT_OK
    if above:
        print(shown(above))
    width = terminal_width(getattr(args, "wide", False))
    print(table([cells(r) for r in rows], headers, width, shrink, detail, prose))
    return EXIT_OK
