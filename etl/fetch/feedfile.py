"""RSS/Atom/RDF bytes -> RawItem, through feedparser (it knows every dialect).

Pure: the bytes come from a saved file or from ``feeds.fetch_feed``; nothing here touches the
network. feedparser is only ever given bytes, never a string it might take for a URL.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Iterator
from urllib.parse import urljoin

import feedparser

from ..clean.html import looks_like_html
from ..clean.urls import canonical_url
from ..models import ItemError, RawItem
from .limits import DEFAULT_LIMITS, Limits, read_capped, too_big
from .decode import DecodeError, decode_with_charset, looks_like_mojibake

MAX_BYTES = 64 * 1024 * 1024
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")
# Markup escaped twice by its CMS ("&amp;lt;p&amp;gt;") reaches us as "&lt;p&gt;" text.
_ESCAPED_TAG = re.compile(r"&lt;/?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*?)?/?&gt;")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed document holds. ``readable`` is False when the bytes are not a feed at all;
    ``warning`` carries feedparser's complaint about a malformed but readable feed."""

    items: list[RawItem]
    readable: bool
    warning: str | None = None
    problem: str | None = None


def iter_feed(stream: BinaryIO, name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[RawItem | ItemError]:
    # feedparser needs the whole document; saved feeds are small, and the cap keeps it so.
    data = read_capped(stream, MAX_BYTES)
    if len(data) > MAX_BYTES:
        yield ItemError(name, f"feed file larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return
    for item in parse_feed(data, name):
        yield capped_item(item, limits)


def capped_item(item: RawItem | ItemError, limits: Limits = DEFAULT_LIMITS) -> RawItem | ItemError:
    """An entry whose text is over the record cap is an error, as in the other readers: its
    cleaning would cost time and memory in proportion (a 14 MB item, 80 MB and 3 s)."""
    if isinstance(item, ItemError):
        return item
    texts = [v for v in (item.title, item.body, item.summary) if v]
    if sum(map(len, texts)) * 4 <= limits.record_bytes:  # at most 4 UTF-8 bytes a character
        return item
    size = sum(len(v.encode("utf-8", "surrogatepass")) for v in texts)
    if size <= limits.record_bytes:
        return item
    return ItemError(item.location, too_big(size, limits), (item.title or item.body or "")[:300])


def parse_feed(data: bytes, name: str, base_url: str | None = None,
               content_type: str | None = None) -> Iterator[RawItem | ItemError]:
    """Feed bytes -> one RawItem per entry. Malformed but readable feeds still yield their entries."""
    feed = read_feed(data, name, base_url, content_type)
    if not feed.items:
        reason = feed.problem or "feed has no entries"
        yield ItemError(name, reason, data[:300].decode("utf-8", "replace"))
        return
    yield from feed.items


def read_feed(data: bytes, name: str, base_url: str | None = None,
              content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes; ``content_type`` is the HTTP header (its charset matters), ``base_url``
    the address the feed came from (relative links resolve against it)."""
    parsed = _parse(data, content_type)
    warning = _warning(parsed)
    redecoded = _redecode(data, parsed, content_type)
    if redecoded is not None:
        parsed, warning = redecoded
    if not parsed.entries:
        if parsed.get("version"):
            return ParsedFeed([], readable=True, warning=warning)
        problem = f"not a readable feed: {_bozo_message(parsed)}" if parsed.bozo else "not a feed"
        return ParsedFeed([], readable=False, problem=problem)
    items = [entry_to_item(e, f"{name}#{i}", base_url) for i, e in enumerate(parsed.entries, start=1)]
    if not warning and any(looks_like_mojibake(i.title or "") for i in items):
        # The bytes really are this text (UTF-8 encoded twice upstream); say so rather than guess.
        warning = "titles look like mojibake (text encoded twice by the publisher?)"
    return ParsedFeed(drop_unstable_guids(items), readable=True, warning=warning)


def _parse(data: bytes, content_type: str | None) -> Any:
    # No content-location: given one, feedparser also "resolves" a non-URL <guid> against it
    # ("101104" -> "https://host/feeds/101104"), tying the id to the feed's address. Links are
    # resolved in entry_to_item instead. No sanitizing: the cleaner turns markup into text in one
    # linear pass anyway, and feedparser's sanitizer (a Python HTML parser over every field) took
    # 5.3 s and 204 MB for a 14 MB item, against 1.0 s and 134 MB without it.
    headers = {"content-type": content_type} if content_type else {}
    return feedparser.parse(data, response_headers=headers, sanitize_html=False)


def _redecode(data: bytes, parsed: Any, content_type: str | None) -> tuple[Any, str] | None:
    """Re-parse from our own decoding when feedparser's charset disagrees with the bytes.

    feedparser believes the HTTP or XML charset whenever the bytes decode with it, so UTF-8
    labelled windows-1256 (or windows-1256 labelled iso-8859-1) comes out as mojibake.
    """
    if data.isascii():
        return None
    try:
        text, codec = decode_with_charset(data, content_type)
    except DecodeError:
        return None
    if _decodes_same(data, parsed.get("encoding"), text):
        return None
    utf8 = _XML_DECL_ENCODING.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")
    mime = (content_type or "application/xml").split(";")[0].strip()
    reparsed = _parse(utf8, f"{mime}; charset=utf-8")
    label = parsed.get("encoding") or "an unknown charset"
    return reparsed, f"charset: feed read as {label} but its bytes are {codec}"


def _decodes_same(data: bytes, encoding: str | None, text: str) -> bool:
    if not encoding:
        return False
    try:
        theirs = data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False
    return theirs.lstrip("\ufeff") == text


def _warning(parsed: Any) -> str | None:
    if not parsed.bozo:
        return None
    exc = parsed.get("bozo_exception")
    # RFC 3023 makes a charset-less text/xml "us-ascii"; no real feed means that, so it is noise.
    if isinstance(exc, feedparser.CharacterEncodingOverride) and "declared as us-ascii" in str(exc):
        return None
    return _bozo_message(parsed)


def _bozo_message(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "malformed feed"
    return text.splitlines()[0][:300]


def entry_to_item(entry: Any, location: str, base_url: str | None = None) -> RawItem:
    content = entry.get("content") or []
    full = "\n".join(c.get("value", "") for c in content if c.get("value"))
    summary = _markup(entry.get("summary"))
    full = _markup(full)
    tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    link = entry.get("link")
    guid = (entry.get("id") or "").strip() or None
    return RawItem(
        location=location,
        title=_markup(entry.get("title")),
        body=full or summary,
        summary=summary if full and summary != full else None,
        url=urljoin(base_url, link) if base_url and link else link,
        guid=guid,
        published=entry.get("published") or entry.get("updated") or entry.get("created"),
        extra={"tags": tags} if tags else {},
    )


def _markup(value: str | None) -> str | None:
    """Undo a second layer of escaping so the cleaner sees markup, not ``&lt;p&gt;`` text:
    ``"&lt;p&gt;متن&lt;/p&gt;" -> "<p>متن</p>"``. Text with real tags is left alone."""
    if not value or looks_like_html(value) or not _ESCAPED_TAG.search(value):
        return value
    return html.unescape(value)


def drop_unstable_guids(items: list[RawItem]) -> list[RawItem]:
    """Items whose GUID the feed also gives to other articles lose it (``guid=None``).

    Some feeds reuse one <guid> (often the home page) for every item; keyed on it, all of
    them would collapse into one row. Their links tell them apart.
    """
    links: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.guid:
            links[item.guid].add(canonical_url(item.url) or item.url or "")
    unstable = {guid for guid, seen in links.items() if len(seen) > 1}
    return [replace(item, guid=None, extra={**item.extra, "guid_reused": item.guid})
            if item.guid in unstable else item for item in items]
