"""The ``[[sources]]`` table a discovery proposes, as data and as TOML text. Pure.

The best kept feed makes a ``feed`` source (``full_text = true`` when its items are leads only),
with the best sitemap beside it for ``news-etl crawl``; an outlet with sitemaps but no feed worth
polling (Fars, by its 2026 scrapers' account) makes a ``site`` source crawled for its last days.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tld import get_fld

from ..redact import redact
from .model import Discovery

__all__ = ["default_name", "proposal", "source_block"]

FEED_INTERVAL = "15m"
SITE_INTERVAL = "1h"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def default_name(url: str) -> str:
    """``"https://www.mehrnews.com/"`` -> ``"mehrnews"``; an address without a registrable domain
    (``127.0.0.1``) is its host."""
    host = (urlsplit(url).hostname or "outlet").lower()
    domain = get_fld(url, fail_silently=True)
    name = domain.split(".")[0] if domain else host
    return (_NOT_NAME.sub("-", name).strip("-._") or "outlet")[:64]


def proposal(discovery: Discovery, name: str, proxy: str | None = None) -> dict[str, Any] | None:
    """The source table (keys as in the sources file), or None when nothing was worth keeping."""
    feed, sitemap = discovery.feed, discovery.sitemap
    if feed is not None:
        table: dict[str, Any] = {"name": name, "kind": "feed", "url": feed.url, "interval": FEED_INTERVAL,
                                 "full_text": not feed.full_text}
    elif sitemap is not None:
        table = {"name": name, "kind": "site", "url": discovery.root, "interval": SITE_INTERVAL,
                 "crawl": {"days": 2}}
    else:
        return None
    if sitemap is not None:
        table["sitemaps"] = [sitemap.url]
    if proxy:
        table["proxy"] = proxy
    return table


def source_block(table: dict[str, Any], discovery: Discovery, now: datetime) -> str:
    """``table`` as a commented TOML ``[[sources]]`` block, ready to append to the sources file."""
    feed, sitemap = discovery.feed, discovery.sitemap
    lines = [f"# {table['name']}: proposed by `news-etl sources discover {_plain(redact(discovery.url))}` "
             f"on {now.date().isoformat()}"]
    if feed is not None:
        lines.append(f"# feed: {_plain(feed.why)}")
    if sitemap is not None:
        lines.append(f"# sitemap: {_plain(sitemap.why)}")
    lines.append("[[sources]]")
    notes = {"full_text": "the feed carries leads only: each new article's page is fetched" if table.get("full_text")
             else "the feed carries whole articles",
             "sitemaps": "for `news-etl crawl` (archives)" if table["kind"] == "feed"
             else "the site has no feed worth polling: its last days are crawled through this"}
    for key, value in table.items():
        line = f"{key} = {_toml(value)}"
        lines.append(f"{line}  # {notes[key]}" if key in notes else line)
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: the same escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def _plain(text: str) -> str:
    """One comment line: no line breaks or control characters."""
    return "".join(c if c.isprintable() or c == "\u200c" else " " for c in text)
