"""The ``news-etl`` command: parse arguments, call the library, print the report.

Exit codes: 0 success (also when a reader such as ``head`` closes the pipe early), 1 some items
or sources failed (the rest is loaded), unhealthy, or not found, 2 usage or configuration error,
3 the database cannot be reached, 130 interrupted.

``parser.py`` declares every command; one small module per group of commands holds their
handlers (ingest.py loads, inspect.py shows how loading went, query.py reads, service.py and
status.py run and watch the service, ...). A handler's module is imported when its command
runs, so each command loads only what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Sequence

from ..errors import first_line, one_line
from .common import (EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, PROG, DatabaseUnavailable, NotFound,
                     UsageError, print_usage, setup_verbose_logging)
from .parser import build_parser

__all__ = ["build_parser", "main"]


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


def handler_of(args: argparse.Namespace) -> Callable[[argparse.Namespace], int]:
    """``"query:cmd_search"`` -> ``etl.cli.query.cmd_search`` (its module imported now)."""
    if args.handler == "common:print_usage":
        return lambda a: print_usage(a.usage_of)
    module, _, name = args.handler.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def _run(args: argparse.Namespace) -> int:
    """The command, with each library error turned into one line and its exit code."""
    try:
        setup_verbose_logging(args)
        _use_env_lexicon()
        return handler_of(args)(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        known = _classify(exc)
        if known is None:
            raise  # a bug: its traceback says where
        code, message = known
        return _fail(message, code)


def _use_env_lexicon() -> None:
    """$NEWS_ETL_LEXICON: a learned lexicon for all cleaning in this process (nothing to load without it)."""
    if os.environ.get("NEWS_ETL_LEXICON"):
        from .lexicon import use_env_lexicon
        use_env_lexicon()


def _classify(exc: Exception) -> tuple[int, str] | None:
    """(exit code, one-line message) of a library error; None for an error nobody foresaw.
    The library's error classes are looked up only among modules the command has loaded: an
    error cannot come from a module that was never imported."""
    if isinstance(exc, (UsageError, *_loaded("etl.config:ConfigError", "etl.load.db:DatabaseURLError",
                                              "etl.load.search:QueryError", "etl.export:ExportError",
                                              "etl.analysis.errors:AnalysisError"))):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, DatabaseUnavailable):
        return EXIT_UNAVAILABLE, f"database unavailable: {exc}"
    if isinstance(exc, (NotFound, *_loaded("etl.load.migrate:SchemaError"))):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, _loaded("sqlalchemy.exc:SQLAlchemyError")):
        if getattr(exc, "connection_invalidated", False):  # the connection was lost during the command
            return EXIT_UNAVAILABLE, f"database unavailable: {first_line(exc)}"
        return EXIT_FAILED, f"database error: {first_line(exc)}"
    return None


def _loaded(*names: str) -> tuple[type, ...]:
    """The classes ``"module:Class"`` of the modules already imported."""
    found = []
    for name in names:
        module, _, attr = name.partition(":")
        if module in sys.modules:
            found.append(getattr(sys.modules[module], attr))
    return tuple(found)


def _fail(message: str, code: int) -> int:
    from ..display import shown  # names in the message: masked and escaped like every printed name
    print(shown(f"{PROG}: error: {one_line(message)}"), file=sys.stderr)
    return code


def _discard_stdout() -> None:
    """Point stdout at /dev/null so Python's own flush at exit does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file descriptor (e.g. captured in tests): nothing will flush to it
