"""Add an outlet by its address (``news-etl sources discover URL``): find its feeds and sitemaps
from its home page, fetch each candidate once through the product's HTTP client, say why each
was kept or dropped, and propose a ``[[sources]]`` table.

The data flows one way: ``candidates`` (pure: a page -> the feed and sitemap addresses it names,
the usual paths) -> ``probe`` (each candidate fetched through ``get``, the HTTP client passed in,
and measured: items, newest date, share of Persian, full text or lead) -> ``rank`` (pure: kept
or dropped, and why; best first) -> ``propose`` (pure: the TOML block). ``outlet.discover_outlet``
runs them in that order.
"""

from .model import Discovery, FeedReport, SitemapReport
from .outlet import DiscoverError, discover_outlet
from .propose import proposal, source_block

__all__ = ["DiscoverError", "Discovery", "FeedReport", "SitemapReport", "discover_outlet", "proposal", "source_block"]
