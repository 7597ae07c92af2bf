"""One outlet's discovery, start to end: its page, its feeds, its sitemaps, ranked.

The address rules are those of a feed configured at the same address: a public outlet's
candidates may be on any public host (a feed on ``feeds.bbci.co.uk`` for ``bbc.com/persian``),
never on a private one; an outlet on loopback (a local mirror, a test site) is read on its own
site and port only. Each candidate is fetched at most once; at most ``MAX_FEEDS`` feed and
``MAX_SITEMAPS`` sitemap candidates are fetched (the rest are reported as not tried).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Callable
from urllib.parse import urljoin, urlsplit

from ..crawl.discover import read_robots
from ..fetch.addresses import resolves_to_loopback, url_host
from ..fetch.decode import DecodeError, decode_html
from ..fetch.errors import FetchError
from ..fetch.pages import site_hosts
from .candidates import looks_like_html, page_feeds, site_root, usual_feeds, usual_sitemaps
from .model import Candidate, Discovery, FeedReport, SitemapReport
from .probe import feed_report, probe_feed, probe_sitemap
from .rank import rank_feeds, rank_sitemaps

__all__ = ["MAX_FEEDS", "MAX_SITEMAPS", "DiscoverError", "discover_outlet"]

MAX_FEEDS = 24
MAX_SITEMAPS = 12


class DiscoverError(ValueError):
    """The address cannot be discovered at all (not an http(s) URL): a usage error."""


def discover_outlet(client, url: str, now: datetime, proxy: str | None = None) -> Discovery:
    """Everything ``url``'s outlet offers, judged. ``client`` is an ``HttpClient`` (its ``get`` and
    ``resolve``). Raises DiscoverError for an address that is not a URL and the FetchError of the
    page itself when it cannot be fetched; a candidate's failure is only reported on it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not url_host(url):
        raise DiscoverError(f"{url!r} is not an http(s) address of an outlet (e.g. https://www.mehrnews.com/)")
    url = url.strip()
    get = _rules(client, url, proxy)
    page = get(url)  # the outlet's own page: without it there is nothing to discover
    discovery = Discovery(url, site_root(page.url))
    discovery.feeds = rank_feeds(_feeds(get, url, page), now)
    discovery.sitemaps = rank_sitemaps(_sitemaps(get, discovery), now)
    return discovery


def _rules(client, url: str, proxy: str | None) -> Callable:
    loopback = resolves_to_loopback(url, client.resolve)
    hosts = site_hosts(url) if loopback else None

    def get(target: str, **options):
        return client.get(target, allowed_hosts=hosts, allow_loopback=loopback, proxy=proxy, **options)
    return get


def _feeds(get, url: str, page) -> list[FeedReport]:
    """The page itself when it is a feed, then its candidates, listing pages one level deep."""
    reports: list[FeedReport] = []
    if not looks_like_html(page.body):
        given = feed_report(Candidate(page.url, "the address given"), page, listing=False)
        if given.items:
            reports.append(given)
    html = _html(page) if looks_like_html(page.body) else ""
    queue = deque(page_feeds(html, page.url) + usual_feeds(site_root(page.url)))
    seen = {url, page.url}
    while queue:
        candidate = queue.popleft()
        if candidate.url in seen:
            continue
        seen.add(candidate.url)
        if len(reports) >= MAX_FEEDS:
            reports.append(FeedReport(candidate.url, candidate.found, problem=f"not tried: at most {MAX_FEEDS} "
                                      "feed candidates are fetched"))
            continue
        report = probe_feed(get, candidate, listing=not candidate.found.startswith("listed on"))
        reports.append(report)
        queue.extend(report.listed)
    return reports


def _html(page) -> str:
    try:
        return decode_html(page.body, page.content_type)
    except DecodeError:
        return ""  # a page that cannot be decoded names no feed; the usual paths are still tried


def _sitemaps(get, discovery: Discovery) -> list[SitemapReport]:
    """robots.txt's sitemaps, the well-known paths, and the news sitemaps an index lists."""
    candidates: list[Candidate] = []
    try:
        robots = read_robots(get, discovery.root)
        candidates = [Candidate(urljoin(discovery.root, u), "named in robots.txt") for u in robots.sitemaps]
    except FetchError as exc:
        discovery.notes.append(f"robots.txt: {exc.reason}")
    queue = deque(candidates + usual_sitemaps(discovery.root))
    seen: set[str] = set()
    reports: list[SitemapReport] = []
    while queue:
        candidate = queue.popleft()
        if candidate.url in seen:
            continue
        seen.add(candidate.url)
        if len(reports) >= MAX_SITEMAPS:
            reports.append(SitemapReport(candidate.url, candidate.found,
                                         problem=f"not tried: at most {MAX_SITEMAPS} sitemaps are fetched"))
            continue
        report = probe_sitemap(get, candidate)
        reports.append(report)
        queue.extendleft(reversed(report.children))  # an index's news sitemap next
    return reports
