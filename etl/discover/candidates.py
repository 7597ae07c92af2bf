"""Where an outlet says its feeds and sitemaps are. Pure: a page's HTML and address -> candidates.

Feeds, in the order they are tried: those the page declares in its head (``<link rel="alternate">``
of a feed type: trafilatura's and feedfinder's first source), then its links that look like feeds
or like a page listing them ("RSS", "خوراک", ``/rss``, ``.xml``), then the usual paths Persian
outlets use (``/rss``, ``/feed``, ``/fa/rss``, ...). A page listing feeds (many Persian outlets
have one) is read the same way, one level deep. Sitemaps: robots.txt's ``Sitemap:`` lines, then the
well-known paths the crawl also tries.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

from ..crawl.discover import WELL_KNOWN
from .model import Candidate

__all__ = ["FEED_TYPES", "USUAL_FEED_PATHS", "looks_like_html", "page_feeds", "site_root", "usual_feeds",
           "usual_sitemaps"]

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/rss",
                        "application/atom", "text/rss+xml", "text/atom+xml", "application/xml", "text/xml",
                        "application/x-rss+xml", "application/x-atom+xml"})
USUAL_FEED_PATHS = ("/rss", "/feed", "/fa/rss", "/rss.xml", "/feed.xml", "/atom.xml")
MAX_LINKS = 40  # feed-like links taken from one page: a listing page of 200 category feeds is cut here
# A link that looks like a feed: a feed file name, or rss/atom/feed as a path segment or parameter.
_FEEDISH = re.compile(r"\.(?:rss|atom|rdf)(?:$|[?#])|(?:^|[/?&=._-])(?:rss|atom|feeds?)(?:$|[/?&=#._-])"
                      r"|\.xml(?:$|[?#])", re.I)
# Link text naming feeds: "RSS", "Feed", "خوراک", "آر اس اس" (with or without spaces or ZWNJ).
_FEED_WORDS = re.compile(r"\b(?:rss|atom|feeds?)\b|خوراک|آر[\s\u200c]*اس[\s\u200c]*اس", re.I)
_SKIP = re.compile(r"comments?/feed|/comments?(?:$|[/?])|sitemap|\.(?:jpe?g|png|gif|css|js|pdf)(?:$|\?)", re.I)


def site_root(url: str) -> str:
    """``"https://www.mehrnews.com/fa/news?x=1"`` -> ``"https://www.mehrnews.com/"``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def looks_like_html(body: bytes) -> bool:
    start = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in start[:1024]


def page_feeds(html: str, page_url: str, found_on: str | None = None) -> list[Candidate]:
    """The feeds a page names, head first, each once: ``found_on`` names a listing page (its links
    are "listed on URL"); else they are the page's own ("declared in the page's head", "linked from
    the page")."""
    soup = BeautifulSoup(html, "lxml")
    found: dict[str, Candidate] = {}
    for link in soup.find_all("link", href=True):
        rel = " ".join(link.get("rel") or []).lower()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rel and (kind in FEED_TYPES or (not kind and _FEEDISH.search(link["href"]))):
            _add(found, link["href"], page_url, f"listed on {found_on}" if found_on else "declared in the page's head")
    for anchor in soup.find_all("a", href=True):
        if len(found) >= MAX_LINKS:
            break
        text = anchor.get_text(" ", strip=True)
        if _FEEDISH.search(anchor["href"]) or _FEED_WORDS.search(text):
            _add(found, anchor["href"], page_url, f"listed on {found_on}" if found_on else "linked from the page")
    return list(found.values())


def _add(found: dict[str, Candidate], href: str, base: str, how: str) -> None:
    url = urljoin(base, href.strip()).split("#")[0]
    if urlsplit(url).scheme in ("http", "https") and not _SKIP.search(url) and url.rstrip("/") != base.rstrip("/"):
        found.setdefault(url, Candidate(url, how))


def usual_feeds(root: str) -> list[Candidate]:
    return [Candidate(urljoin(root, path), "a usual feed path") for path in USUAL_FEED_PATHS]


def usual_sitemaps(root: str) -> list[Candidate]:
    return [Candidate(urljoin(root, path), "a well-known sitemap path") for path in WELL_KNOWN]
