"""Fetch each candidate once, through the HTTP client passed in, and measure what it holds.

``get`` is ``HttpClient.get`` with the outlet's address rules bound (``outlet.Rules``): every
request goes through the product's client (User-Agent, per-host delay, size caps, address checks,
bot-wall detection), so discovery is as polite and as careful as a poll. A failure is recorded on
the candidate (its ``problem``), never raised: one dead feed does not end the discovery.
"""

from __future__ import annotations

import tempfile
from typing import Callable

from ..crawl.sitemap import MAX_UNCOMPRESSED, SitemapError, read_sitemap
from ..fetch.decode import DecodeError, decode_html
from ..fetch.errors import FetchError
from ..fetch.feedfile import read_feed
from ..fetch.http import Response
from ..models import RawItem
from .candidates import looks_like_html, page_feeds
from .measure import full_text, newest_date, persian_items
from .model import Candidate, FeedReport, SitemapReport

__all__ = ["feed_report", "probe_feed", "probe_sitemap"]

Get = Callable[..., Response]
MAX_CHILDREN = 3  # an index's news sitemaps tried besides it


def probe_feed(get: Get, candidate: Candidate, listing: bool = True) -> FeedReport:
    """``candidate`` fetched and read as a feed; an HTML page is read as a page listing feeds
    (``listing``: its links become ``listed``), one level deep."""
    try:
        response = get(candidate.url)
    except FetchError as exc:
        return FeedReport(candidate.url, candidate.found, problem=exc.reason)
    return feed_report(candidate, response, listing)


def feed_report(candidate: Candidate, response: Response, listing: bool = True) -> FeedReport:
    """The pure half of ``probe_feed``: a fetched answer -> what it holds."""
    report = FeedReport(candidate.url, candidate.found)
    if looks_like_html(response.body):
        report.problem = "an HTML page, not a feed"
        if listing:
            try:
                html = decode_html(response.body, response.content_type)
            except DecodeError as exc:
                report.problem = f"an HTML page that cannot be decoded ({exc.reason})"
                return report
            report.listed = page_feeds(html, response.url, found_on=candidate.url)
            if report.listed:
                report.problem = f"a page listing {len(report.listed)} feed(s), each tried in turn"
        return report
    feed = read_feed(response.body, response.url, base_url=response.url, content_type=response.content_type)
    if not feed.readable:
        report.problem = feed.problem or "not a feed"
        return report
    items: list[RawItem] = feed.items
    report.items = len(items)
    report.newest = newest_date(items)
    report.persian_items = persian_items(items)
    report.full_text = full_text(items)
    report.item_links = frozenset(i.url or i.guid or "" for i in items) - {""}
    return report


def probe_sitemap(get: Get, candidate: Candidate) -> SitemapReport:
    """``candidate`` fetched (into a temporary file, under the sitemap limit) and read as it streams."""
    report = SitemapReport(candidate.url, candidate.found)
    with tempfile.TemporaryFile() as spool:
        try:
            get(candidate.url, max_bytes=MAX_UNCOMPRESSED, into=spool)
            spool.seek(0)
            sitemap = read_sitemap(spool, candidate.url)
            report.kind = sitemap.kind
            for entry in sitemap.entries:
                _count(report, entry)
        except (FetchError, SitemapError) as exc:
            report.problem = exc.reason
    return report


def _count(report: SitemapReport, entry) -> None:
    report.entries += 1
    when = entry.published or entry.lastmod
    if when is not None and (report.newest is None or when > report.newest):
        report.newest = when
    if entry.published is not None:
        report.news = True
    if report.kind == "index" and "news" in entry.loc.lower() and len(report.children) < MAX_CHILDREN:
        report.children.append(Candidate(entry.loc, f"listed in {report.url}"))
