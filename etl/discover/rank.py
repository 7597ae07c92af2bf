"""Kept or dropped, and why; best first. Pure: reports and the time -> the same reports judged.

A feed is kept when it could be read, has items, its newest item is at most ``STALE_DAYS`` old
(or undated), at least half of its items are Persian, and it is not another address of a feed
already kept (the same items). Kept feeds rank by how much they hold: more items first (a
category feed holds a share of the main one), then full text before a lead, then the newest.
A sitemap is kept when it could be read, lists something, and is not stale; a news sitemap
(URLs with publication dates: what a crawl of the last days needs) ranks first, then indexes,
then plain URL sets, the newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .model import FeedReport, SitemapReport

__all__ = ["STALE_DAYS", "rank_feeds", "rank_sitemaps"]

STALE_DAYS = 30
PERSIAN_SHARE = 0.5
SAME_ITEMS = 0.8  # two feeds sharing this much of their items are one feed at two addresses
TEHRAN = ZoneInfo("Asia/Tehran")
_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))


def rank_feeds(reports: list[FeedReport], now: datetime) -> list[FeedReport]:
    """``reports`` judged (``kept``, ``why``), best first: the kept ones ranked, then the dropped
    ones in the order they were tried."""
    for report in reports:
        report.kept, report.why = _feed_verdict(report, now)
    kept = sorted((r for r in reports if r.kept),
                  key=lambda r: (-r.items, not r.full_text, -(r.newest or _EPOCH).timestamp()))
    for i, report in enumerate(kept):
        twin = next((k for k in kept[:i] if k.kept and _same_items(k, report)), None)
        if twin is not None:
            report.kept, report.why = False, f"the same items as {twin.url}"
    return [r for r in kept if r.kept] + [r for r in reports if not r.kept]


def _feed_verdict(report: FeedReport, now: datetime) -> tuple[bool, str]:
    if report.problem:
        return False, report.problem
    if not report.items:
        return False, "a feed with no items"
    share = report.persian_share or 0.0
    held = _held(report)
    if report.newest is not None and now - report.newest > timedelta(days=STALE_DAYS):
        return False, f"stale: {held}"
    if share < PERSIAN_SHARE:
        return False, f"mostly not Persian: {held}"
    return True, held


def _held(report: FeedReport) -> str:
    """``"20 items, newest 1404-10-20 15:30 Tehran (2026-01-10), 95% Persian, lead only"``."""
    parts = [f"{report.items} item{'s' if report.items != 1 else ''}",
             f"newest {_when(report.newest)}" if report.newest else "no item dated",
             f"{round(100 * (report.persian_share or 0))}% Persian"]
    if report.full_text is not None:
        parts.append("full text" if report.full_text else "lead only")
    return ", ".join(parts)


def _when(at: datetime) -> str:
    return at.astimezone(TEHRAN).strftime("%Y-%m-%d %H:%M Tehran")


def _same_items(a: FeedReport, b: FeedReport) -> bool:
    if not a.item_links or not b.item_links:
        return False
    shared = len(a.item_links & b.item_links)
    return shared >= SAME_ITEMS * min(len(a.item_links), len(b.item_links))


def rank_sitemaps(reports: list[SitemapReport], now: datetime) -> list[SitemapReport]:
    for report in reports:
        report.kept, report.why = _sitemap_verdict(report, now)
    order = {"news": 0, "index": 1, "urlset": 2}
    kept = sorted((r for r in reports if r.kept),
                  key=lambda r: (order["news" if r.news else r.kind or "urlset"], -(r.newest or _EPOCH).timestamp(),
                                 -r.entries))
    return kept + [r for r in reports if not r.kept]


def _sitemap_verdict(report: SitemapReport, now: datetime) -> tuple[bool, str]:
    if report.problem:
        return False, report.problem
    if not report.entries:
        return False, "a sitemap that lists nothing"
    what = ("a news sitemap" if report.news else "a sitemap index" if report.kind == "index" else "a sitemap")
    listed = f"{report.entries} {'sitemaps' if report.kind == 'index' else 'URLs'}"
    dated = f"newest {_when(report.newest)}" if report.newest else "no dates"
    if report.newest is not None and now - report.newest > timedelta(days=STALE_DAYS):
        return False, f"stale: {what}, {listed}, {dated}"
    return True, f"{what}: {listed}, {dated}"
