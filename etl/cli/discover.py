"""``news-etl sources discover URL``: an outlet's feeds and sitemaps, and the source to add."""

from __future__ import annotations

import argparse
import json
import re
import sys

from ..config import append_source, build_settings, load_config
from ..discover import DiscoverError, Discovery, discover_outlet, proposal, source_block
from ..discover.propose import default_name
from ..display import shown
from ..fetch.errors import FetchError
from ..fetch.http import HttpClient
from ..fetch.proxy import ProxyError, parse_proxy
from .common import EXIT_FAILED, EXIT_OK, PROG, UsageError, http_settings, note, utcnow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def cmd_discover(args: argparse.Namespace) -> int:
    config_path = _checked(args)
    now = utcnow()
    with HttpClient(http_settings(per_host_delay=args.per_host_delay, retries=1)) as client:
        try:
            discovery = discover_outlet(client, args.url, now, args.proxy)
        except DiscoverError as exc:
            raise UsageError(str(exc)) from None
        except FetchError as exc:
            print(shown(f"{PROG}: error: {exc}"), file=sys.stderr)  # the outlet's own page: nothing to go on
            return EXIT_FAILED
    table = proposal(discovery, args.add or default_name(discovery.url), args.proxy)
    block = source_block(table, discovery, now) if table else None
    print(json.dumps({**discovery.as_dict(), "source": table}, ensure_ascii=False, indent=2) if args.json
          else _text(discovery, block))
    if table is None:
        print(shown(f"{PROG}: error: {args.url}: no feed or sitemap worth keeping (each candidate says why)"),
              file=sys.stderr)
        return EXIT_FAILED
    if args.add:
        append_source(config_path, block)
        note(args, f"added source {args.add!r} to {config_path}")
    return EXIT_OK


def _checked(args: argparse.Namespace):
    """The arguments that need no network, checked before any request: --add's name and file, --proxy."""
    if args.proxy:
        try:
            parse_proxy(args.proxy)
        except ProxyError as exc:
            raise UsageError(f"--proxy: {exc}") from None
    if not args.add:
        return None
    if not _NAME.match(args.add):
        raise UsageError(f"--add {args.add!r}: use letters, digits, '.', '_' or '-' (max 64)")
    path = build_settings(None, getattr(args, "config", None)).config_path
    if any(s.name == args.add for s in load_config(path).sources):
        raise UsageError(f"--add {args.add!r}: {path} already has a source of that name")
    return path


def _text(discovery: Discovery, block: str | None) -> str:
    lines = [f"feeds of {discovery.url} (best first):"]
    lines += [_line(r.kept, r.url, r.why, r.found) for r in discovery.feeds] or ["  (none found)"]
    lines.append("sitemaps (best first):")
    lines += [_line(r.kept, r.url, r.why, r.found) for r in discovery.sitemaps] or ["  (none found)"]
    lines += [f"note: {n}" for n in discovery.notes]
    if block:
        lines += ["", block.rstrip("\n")]
    return "\n".join(shown(line) for line in lines)


def _line(kept: bool, url: str, why: str, found: str) -> str:
    return f"  {'kept   ' if kept else 'dropped'}  {url}  {why} ({found})"
