"""Sitemap bytes -> entries, pure: sitemap indexes, URL sets (with Google News tags) and plain-text
sitemaps, as real sites serve them.

Bytes are judged by what they are, not by what the URL or headers claim: a ``.gz`` that was
already decompressed in transit is plain XML, a ``.gz`` that is an HTML error page is a located
failure, CDATA-wrapped ``<loc>`` and namespace-less XML read like any other. Parsing streams
(lxml ``iterparse``, elements freed as they are read), so a 50 MB index does not become a tree.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from ..clean.dates import parse_date

__all__ = ["Entry", "Parsed", "SitemapError", "parse_sitemap"]

MAX_UNCOMPRESSED = 64 * 1024 * 1024  # the protocol allows 50 MB uncompressed
_GZIP_MAGIC = b"\x1f\x8b"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


class SitemapError(Exception):
    """A sitemap that could not be read; ``transient`` says whether fetching it again can help."""

    def __init__(self, url: str, reason: str, transient: bool = False) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.url}: {self.reason} ({'transient' if self.transient else 'permanent'})"


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``<sitemap>`` or ``<url>``: its location and the dates it states (aware UTC)."""

    loc: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date


@dataclass(frozen=True, slots=True)
class Parsed:
    kind: str  # "index" or "urlset"
    entries: list[Entry] = field(default_factory=list)


def parse_sitemap(body: bytes, url: str, max_bytes: int = MAX_UNCOMPRESSED) -> Parsed:
    """Read one sitemap document; raises SitemapError naming ``url`` when it is not one."""
    data = _unwrap(body, url, max_bytes).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not data:
        raise SitemapError(url, "empty sitemap")
    head = data[:512].lower()
    if any(start in head for start in _HTML_STARTS):
        raise SitemapError(url, "an HTML page, not a sitemap")
    if not data.startswith(b"<"):
        return _plain_text(data, url)
    return _xml(data, url)


def _unwrap(body: bytes, url: str, max_bytes: int) -> bytes:
    """Gunzip when the bytes are gzip (a ``.gz`` served as is), at most twice (gzip inside
    Content-Encoding: gzip); bytes that are not gzip are returned as they are."""
    for _ in range(2):
        if not body.startswith(_GZIP_MAGIC):
            return body
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                body = stream.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise SitemapError(url, f"corrupt gzip: {exc}") from None
        if len(body) > max_bytes:
            raise SitemapError(url, f"over {max_bytes // (1024 * 1024)} MiB uncompressed")
    return body


def _plain_text(data: bytes, url: str) -> Parsed:
    lines = data.decode("utf-8", errors="replace").splitlines()
    entries = [Entry(line.strip()) for line in lines if line.strip().startswith(("http://", "https://"))]
    if not entries:
        raise SitemapError(url, "neither XML nor a list of URLs")
    return Parsed("urlset", entries)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _xml(data: bytes, url: str) -> Parsed:
    root_name: str | None = None
    entries: list[Entry] = []
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), recover=True,
                             resolve_entities=False, no_network=True, huge_tree=False)
    try:
        for event, element in events:
            if event == "start":
                root_name = root_name or _local(element.tag)
                continue
            if _local(element.tag) in ("url", "sitemap"):
                entry = _entry(element)
                if entry is not None:
                    entries.append(entry)
                element.clear(keep_tail=False)
                while element.getprevious() is not None:  # free what was read: stream, not tree
                    del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if root_name is None:
            raise SitemapError(url, f"not XML: {exc}") from None
        # A truncated document still yields what it held before the break.
    if root_name not in ("sitemapindex", "urlset"):
        raise SitemapError(url, f"not a sitemap (root element <{root_name or '?'}>)")
    return Parsed("index" if root_name == "sitemapindex" else "urlset", entries)


def _entry(element) -> Entry | None:
    # <loc> and <lastmod> are the entry's own children (an <image:loc> is not the page's);
    # news:publication_date sits inside <news:news>.
    fields: dict[str, str] = {}
    for child in element.iter():
        name = _local(child.tag)
        own = child.getparent() is element
        if (own and name in ("loc", "lastmod") or name == "publication_date") and name not in fields and child.text:
            fields[name] = child.text.strip()
    loc = fields.get("loc", "")
    if not loc.startswith(("http://", "https://")):
        return None
    return Entry(loc, _date(fields.get("lastmod")), _date(fields.get("publication_date")))


def _date(value: str | None) -> datetime | None:
    return parse_date(value) if value else None
