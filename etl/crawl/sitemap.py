"""Sitemap bytes -> entries, pure: sitemap indexes, URL sets (with Google News tags) and plain-text
sitemaps, as real sites serve them.

Bytes are judged by what they are, not by what the URL or headers claim: a ``.gz`` that was
already decompressed in transit is plain XML, a ``.gz`` that is an HTML error page is a located
failure, CDATA-wrapped ``<loc>`` and namespace-less XML read like any other.

Everything streams, so memory stays flat however large a sitemap is (the protocol allows 50 MB
uncompressed and 50,000 URLs; the crawl fetches one into a temporary file): gzip is inflated as
it is read, at most ``MAX_UNCOMPRESSED`` bytes of it, XML goes through lxml ``iterparse`` with
each element freed once read, and ``read_sitemap`` hands out its entries one at a time.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Iterator, Protocol

from lxml import etree

from ..clean.dates import parse_date

__all__ = ["MAX_UNCOMPRESSED", "Entry", "Parsed", "Sitemap", "SitemapError", "parse_sitemap", "read_sitemap"]

MiB = 1024 * 1024
MAX_UNCOMPRESSED = 64 * MiB  # each sitemap, as XML; the protocol allows 50 MB
_GZIP_MAGIC = b"\x1f\x8b"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
_BLANK = b"\xef\xbb\xbf \t\r\n"  # BOM bytes and white space before the document
_HEAD = 512  # bytes of the document looked at to tell what it is


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


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A sitemap being read: its kind, known from its first bytes, and its entries, read as they
    are asked for (iterating may still raise SitemapError: a gzip broken further on, a size cap)."""

    kind: str  # "index" or "urlset"
    entries: Iterator[Entry]


def parse_sitemap(body: bytes, url: str, max_bytes: int = MAX_UNCOMPRESSED) -> Parsed:
    """Read one sitemap document held in memory; raises SitemapError naming ``url`` when it is not one."""
    sitemap = read_sitemap(io.BytesIO(body), url, max_bytes)
    return Parsed(sitemap.kind, list(sitemap.entries))


def read_sitemap(stream: BinaryIO, url: str, max_bytes: int = MAX_UNCOMPRESSED) -> Sitemap:
    """Start reading the sitemap in ``stream``: raises SitemapError naming ``url`` when its first
    bytes are not a sitemap; its entries follow as they are read."""
    reader = _unwrap(stream, url, max_bytes)
    head = _document_head(reader)
    if not head:
        raise SitemapError(url, "empty sitemap")
    if any(start in head[:_HEAD].lower() for start in _HTML_STARTS):
        raise SitemapError(url, "an HTML page, not a sitemap")
    reader = _Prefixed(head, reader)
    if not head.startswith(b"<"):
        return Sitemap("urlset", _plain_text(reader, url))
    return _xml(reader, url)


def _unwrap(stream: BinaryIO, url: str, max_bytes: int) -> _Reader:
    """The document's bytes: gunzipped as they are read when they are gzip (a ``.gz`` served as
    is), at most twice (gzip inside Content-Encoding: gzip); at most ``max_bytes`` of them."""
    reader: _Reader = _Capped(stream, max_bytes, url)
    for _ in range(2):
        magic = reader.read(2)
        reader = _Prefixed(magic, reader)
        if magic != _GZIP_MAGIC:
            break
        reader = _Capped(_Gunzip(reader, url), max_bytes, url)
    return reader


def _document_head(reader: _Reader) -> bytes:
    """The first bytes after any BOM and blank lines (at least _HEAD of them, when there are)."""
    head = b""
    while len(head) < _HEAD:
        chunk = reader.read(64 * 1024)
        if not chunk:
            break
        head = (head + chunk).lstrip(_BLANK)
    return head


class _Reader(Protocol):
    """What lxml, gzip and these wrappers read from."""

    def read(self, size: int = -1) -> bytes: ...


class _Prefixed:
    """``prefix``, then the rest of ``stream``: bytes looked at go back in front."""

    def __init__(self, prefix: bytes, stream) -> None:
        self.prefix, self.stream = prefix, stream

    def read(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.stream.read(size)
        if size < 0 or size >= len(self.prefix):
            data, self.prefix = self.prefix, b""
            rest = self.stream.read(-1 if size < 0 else size - len(data))
            return data + rest
        data, self.prefix = self.prefix[:size], self.prefix[size:]
        return data


class _Capped:
    """At most ``limit`` bytes of ``stream``; one more is a SitemapError (permanent: the same
    sitemap will be as big next time)."""

    def __init__(self, stream, limit: int, url: str) -> None:
        self.stream, self.limit, self.url, self.seen = stream, limit, url, 0

    def read(self, size: int = -1) -> bytes:
        room = self.limit + 1 - self.seen
        data = self.stream.read(room if size < 0 else min(size, room))
        self.seen += len(data)
        if self.seen > self.limit:
            raise SitemapError(self.url, f"over {self.limit // MiB} MiB uncompressed")
        return data


class _Gunzip:
    """gzip inflated as it is read; broken gzip is a SitemapError."""

    def __init__(self, stream, url: str) -> None:
        self.gzip, self.url = gzip.GzipFile(fileobj=stream), url

    def read(self, size: int = -1) -> bytes:
        try:
            return self.gzip.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise SitemapError(self.url, f"corrupt gzip: {exc}") from None


def _plain_text(reader: _Reader, url: str) -> Iterator[Entry]:
    """One URL a line; lines are read in bounded pieces (a URL is never longer than 64 KiB)."""
    found = 0
    for line in io.TextIOWrapper(io.BufferedReader(_Raw(reader)), encoding="utf-8", errors="replace"):
        line = line.strip()
        if line.startswith(("http://", "https://")):
            found += 1
            yield Entry(line)
    if not found:
        raise SitemapError(url, "neither XML nor a list of URLs")


class _Raw(io.RawIOBase):
    """A _Reader as a raw stream, so the standard buffered and text layers can read lines from it."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.reader.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _xml(reader: _Reader, url: str) -> Sitemap:
    events = etree.iterparse(reader, events=("start", "end"), recover=True,
                             resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = next((element for event, element in events if event == "start"), None)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(url, f"not XML: {exc}") from None
    root_name = _local(root.tag) if root is not None else None
    if root_name not in ("sitemapindex", "urlset"):
        raise SitemapError(url, f"not a sitemap (root element <{root_name or '?'}>)")
    return Sitemap("index" if root_name == "sitemapindex" else "urlset", _entries(events))


def _entries(events) -> Iterator[Entry]:
    try:
        for event, element in events:
            if event != "end" or _local(element.tag) not in ("url", "sitemap"):
                continue
            entry = _entry(element)
            if entry is not None:
                yield entry
            element.clear(keep_tail=False)
            while element.getprevious() is not None:  # free what was read: stream, not tree
                del element.getparent()[0]
    except etree.XMLSyntaxError:
        return  # a truncated document still yields what it held before the break


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
