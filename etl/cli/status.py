"""``news-etl status``: the service's health, for a supervisor. Exit 0 healthy, 1 a source is
failing or late, 3 the database cannot be reached (2: a bad sources file)."""

from __future__ import annotations

import argparse

from ..display import terminal_width, text_width, to_json, truncate
from ..load.db import describe, make_engine
from ..health import LAST_ERROR, check_health
from .common import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, PROG, utcnow
from .db import configured, settings_of


def _print_problems(health, width: int | None) -> None:
    """One line per problem; on a narrow terminal the last error goes under its source, cut in the middle."""
    for problem in health.problems:
        line = f"{PROG}: unhealthy: {problem}"
        if width is None or text_width(line) <= width:
            print(line)
            continue
        head, _, error = line.partition("; " + LAST_ERROR)
        print(truncate(head, width))
        if error:
            print(f"    {LAST_ERROR}{truncate(error, max(width - 4 - len(LAST_ERROR), 8), middle=True)}")


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 healthy, 1 a source is failing or late, 3 the database cannot be reached."""
    settings = settings_of(args)
    configured(settings)  # a missing sources file is an error here too (exit 2), not "0 sources, healthy"
    engine = make_engine(settings.database_url)
    try:
        health = check_health(engine, utcnow(), args.factor, args.max_failures)
    finally:
        engine.dispose()
    code = EXIT_UNAVAILABLE if health.database_problem else EXIT_OK if health.ok else EXIT_FAILED
    if args.json:
        print(to_json({**health.as_dict(), "database": describe(engine), "exit_code": code}))
        return code
    width = terminal_width(args.wide)
    _print_problems(health, width)
    summary = _summary(health, describe(engine))
    if summary:
        # The counts come first and the database last: cut at the end, so the counts stay whole.
        print(summary if width is None else truncate(summary, width))
    if health.queue is not None:
        print(f"{PROG}: {health.queue.line()}")
    return code


def _summary(health, database: str) -> str | None:
    if health.ok:
        return f"{PROG}: healthy: {database}, {health.checked} enabled source(s) on time"
    if health.database_problem:
        return None  # its problem line says it all
    bad = sum(not s.ok for s in health.sources)
    return f"{PROG}: unhealthy: {bad} of {health.checked} enabled source(s) failing or late ({database})"
