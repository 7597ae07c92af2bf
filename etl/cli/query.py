"""Commands that read what was ingested: articles, search, show, export."""

from __future__ import annotations

import argparse
import sys
from zoneinfo import ZoneInfo

from ..clean.urls import readable_url
from ..display import fmt_time, safe, shown, terminal_width, to_json, truncate
from ..export import write_csv, write_jsonl, write_parquet
from ..load.queries import latest_articles
from ..load.search import Filters, export_rows, get_article, search
from .common import NotFound, UsageError, note
from .db import open_db, show_rows

TEHRAN = ZoneInfo("Asia/Tehran")


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(source=args.source, since=args.since, until=args.until)


def cmd_articles(args: argparse.Namespace) -> int:
    # The title is the last column: right-to-left text there cannot push the other columns around.
    return show_rows(args, lambda conn: latest_articles(conn, args.limit, args.source),
                     ["id", "source", "published (Tehran)", "title"],
                     lambda r: (r["id"], r["source"], fmt_time(r["published_at"]), r["title"]), shrink=(3, 1),
                     prose=(3,))


def cmd_search(args: argparse.Namespace) -> int:
    engine, _ = open_db(args)
    with engine.connect() as conn:
        hits = search(conn, args.query, _filters(args), args.limit)
    if args.json:
        print(to_json([{
            "id": h.id, "source": h.source, "score": round(h.score, 6), "title": h.title, "url": h.url,
            "published_at": h.published_at,
            "published_tehran": h.published_at.astimezone(TEHRAN) if h.published_at else None,
            "snippet": h.snippet, "agency": h.agency,
        } for h in hits]))
        return 0
    width = terminal_width(args.wide)
    for h in hits:
        when = f"{fmt_time(h.published_at)} (Tehran)" if h.published_at else "date unknown"
        print(_fit(f"[{h.id}] {shown(h.source)}  {when}  {safe(h.title)}", width))
        if h.url:
            print("    " + _fit(shown(readable_url(h.url)), width and width - 4, middle=True))
        print(f"    {safe(h.snippet)}\n")
    note(args, f"{len(hits)} result(s)")
    return 0


def _fit(text: str, width: int | None, middle: bool = False) -> str:
    return text if width is None else truncate(text, width, middle)


def cmd_show(args: argparse.Namespace) -> int:
    engine, _ = open_db(args)
    with engine.connect() as conn:
        article = get_article(conn, args.id)
    if article is None:
        raise NotFound(f"no article with id {args.id}")
    if args.json:
        print(to_json(article))
        return 0
    _say(f"{article['title']}\n")
    _say(f"source: {shown(article['source'])}   id: {article['id']}   "
         f"published: {fmt_time(article['published_at'])} (Tehran)")
    if article["agency"]:
        centre = (article["meta"] or {}).get("agency_centre")
        _say(f"agency: {article['agency']}" + (f" (centre: {centre})" if centre else ""))
    _say(f"url: {shown(readable_url(article['url'])) if article['url'] else '-'}\n"
          f"stored: {fmt_time(article['fetched_at'])}   last changed: {fmt_time(article['updated_at'])} (Tehran)")
    if article["summary"]:
        _say(f"\n{article['summary']}")
    _say(f"\n{article['body']}\n")
    for other in article["cluster"]:
        _say(f"same story: [{other['id']}] {shown(other['source'])}  {fmt_time(other['published_at'])}  "
             f"{other['title']}")
    _say(f"revisions: {len(article['revisions'])}")
    for rev in article["revisions"]:
        _say(f"  - version stored {fmt_time(rev['stored_at'])}, replaced {fmt_time(rev['replaced_at'])}: {rev['title']}")
    return 0


def _say(text: str) -> None:
    """Stored text may predate the cleaner's control-character policy: never print it raw."""
    print(safe(text))


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet needs --output FILE")
    if args.excel and args.format != "csv":
        raise UsageError("--excel is for --format csv")
    engine, _ = open_db(args)
    with engine.connect() as conn:
        rows = export_rows(conn, _filters(args))
        if args.format == "parquet":
            count = write_parquet(rows, args.output)
        else:
            out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
            try:
                count = write_jsonl(rows, out) if args.format == "jsonl" else write_csv(rows, out, args.excel)
            finally:
                if out is not sys.stdout:
                    out.close()
    note(args, f"exported {count} article(s)")
    return 0
