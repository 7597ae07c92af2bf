"""``news-etl watches`` (each watch with its hits and the state of its deliveries) and
``news-etl watch NAME`` (its latest hits). Webhook addresses are shown without their path or
query, which often hold the hook's secret."""

from __future__ import annotations

import argparse

from ..display import fmt_time
from ..errors import one_line
from ..load.watches import latest_hits, watch_overview
from ..watches.message import redacted_url
from .common import PROG, NotFound
from .db import show_rows


def cmd_watches(args: argparse.Namespace) -> int:
    return show_rows(args, _overview, ["name", "on", "hits", "last hit (Tehran)", "deliveries", "query", "last error"],
                     lambda r: (r["name"], "yes" if r["in_config"] else "gone", r["hits"], fmt_time(r["last_hit_at"]),
                                _deliveries(r["deliveries"]), r["query"], _last_error(r["deliveries"])),
                     shrink=(5, 0), detail=True)


def _overview(conn) -> list[dict]:
    rows = watch_overview(conn)
    for row in rows:
        row["webhook"] = redacted_url(row["webhook"]) if row["webhook"] else None
    return rows


def _deliveries(channels: dict) -> str:
    """``webhook 12 sent, 1 pending; email 13 sent`` (nothing but the channels a watch has had)."""
    parts = []
    for channel, state in sorted(channels.items()):
        counts = ", ".join(f"{state[s]} {s}" for s in ("sent", "pending", "failed") if state.get(s))
        parts.append(f"{channel} {counts}")
    return "; ".join(parts) or "-"


def _last_error(channels: dict) -> str:
    return "; ".join(f"{c}: {one_line(s['last_error'])}" for c, s in sorted(channels.items()) if s.get("last_error"))


def cmd_watch(args: argparse.Namespace) -> int:
    def read(conn):
        rows = latest_hits(conn, args.name, args.limit)
        if rows is None:
            raise NotFound(f"no watch named {args.name!r} (see `{PROG} watches`)")
        for row in rows:
            row.pop("body", None)
            row.pop("summary", None)
        return rows
    return show_rows(args, read, ["id", "matched (Tehran)", "source", "published (Tehran)", "deliveries", "title"],
                     lambda r: (r["article_id"], fmt_time(r["matched_at"]), r["source"], fmt_time(r["published_at"]),
                                ", ".join(f"{c} {s}" for c, s in sorted(r["deliveries"].items())) or "-", r["title"]),
                     shrink=(5, 2))
