"""A watch's newest hits as an Atom feed (RFC 4287), for any feed reader: ``/watches/NAME.atom``.

Built with ``xml.etree`` (every text escaped by the serializer, never by hand); ``xml:lang="fa"``
on the feed. Each entry's id is the hit's key (``urn:uuid:...``), the same as the webhook's
Idempotency-Key, so a reader that saw an entry never shows it as new again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Sequence
from xml.etree import ElementTree as ET

from .message import KEY_NAMESPACE, hit_key

__all__ = ["render_atom"]

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def render_atom(watch: str, query: str, hits: Sequence[dict[str, Any]], self_url: str, now: datetime,
                snippet=lambda hit: "") -> bytes:
    """The feed of ``hits`` (rows of ``etl.load.watches.latest_hits``, newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: "fa"})
    _text(feed, "id", f"urn:uuid:{uuid.uuid5(KEY_NAMESPACE, watch + '/feed')}")
    _text(feed, "title", f"news-etl: {watch}")
    _text(feed, "subtitle", query)
    updated = max((h["matched_at"] for h in hits), default=now)
    _text(feed, "updated", _iso(updated))
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": self_url, "type": "application/atom+xml"})
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "news-etl")
    _text(feed, "generator", "news-etl")
    for hit in hits:
        _entry(feed, watch, hit, snippet(hit))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, watch: str, hit: dict[str, Any], summary: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", f"urn:uuid:{hit_key(watch, hit['article_id'])}")
    _text(entry, "title", hit["title"])
    _text(entry, "updated", _iso(hit["matched_at"]))
    if hit.get("published_at"):
        _text(entry, "published", _iso(hit["published_at"]))
    if hit.get("url"):
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": hit["url"]})
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", hit.get("agency") or hit["source"])
    ET.SubElement(entry, f"{{{ATOM}}}category", {"term": hit["source"]})
    if summary:
        _text(entry, "summary", summary)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = _xml_safe(value)
    return element


def _xml_safe(value: str) -> str:
    """XML 1.0 cannot carry most control characters; stored text keeps them only by accident."""
    return "".join(c for c in value if (c in "\t\n\r" or ord(c) >= 0x20)
                   and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff")


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
