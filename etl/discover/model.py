"""What discovery reports about each candidate: the records ``probe`` fills and ``rank`` judges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Candidate", "Discovery", "FeedReport", "SitemapReport"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An address worth fetching and how it was found (``"declared in the page's head"``)."""

    url: str
    found: str


@dataclass(slots=True)
class FeedReport:
    url: str
    found: str
    problem: str | None = None  # why it could not be read as a feed (an HTTP error, a wall, not a feed)
    items: int = 0
    newest: datetime | None = None  # aware UTC
    persian_items: int = 0  # items written in Persian (not another language, not Arabic)
    full_text: bool | None = None  # items carry the whole article, not only a lead
    title: str | None = None
    listed: list[Candidate] = field(default_factory=list)  # a page listing feeds: the feeds it links
    item_links: frozenset[str] = frozenset()  # to tell two addresses of one feed apart
    kept: bool = False
    why: str = ""

    @property
    def persian_share(self) -> float | None:
        return round(self.persian_items / self.items, 2) if self.items else None

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "kept": self.kept, "why": self.why, "found": self.found, "items": self.items,
                "newest": self.newest.isoformat() if self.newest else None, "persian_share": self.persian_share,
                "full_text": self.full_text, "title": self.title}


@dataclass(slots=True)
class SitemapReport:
    url: str
    found: str
    problem: str | None = None
    kind: str | None = None  # "index" or "urlset"
    entries: int = 0
    newest: datetime | None = None
    news: bool = False  # a Google News sitemap: its URLs carry publication dates
    children: list[Candidate] = field(default_factory=list)  # an index's news sitemaps, to try too
    kept: bool = False
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "kept": self.kept, "why": self.why, "found": self.found, "kind": self.kind,
                "entries": self.entries, "newest": self.newest.isoformat() if self.newest else None,
                "news": self.news}


@dataclass(slots=True)
class Discovery:
    """An outlet's feeds and sitemaps, each list best first (kept ones before dropped ones)."""

    url: str  # the address asked about
    root: str  # its site's root
    feeds: list[FeedReport] = field(default_factory=list)
    sitemaps: list[SitemapReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be looked at (robots.txt, ...)

    @property
    def feed(self) -> FeedReport | None:
        return next((f for f in self.feeds if f.kept), None)

    @property
    def sitemap(self) -> SitemapReport | None:
        return next((s for s in self.sitemaps if s.kept), None)

    def as_dict(self) -> dict[str, Any]:
        return {"feeds": [f.as_dict() for f in self.feeds], "sitemaps": [s.as_dict() for s in self.sitemaps]}
