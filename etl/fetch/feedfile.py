"""Saved RSS/Atom/RDF documents -> RawItem, through feedparser (it knows every dialect)."""

from __future__ import annotations

from typing import Any, BinaryIO, Iterator

import feedparser

from ..models import ItemError, RawItem

MAX_BYTES = 64 * 1024 * 1024


def iter_feed(stream: BinaryIO, name: str) -> Iterator[RawItem | ItemError]:
    # feedparser needs the whole document; saved feeds are small, and the cap keeps it so.
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        yield ItemError(name, f"feed file larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return
    yield from parse_feed(data, name)


def parse_feed(data: bytes, name: str, base_url: str | None = None) -> Iterator[RawItem | ItemError]:
    """Feed bytes -> one RawItem per entry. Malformed but readable feeds still yield their entries."""
    parsed = feedparser.parse(data, response_headers={"content-location": base_url} if base_url else None)
    if not parsed.entries:
        reason = f"not a readable feed: {parsed.get('bozo_exception')}" if parsed.bozo else "feed has no entries"
        yield ItemError(name, reason, data[:300].decode("utf-8", "replace"))
        return
    for index, entry in enumerate(parsed.entries, start=1):
        yield entry_to_item(entry, f"{name}#{index}")


def entry_to_item(entry: Any, location: str) -> RawItem:
    content = entry.get("content") or []
    full = "\n".join(c.get("value", "") for c in content if c.get("value"))
    summary = entry.get("summary")
    tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    return RawItem(
        location=location,
        title=entry.get("title"),
        body=full or summary,
        summary=summary if full and summary != full else None,
        url=entry.get("link"),
        guid=entry.get("id"),
        published=entry.get("published") or entry.get("updated") or entry.get("created"),
        extra={"tags": tags} if tags else {},
    )
