"""Commands that read what was ingested: articles, search, show, export."""

from __future__ import annotations

import argparse
import sys
from zoneinfo import ZoneInfo

from ..display import fmt_time, safe, to_json
from ..export import write_csv, write_jsonl, write_parquet
from ..load.queries import latest_articles
from ..load.search import Filters, export_rows, get_article, search
from .common import PROG, UsageError, open_db, show_rows

TEHRAN = ZoneInfo("Asia/Tehran")


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(source=args.source, since=args.since, until=args.until)


def cmd_articles(args: argparse.Namespace) -> int:
    return show_rows(args, lambda conn: latest_articles(conn, args.limit, args.source),
                     ["id", "source", "published (Tehran)", "title"],
                     lambda r: (r["id"], r["source"], fmt_time(r["published_at"]), r["title"][:70]))


def cmd_search(args: argparse.Namespace) -> int:
    engine, _ = open_db(args)
    with engine.connect() as conn:
        hits = search(conn, args.query, _filters(args), args.limit)
    if args.json:
        print(to_json([{
            "id": h.id, "source": h.source, "score": round(h.score, 6), "title": h.title, "url": h.url,
            "published_at": h.published_at,
            "published_tehran": h.published_at.astimezone(TEHRAN) if h.published_at else None,
            "snippet": h.snippet,
        } for h in hits]))
        return 0
    for h in hits:
        print(safe(f"[{h.id}] {h.source}  {fmt_time(h.published_at)}  {h.title}"))
        if h.url:
            print(f"    {safe(h.url)}")
        print(f"    {safe(h.snippet)}\n")
    print(f"{len(hits)} result(s)", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    engine, _ = open_db(args)
    with engine.connect() as conn:
        article = get_article(conn, args.id)
    if article is None:
        raise UsageError(f"no article with id {args.id}")
    if args.json:
        print(to_json(article))
        return 0
    _say(f"{article['title']}\n")
    _say(f"source: {article['source']}   id: {article['id']}   published: {fmt_time(article['published_at'])} (Tehran)")
    _say(f"url: {article['url'] or '-'}\nstored: {fmt_time(article['fetched_at'])}   last changed: {fmt_time(article['updated_at'])}")
    if article["summary"]:
        _say(f"\n{article['summary']}")
    _say(f"\n{article['body']}\n")
    for other in article["cluster"]:
        _say(f"same story: [{other['id']}] {other['source']}  {fmt_time(other['published_at'])}  {other['title']}")
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
    engine, _ = open_db(args)
    with engine.connect() as conn:
        rows = export_rows(conn, _filters(args))
        if args.format == "parquet":
            count = write_parquet(rows, args.output)
        else:
            out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
            try:
                count = (write_jsonl if args.format == "jsonl" else write_csv)(rows, out)
            finally:
                if out is not sys.stdout:
                    out.close()
    print(f"{PROG}: exported {count} article(s)", file=sys.stderr)
    return 0
