"""Walk a site's sitemap indexes, fetching only the sitemaps that can hold URLs of the range,
and record every sitemap and article URL in the frontier as it goes.

Each sitemap's fetch result (its children or its URLs, and its state) commits in one
transaction, so an interrupted walk resumes at the first sitemap it had not finished; a sitemap
already read is read back from the table instead of fetched, unless it may have changed since
in a way that matters for the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

from sqlalchemy import Engine

from ..fetch.http import FetchError, Response
from ..models import ItemError
from ..load import frontier
from .select import Observed, Window, sitemap_skip, url_span
from .sitemap import Parsed, SitemapError, parse_sitemap

__all__ = ["MAX_DEPTH", "SitemapWalk", "WalkCounts"]

MAX_DEPTH = 6  # robots -> index -> year -> month -> day is 4; deeper is a loop or a trap


@dataclass(slots=True)
class WalkCounts:
    found: int = 0     # sitemaps listed (discovery and indexes) that the walk considered
    fetched: int = 0   # fetched and parsed now
    reused: int = 0    # read back from the frontier, not fetched
    skipped: int = 0   # pruned: cannot hold URLs of the range
    failed: int = 0    # could not be fetched or parsed (now, or permanently before)
    skip_reasons: list[str] = field(default_factory=list)


class SitemapWalk:
    def __init__(self, engine: Engine, source_id: int, window: Window, get: Callable[[str], Response],
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
        try:
            response = self.probed.pop(row.url, None) or self.get(row.url)
            parsed = parse_sitemap(response.body, row.url)
        except (FetchError, SitemapError) as exc:
            return self._fail(row, f"sitemap: {exc.reason}", exc.transient)
        self.counts.fetched += 1
        with self.engine.begin() as conn:
            oldest, newest = self._store(conn, row, parsed)
            frontier.mark_sitemap(conn, row.id, state="done", kind=parsed.kind, entries=len(parsed.entries),
                                  oldest=oldest, newest=newest, fetched_at=self.now(), error=None, transient=None)
            return frontier.sitemap_row(conn, self.source_id, row.url)

    def _store(self, conn, row, parsed: Parsed) -> tuple[datetime | None, datetime | None]:
        if parsed.kind == "index":
            entries = list({e.loc: e.lastmod for e in parsed.entries}.items())
            frontier.add_sitemaps(conn, self.source_id, row.id, entries)
            return None, None
        pages = [_page_row(e) for e in parsed.entries]
        frontier.add_pages(conn, self.source_id, row.id, list({p.url: p for p in pages}.values()))
        starts = [p.date_from or p.lastmod for p in pages if p.date_from or p.lastmod]
        ends = [p.date_to or p.lastmod for p in pages if p.date_to or p.lastmod]
        return (min(starts), max(ends)) if starts else (None, None)

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
