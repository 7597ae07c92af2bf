"""Where a site keeps its sitemaps and what its robots.txt allows.

Order: the source's own ``sitemaps = [...]`` list, else the ``Sitemap:`` lines of robots.txt,
else the well-known paths. robots.txt is read with protego (Google's reading of the standard:
longest match wins, ``Allow`` beats an equal ``Disallow``, wildcards, ``Crawl-delay``).

robots.txt is written by the site, so it is bounded like any input: only its first 500 KiB are
read (Google's limit; the rest is ignored, not refused), which keeps a rule check to a few
milliseconds however many rules the site writes, and ``Crawl-delay`` counts up to 60 s (a
``Crawl-delay: 100000`` would stop a crawl after one page; ``1e308`` could not even be slept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence
from urllib.parse import urljoin, urlsplit

from protego import Protego

from ..fetch.http import FetchError, Response

__all__ = ["MAX_CRAWL_DELAY", "ROBOTS_MAX_BYTES", "WELL_KNOWN", "Discovery", "Robots", "discover", "read_robots",
           "site_root"]

WELL_KNOWN = ("/sitemap.xml", "/sitemap_index.xml", "/sitemap-index.xml", "/sitemap-news.xml",
              "/news-sitemap.xml", "/sitemap.xml.gz")
ROBOTS_AGENT = "news-etl"
ROBOTS_MAX_BYTES = 500 * 1024  # Google reads this much and ignores the rest
MAX_CRAWL_DELAY = 60.0  # seconds; a larger Crawl-delay is read as this

Get = Callable[..., Response]  # get(url, **options of HttpClient.get)


@dataclass(frozen=True, slots=True)
class Robots:
    """A parsed robots.txt; ``None`` rules (no robots.txt) allow everything."""

    rules: Protego | None = None

    def allows(self, url: str) -> bool:
        return self.rules is None or self.rules.can_fetch(url, ROBOTS_AGENT)

    @property
    def crawl_delay(self) -> float:
        """Seconds between pages the site asks for, at most MAX_CRAWL_DELAY; nonsense is 0."""
        delay = self.rules.crawl_delay(ROBOTS_AGENT) if self.rules is not None else None
        if delay is None or math.isnan(delay) or delay <= 0:
            return 0.0
        return min(float(delay), MAX_CRAWL_DELAY)

    @property
    def sitemaps(self) -> list[str]:
        return list(self.rules.sitemaps) if self.rules is not None else []


@dataclass(frozen=True, slots=True)
class Discovery:
    robots: Robots
    sitemaps: list[str]
    via: str  # "config", "robots" or "well-known"
    # Bodies fetched while probing the well-known paths, so the walk does not fetch them again.
    probed: dict[str, Response] = field(default_factory=dict)


def site_root(url: str) -> str:
    """``"https://www.mehrnews.com/rss?x=1"`` -> ``"https://www.mehrnews.com/"``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def read_robots(get: Get, root: str) -> Robots:
    """robots.txt of ``root``. Absent (4xx) allows everything; a server error, a timeout or a
    bot wall raises the FetchError, since crawling on without knowing the rules is not polite."""
    url = urljoin(root, "/robots.txt")
    try:
        response = get(url, max_bytes=ROBOTS_MAX_BYTES, cut=True)
    except FetchError as exc:
        if exc.kind != "blocked" and exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
            return Robots()
        raise
    return Robots(Protego.parse(response.body.decode("utf-8", errors="replace")))


def discover(get: Get, root: str, configured: Sequence[str] = ()) -> Discovery:
    """Robots rules and the sitemaps to start from; no sitemap found -> an empty list."""
    robots = read_robots(get, root)
    if configured:
        return Discovery(robots, [urljoin(root, u) for u in configured], "config")
    if robots.sitemaps:
        return Discovery(robots, _unique(robots.sitemaps), "robots")
    probed: dict[str, Response] = {}
    found: list[str] = []
    for path in WELL_KNOWN:
        url = urljoin(root, path)
        try:
            probed[url] = get(url)
        except FetchError as exc:
            if exc.kind == "blocked":
                raise  # the site walls us: every other path would answer the same
            if exc.status is None or not 200 <= exc.status < 300:
                continue  # most of these paths do not exist on a given site
            # It exists but its body was refused (a sitemap over the page cap): the walk fetches
            # it again under the sitemap limit.
        found.append(url)
    return Discovery(robots, found, "well-known", probed)


def _unique(urls: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(u.strip() for u in urls if u.strip()))
