"""Walk a site's sitemap indexes, fetching only the sitemaps that can hold URLs of the range,
and record every sitemap and article URL in the frontier as it goes.

Each sitemap's fetch result (its children or its URLs, and its state) commits in one
transaction, so an interrupted walk resumes at the first sitemap it had not finished; a sitemap
already read is read back from the table instead of fetched, unless it may have changed since
in a way that matters for the range.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Callable, Sequence

from sqlalchemy import Engine

from ..fetch.http import FetchError, Response
from ..models import ItemError
from ..load import frontier
from .select import Observed, Window, sitemap_skip, url_span
from .sitemap import MAX_UNCOMPRESSED, Sitemap, SitemapError, read_sitemap

__all__ = ["MAX_DEPTH", "SitemapWalk", "WalkCounts"]

MAX_DEPTH = 6  # robots -> index -> year -> month -> day is 4; deeper is a loop or a trap
# A sitemap's bytes as sent (gzip, or inflated in transit) go to a temporary file, at most this many:
# the protocol's 50 MB uncompressed, with room, and never in memory.
SITEMAP_MAX_BYTES = MAX_UNCOMPRESSED
PAGES_PER_WRITE = 1000  # article URLs recorded per statement as a sitemap is read


@dataclass(slots=True)
class WalkCounts:
    found: int = 0     # sitemaps listed (discovery and indexes) that the walk considered
    fetched: int = 0   # fetched and parsed now
    reused: int = 0    # read back from the frontier, not fetched
    skipped: int = 0   # pruned: cannot hold URLs of the range
    failed: int = 0    # could not be fetched or parsed (now, or permanently before)
    skip_reasons: list[str] = field(default_factory=list)


class SitemapWalk:
    def __init__(self, engine: Engine, source_id: int, window: Window, get: Callable[..., Response],
                 now: Callable[[], datetime], on_error: Callable[[ItemError], None],
                 probed: dict[str, Response] | None = None) -> None:
        self.engine = engine
        self.source_id = source_id
        self.window = window
        self.get = get
        self.now = now
        self.on_error = on_error
        self.probed = dict(probed or {})
        self.counts = WalkCounts()

    def run(self, roots: Sequence[str]) -> WalkCounts:
        with self.engine.begin() as conn:
            known = {r.url for r in frontier.children(conn, self.source_id, None, roots)}
            frontier.add_sitemaps(conn, self.source_id, None, [(u, None) for u in roots if u not in known])
            rows = frontier.children(conn, self.source_id, None, roots)
        self._walk(rows, depth=1, path=frozenset())
        return self.counts

    def _walk(self, rows: list, depth: int, path: frozenset[str]) -> None:
        """Siblings in index order; each fetched one tells the next ones how the index is ordered."""
        observed = [_observed(r) for r in rows if _observed(r)]
        for row in rows:
            self.counts.found += 1
            reason = sitemap_skip(row.url, row.lastmod, self.window, observed, row.position)
            if reason or row.url in path:
                self.counts.skipped += 1
                self.counts.skip_reasons.append(f"{row.url}: {reason or 'lists itself'}")
                continue
            row = self._visit(row)
            if _observed(row):
                observed.append(_observed(row))
            if row.state == "done" and row.kind == "index":
                if depth >= MAX_DEPTH:
                    self._fail(row, f"sitemap index nested deeper than {MAX_DEPTH} levels", transient=False)
                    continue
                with self.engine.connect() as conn:
                    kids = frontier.children(conn, self.source_id, row.id)
                self._walk(kids, depth + 1, path | {row.url})

    def _visit(self, row):
        """The row after fetching it, or as stored when that is still good for the range."""
        if row.state == "done" and not self._stale(row):
            self.counts.reused += 1
            return row
        if row.state == "failed" and not row.transient:
            self.counts.failed += 1
            return row
        return self._fetch(row)

    def _stale(self, row) -> bool:
        # Changed since we read it (the index says so), or, with no lastmod to tell, read before
        # the range ended, so entries of the range may have been added since.
        if row.lastmod is not None:
            return row.fetched_at is None or row.fetched_at < row.lastmod
        return row.fetched_at is None or row.fetched_at < self.window.until

    def _fetch(self, row):
        """Fetch the sitemap into a temporary file and record its entries as they are read, in
        one transaction: a sitemap that breaks half-way (a size cap, broken gzip) records nothing."""
        with tempfile.TemporaryFile() as spool:
            try:
                probed = self.probed.pop(row.url, None)
                if probed is None:
                    self.get(row.url, max_bytes=SITEMAP_MAX_BYTES, into=spool)
                    spool.seek(0)
                with self.engine.begin() as conn:
                    sitemap = read_sitemap(io.BytesIO(probed.body) if probed else spool, row.url)
                    count, oldest, newest = self._store(conn, row, sitemap)
                    frontier.mark_sitemap(conn, row.id, state="done", kind=sitemap.kind, entries=count,
                                          oldest=oldest, newest=newest, fetched_at=self.now(), error=None,
                                          transient=None)
            except FetchError as exc:
                if exc.kind == "blocked":
                    raise  # the site walls us, not this sitemap: the crawl ends, the row stays to retry
                return self._fail(row, f"sitemap: {exc.reason}", exc.transient)
            except SitemapError as exc:
                return self._fail(row, f"sitemap: {exc.reason}", exc.transient)
        self.counts.fetched += 1
        with self.engine.connect() as conn:
            return frontier.sitemap_row(conn, self.source_id, row.url)

    def _store(self, conn, row, sitemap: Sitemap) -> tuple[int, datetime | None, datetime | None]:
        """Record the entries; how many there were, and the oldest and newest date among them."""
        if sitemap.kind == "index":
            listed = list(sitemap.entries)
            frontier.add_sitemaps(conn, self.source_id, row.id, list({e.loc: e.lastmod for e in listed}.items()))
            return len(listed), None, None
        count, oldest, newest = 0, None, None
        while batch := list(islice(sitemap.entries, PAGES_PER_WRITE)):
            pages = [_page_row(e) for e in batch]
            frontier.add_pages(conn, self.source_id, row.id, list({p.url: p for p in pages}.values()))
            count += len(batch)
            for page in pages:
                start, end = page.date_from or page.lastmod, page.date_to or page.lastmod
                oldest = start if start and (oldest is None or start < oldest) else oldest
                newest = end if end and (newest is None or end > newest) else newest
        return count, oldest, newest

    def _fail(self, row, reason: str, transient: bool):
        self.counts.failed += 1
        suffix = " (transient)" if transient else ""
        self.on_error(ItemError(row.url, reason + suffix))
        with self.engine.begin() as conn:
            frontier.mark_sitemap(conn, row.id, state="failed", error=reason, transient=transient,
                                  fetched_at=self.now())
            return frontier.sitemap_row(conn, self.source_id, row.url)


def _observed(row) -> Observed | None:
    if row.state != "done" or row.oldest is None or row.newest is None:
        return None
    return Observed(row.position, row.oldest, row.newest)


def _page_row(entry) -> frontier.PageRow:
    if entry.published is not None:
        return frontier.PageRow(entry.loc, entry.lastmod, entry.published, entry.published)
    span = url_span(entry.loc)
    if span is not None:
        return frontier.PageRow(entry.loc, entry.lastmod, span.start, span.end)
    return frontier.PageRow(entry.loc, entry.lastmod, None, None)
