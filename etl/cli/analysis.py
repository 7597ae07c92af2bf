"""Commands that answer research questions over the stored articles: trends, terms, outlets,
stories. Each parses its filters, calls etl/analysis/ (the web page calls the same functions)
and prints a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Sequence

from ..analysis import periods
from ..analysis.outlets import outlets
from ..analysis.stories import Story, stories
from ..analysis.tables import csv_text
from ..analysis.trends import Trends, trends
from ..clean.text import normalize_text
from ..display import safe, table, terminal_width, to_json, truncate
from ..load.search import Filters
from .common import note
from .db import open_db

SPARKS = "▁▂▃▄▅▆▇█"


def filters_of(args: argparse.Namespace) -> Filters:
    agency = normalize_text(args.agency) if args.agency else None
    return Filters(sources=tuple(args.sources or ()), agency=agency, since=args.since, until=args.until)


def _read(args: argparse.Namespace, ask):
    engine, _ = open_db(args)
    with engine.connect() as conn:
        return ask(conn)


def _csv(result) -> None:
    sys.stdout.write(csv_text(result.columns(), result.rows()))


def cmd_trends(args: argparse.Namespace) -> int:
    found = _read(args, lambda conn: trends(conn, args.queries, filters_of(args), args.by, args.calendar))
    if args.json:
        print(to_json(found.as_json()))
    elif args.csv:
        _csv(found)
    else:
        _print_trends(found, terminal_width(args.wide))
    return 0


def _print_trends(found: Trends, width: int | None) -> None:
    print(f"attention by {found.by} ({found.calendar}, Tehran days): articles matching each query, all articles "
          "under the same filters, and the share")
    headers = ["period", "all"] + [h for s in found.series for h in (safe(s.query), "share")]
    rows = [[label, total] + [cell for s in found.series for cell in (s.counts[i], _percent(s.shares[i]))]
            for i, (label, total) in enumerate(zip(found.periods, found.totals))]
    print(table(rows, headers, width))
    room = (width or 80) - 30
    for s in found.series:
        low, peak = min(s.shares, default=0.0), max(s.shares, default=0.0)
        print(f"{truncate(safe(s.query), 20):<20}  {sparkline(s.shares, room)}  {_percent(low)} to {_percent(peak)}")


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def sparkline(values: Sequence[float], width: int) -> str:
    """One block per value, from the lowest (▁) to the highest (█) of the series, averaged down
    to ``width`` blocks when there are more: ``([0, 1, 2], 80)`` -> ``"▁▅█"``."""
    if not values:
        return ""
    if len(values) > width > 0:
        step = len(values) / width
        values = [sum(values[int(i * step):int((i + 1) * step)]) / max(1, int((i + 1) * step) - int(i * step))
                  for i in range(width)]
    low, span = min(values), (max(values) - min(values)) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - low) / span * (len(SPARKS) - 1) + 0.5))] for v in values)


def cmd_terms(args: argparse.Namespace) -> int:
    from ..analysis.terms import terms  # numpy: only this command counts with it
    found = _read(args, lambda conn: terms(conn, args.query, filters_of(args), args.limit, args.sample))
    if args.json:
        print(to_json(found.as_json()))
        return 0
    if args.csv:
        _csv(found)
        return 0
    which = "every one of the" if found.every_match else "a random sample of"
    print(f"sample: {found.sample:,} matching articles ({which} matches), against {found.background_sample:,} "
          "other articles under the same filters")
    print("score: z of the weighted log-odds ratio (informative Dirichlet prior); count and background: "
          "articles holding the term")
    rows = [[i, t.count, t.background, round(t.score, 2), safe(t.term)] for i, t in enumerate(found.terms, 1)]
    print(table(rows, ["#", "count", "background", "score", "term"], terminal_width(args.wide), shrink=(4,)))
    return 0


def cmd_outlets(args: argparse.Namespace) -> int:
    found = _read(args, lambda conn: outlets(conn, args.query, filters_of(args)))
    if args.json:
        print(to_json(found.as_json()))
        return 0
    if args.csv:
        _csv(found)
        return 0
    day = lambda d: periods.label(d, "day", args.calendar) if d else "-"  # noqa: E731
    rows = [[o.kind, o.matches, o.articles, _percent(o.share), day(o.first), day(o.last), safe(o.name)]
            for o in found.outlets]
    print(table(rows, ["kind", "matches", "articles", "share", "first (Tehran)", "last (Tehran)", "outlet"],
                terminal_width(args.wide), shrink=(6,)))
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    found = _read(args, lambda conn: stories(conn, filters_of(args), args.limit))
    if args.json:
        print(to_json(found.as_json()))
        return 0
    width = terminal_width(args.wide)
    for s in found.stories:
        _print_story(s, args.calendar, width)
    count = len(found.stories)
    note(args, f"{count} {'story' if count == 1 else 'stories'} carried by two outlets or more")
    return 0


def _print_story(s: Story, calendar: str, width: int | None) -> None:
    head = f"[{s.cluster_id}] {s.outlets} outlets: {safe(s.title)}"
    print(truncate(head, width) if width else head)
    agency = s.first.agency or "no agency named"
    print(f"    first   {s.first.source:<14} {when(s.first.published_at, calendar)}  ({agency})")
    for c in s.copies:
        credit = f"credits {s.first.agency}" if c.credits_first else f"credits {c.agency}" if c.agency else "credits nobody"
        print(f"    {delay(c.delay):>7} {c.source:<14} {when(c.published_at, calendar)}  ({credit})")
    print()


def when(moment: datetime, calendar: str) -> str:
    """Tehran wall-clock time in the calendar: ``(2026-01-08T10:35Z, "jalali")`` -> ``"1404-10-18 14:05"``."""
    local = moment.astimezone(periods.TEHRAN)
    return f"{periods.label(local.date(), 'day', calendar)} {local:%H:%M}"


def delay(span: timedelta) -> str:
    """``timedelta(minutes=82)`` -> ``"+1h22m"``, ``timedelta(days=2, hours=3)`` -> ``"+2d3h"``."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return f"+{days}d{hours}h" if days else f"+{hours}h{mins:02d}m" if hours else f"+{mins}m"
