"""What every command shares and what building the parser needs: exit codes, errors, how much
to say on stderr (``--quiet`` / ``--verbose``), argument types and the parser helper.

Nothing here imports the library: ``news-etl -V`` and ``--help`` load this module and argparse
only. A command imports what it uses when it runs (``etl.cli.db`` for the database).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone
from typing import Callable

from ..defaults import CONCURRENCY
from ..errors import first_line  # noqa: F401  (re-exported for the command modules)

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
        print(_shown(f"{PROG}: {message}"), file=sys.stderr)


def _shown(text: str) -> str:
    """``etl.display.shown``, imported when a line is printed: this module stays light."""
    from ..display import shown
    return shown(text)


def setup_verbose_logging(args: argparse.Namespace) -> None:
    """``--verbose`` on a one-shot command: the library's debug log on stderr, times in UTC (``Z``)."""
    if verbose(args):
        from ..observe import setup_logging  # the service's formatter: ISO times ending in Z
        setup_logging(False, logging.DEBUG)


PROXY_ENV = "NEWS_ETL_PROXY_ENV"


def http_settings(**overrides):
    """HTTP settings for fetching commands; the contact URL in the User-Agent comes from
    NEWS_ETL_CONTACT_URL when set; HTTPS_PROXY/HTTP_PROXY/NO_PROXY are honoured only when
    NEWS_ETL_PROXY_ENV asks for it (etl/fetch/proxy.py)."""
    from ..fetch.http import HttpSettings
    contact = os.environ.get("NEWS_ETL_CONTACT_URL")
    extra = {"contact_url": contact} if contact else {}
    if env_flag(PROXY_ENV):
        extra["environment_proxies"] = tuple(sorted((k, v) for k, v in os.environ.items()
                                                    if k.lower().endswith("_proxy") and v))
    return HttpSettings(**extra, **overrides)


def env_flag(name: str) -> bool:
    """An on/off environment variable: 1/true/yes/on, or 0/false/no/off/empty; anything else is an error."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise UsageError(f"{name}: expected 1 or 0 (true or false), got {os.environ[name]!r}")


# --- building the parser -------------------------------------------------------------------


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example's layout and shows each option's default (unless the help says it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def add_command(sub, name: str, handler: Callable, help_: str, example: str, parents=()) -> argparse.ArgumentParser:
    """A subcommand whose help ends with an example (a test checks that every command has one)."""
    parser = sub.add_parser(name, help=help_, description=help_, parents=list(parents),
                            epilog=f"Example:\n  {example}", formatter_class=Formatter)
    parser.set_defaults(handler=handler)
    return parser


def print_usage(parser: argparse.ArgumentParser) -> int:
    """A command group called without its subcommand (``news-etl db``): its help, exit 2."""
    parser.print_help(sys.stderr)
    return 2


def filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="NAME", help="only articles of this source")
    parser.add_argument("--since", type=date_arg, metavar="DATE", help="published at or after (ISO or Jalali)")
    parser.add_argument("--until", type=date_arg, metavar="DATE", help="published before (ISO or Jalali)")


def listing_args(parser: argparse.ArgumentParser, json_help: str = "print JSON") -> None:
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--wide", action="store_true",
                        help="full text in every column (also the case when standard output is not a terminal)")


def concurrency_arg(parser: argparse.ArgumentParser) -> None:
    """``--concurrency N`` (``--workers`` is its older name); unset, $NEWS_ETL_CONCURRENCY or the default."""
    parser.add_argument("--concurrency", "--workers", dest="concurrency", type=positive, metavar="N",
                        help=f"sources fetched at once (default: $NEWS_ETL_CONCURRENCY, else {CONCURRENCY})")


def date_arg(value: str) -> datetime:
    """argparse type for --since/--until: any form parse_date reads (ISO, Jalali, ...)."""
    from ..clean.dates import parse_date
    parsed = parse_date(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (e.g. 2025-08-22 or ۱۴۰۴/۰۵/۳۱)")
    return parsed


# The largest id or count the databases hold (a 64-bit integer): a larger one is no id at all,
# and binding it failed inside the driver ("Python int too large to convert to SQLite INTEGER").
LARGEST = 2**63 - 1
LONGEST = 86_400.0  # seconds: a day is the longest delay, timeout or grace any option needs


def non_negative(value: str) -> int:
    number = _integer(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def positive(value: str) -> int:
    number = _integer(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number


def _integer(value: str) -> int:
    number = int(value)
    if number > LARGEST:
        raise argparse.ArgumentTypeError(f"must be at most {LARGEST}, got {value}")
    return number


def seconds(value: str) -> float:
    """argparse type for a duration: ``"1.5"`` -> 1.5; ``"nan"``, ``"-1"``, ``"1e308"`` are refused."""
    number = float(value)
    if not 0 <= number <= LONGEST:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be a number of seconds from 0 to {LONGEST:,.0f}, got {value}")
    return number


def factor(value: str) -> float:
    """argparse type for a multiplier: finite and above 0."""
    number = float(value)
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {value}")
    return number
