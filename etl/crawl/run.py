"""The crawl task: discover a source's sitemaps, walk them for a date range, fetch the range's
pages politely and load them like full-text feed items. Returns a CrawlReport, never prints.

Each page's article (or failure) commits before its frontier row says "done", one page at a
time, so a crawl killed at any moment and run again fetches at most the page it was on again,
and the loader's idempotence keeps that page one row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..config import Source
from ..fetch.http import FetchError, HttpClient, Response, resolves_to_loopback
from ..fetch.pages import site_hosts
from ..load.runs import add_counts, record_errors, start_run
from ..load.sources import ensure_source, record_fetch
from ..models import Article, ItemError, RunReport
from ..pipeline import Clock, finish, first_line, load_isolating
from . import frontier
from .discover import Robots, discover, site_root
from .page import page_article, sitemap_date
from .pace import Pace
from .select import Window, page_verdict
from .walk import SitemapWalk

__all__ = ["CrawlJob", "CrawlReport", "crawl_root", "run_crawl", "scheduled_window"]

MAX_TRIES = 3  # per page and run, for transient failures (each one slows the crawl down)


@dataclass(frozen=True, slots=True)
class CrawlJob:
    source: Source
    window: Window
    dry_run: bool = False
    in_config: bool = True


@dataclass(slots=True)
class CrawlReport(RunReport):
    since: str = ""
    until: str = ""
    dry_run: bool = False
    sitemaps_found: int = 0
    sitemaps_fetched: int = 0
    sitemaps_reused: int = 0
    sitemaps_skipped: int = 0
    sitemaps_failed: int = 0
    pages_total: int = 0        # article URLs the range takes (known from the sitemaps)
    pages_done_before: int = 0  # of those, fetched by an earlier run
    pages_fetched: int = 0
    pages_outside: int = 0      # fetched, but the page dates itself outside the range
    pages_disallowed: int = 0   # robots.txt forbids them
    pages_left: int = 0         # still to fetch (failed transiently, or the run stopped)
    requests: int = 0
    slowdowns: int = 0          # 429 / 503 / timeouts that made the crawl slow down
    seconds: float = 0.0

    def crawl_line(self) -> str:
        return (f"sitemaps: {self.sitemaps_fetched} fetched, {self.sitemaps_reused} already read, "
                f"{self.sitemaps_skipped} skipped, {self.sitemaps_failed} failed; pages: {self.pages_total} "
                f"in range, {self.pages_done_before} done before, {self.pages_fetched} fetched, "
                f"{self.pages_left} left; {self.requests} requests")


def crawl_root(source: Source) -> str:
    """The site a source is crawled on: a site source's ``url``, a feed's site root."""
    return source.url if source.kind == "site" and source.url else site_root(source.url or "")


def run_crawl(engine: Engine, job: CrawlJob, client: HttpClient, now: Clock, *,
              sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
              on_progress: Callable[[CrawlReport], None] | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> CrawlReport:
    report = CrawlReport(kind="crawl", source=job.source.name, since=job.window.since.isoformat(),
                         until=job.window.until.isoformat(), dry_run=job.dry_run)
    crawl = _Crawl(engine, job, client, now, report, Pace(sleep, monotonic), on_progress or (lambda r: None),
                   should_stop)
    started = monotonic()
    try:
        crawl.start()
        crawl.run()
    except SQLAlchemyError as exc:
        report.error = f"database error: {first_line(exc)}"
    except KeyboardInterrupt:
        report.error = "interrupted"
        crawl.close(monotonic() - started)
        raise
    crawl.close(monotonic() - started)
    return report


class _Crawl:
    def __init__(self, engine: Engine, job: CrawlJob, client: HttpClient, now: Clock, report: CrawlReport,
                 pace: Pace, on_progress, should_stop) -> None:
        self.engine, self.job, self.client, self.now = engine, job, client, now
        self.report, self.pace, self.on_progress, self.should_stop = report, pace, on_progress, should_stop
        self.root = crawl_root(job.source)
        self.hosts = site_hosts(self.root, job.source.options.get("allowed_hosts", ()))
        self.loopback = resolves_to_loopback(self.root, client.resolve)
        self.source_id = 0
        self.robots = Robots()
        self.known_keys: dict[str, str] = {}  # url -> key of an article already stored (by the feed)

    def get(self, url: str, **options) -> Response:
        """``options``: ``HttpClient.get``'s body options (robots.txt is cut, sitemaps are spooled)."""
        self.report.requests += 1
        return self.client.get(url, allowed_hosts=self.hosts, allow_loopback=self.loopback, **options)

    def start(self) -> None:
        with self.engine.begin() as conn:
            self.source_id = ensure_source(conn, self.job.source, self.now(), self.job.in_config)
            if not self.job.dry_run:
                detail = {"since": self.report.since, "until": self.report.until, "root": self.root}
                self.report.run_id = start_run(conn, "crawl", self.source_id, detail, self.now())

    def run(self) -> None:
        try:
            found = discover(self.get, self.root, self.job.source.options.get("sitemaps", ()))
        except FetchError as exc:
            self.report.error = f"robots.txt: {exc}"
            return
        self.robots = found.robots
        self.pace.floor = self.robots.crawl_delay
        if not found.sitemaps:
            self.report.error = f"no sitemaps found for {self.root} (robots.txt, well-known paths)"
            return
        walk = SitemapWalk(self.engine, self.source_id, self.job.window, self.get, self.now, self.failed,
                           found.probed).run(found.sitemaps)
        self.report.sitemaps_found, self.report.sitemaps_fetched = walk.found, walk.fetched
        self.report.sitemaps_reused, self.report.sitemaps_skipped = walk.reused, walk.skipped
        self.report.sitemaps_failed = walk.failed
        pages = self._plan()
        if not self.job.dry_run:
            self._fetch_pages(pages)

    def _plan(self) -> list:
        """The range's pages still to fetch; counts the ones an earlier run fetched."""
        window = self.job.window
        with self.engine.connect() as conn:
            rows = frontier.candidate_pages(conn, self.source_id, window, ("pending", "failed", "done"))
        rows = [r for r in rows if page_verdict(r.date_from, r.date_to, r.lastmod, window) != "out"]
        todo = [r for r in rows if r.state == "pending" or (r.state == "failed" and r.transient)]
        todo = self._allowed(todo)
        self.report.pages_total = len(rows)
        self.report.pages_done_before = sum(1 for r in rows if r.state == "done")
        self.report.pages_left = len(todo)
        with self.engine.connect() as conn:
            self.known_keys = frontier.stored_keys(conn, self.source_id, [r.url for r in todo])
        self.on_progress(self.report)
        return todo

    def _allowed(self, rows: list) -> list:
        """The rows robots.txt lets us fetch; the others are counted (and marked, unless a dry run)."""
        blocked = [r for r in rows if not self.robots.allows(r.url)]
        self.report.pages_disallowed = len(blocked)
        if blocked and not self.job.dry_run:
            with self.engine.begin() as conn:
                for row in blocked:
                    frontier.mark_page(conn, row.id, "disallowed", self.now(), attempt=False)
        return [r for r in rows if r not in blocked] if blocked else rows

    def _fetch_pages(self, pages: list) -> None:
        for row in pages:
            if self.should_stop():
                return
            self._page(row)
            self.report.pages_left -= 1
            self.on_progress(self.report)

    def _page(self, row) -> None:
        response = self._fetch(row)
        if response is None:
            return
        self.report.pages_fetched += 1
        fetched_at = self.now()
        key = self.known_keys.get(row.url)
        if key is None and response.url != row.url:  # redirected: the feed may know the final URL
            with self.engine.connect() as conn:
                key = frontier.stored_keys(conn, self.source_id, [response.url]).get(response.url)
        article = page_article(row.url, response, self.job.source, fetched_at, key,
                               sitemap_date(row.date_from, row.date_to))
        self._store(row, article, fetched_at)

    def _fetch(self, row) -> Response | None:
        """The page, slowing down on transient failures; None (recorded) when it cannot be had."""
        for attempt in range(1, MAX_TRIES + 1):
            self.pace.wait()
            try:
                response = self.get(row.url)
            except FetchError as exc:
                if exc.transient and attempt < MAX_TRIES:
                    self.report.slowdowns += 1
                    self.pace.slow_down(exc.retry_after)
                    continue
                self._store(row, ItemError(row.url, f"page: {exc.reason}" + (" (transient)" if exc.transient else ""),
                                           ""), self.now(), transient=exc.transient)
                return None
            self.pace.recover()
            return response
        return None

    def _store(self, row, result: Article | ItemError, fetched_at: datetime, transient: bool = False) -> None:
        window = self.job.window
        if isinstance(result, Article) and result.published_at and not (
                window.since <= result.published_at < window.until):
            self.report.pages_outside += 1
            with self.engine.begin() as conn:
                frontier.mark_page(conn, row.id, "outside", fetched_at, key=result.key)
            return
        articles, errors = ([result], []) if isinstance(result, Article) else ([], [result])
        # An article the database refuses is this page's failure, not the crawl's end.
        failed = load_isolating(self.engine, self.source_id, self.report, articles, errors, fetched_at)
        with self.engine.begin() as conn:
            if not failed:
                frontier.mark_page(conn, row.id, "done", fetched_at, key=result.key)
            else:
                frontier.mark_page(conn, row.id, "failed", fetched_at, error=failed[0].reason, transient=transient)

    def failed(self, error: ItemError) -> None:
        """A sitemap that could not be read: recorded against the run, the crawl goes on."""
        report = self.report
        report.failed += 1
        if len(report.errors) < 20:
            report.errors.append(error)
        if report.run_id is None:
            return
        with self.engine.begin() as conn:
            record_errors(conn, report.run_id, self.source_id, [error], self.now())
            add_counts(conn, report.run_id, {"failed": 1})

    def close(self, seconds: float) -> None:
        self.report.seconds = round(seconds, 3)
        if self.report.run_id is None:
            return
        finish(self.engine, self.report, self.now)
        if self.job.source.kind == "site":  # its fetch state is its crawls' (`news-etl sources`, status)
            try:
                with self.engine.begin() as conn:
                    record_fetch(conn, self.source_id, self.now(), status=None, ok=self.report.error is None,
                                 error=self.report.error, items=self.report.pages_fetched)
            except SQLAlchemyError:
                pass  # finish() already put the database error on the report


def scheduled_window(source: Source, now: datetime) -> Window:
    """The range a scheduled crawl covers: the last ``crawl.days`` days (default 2) up to now,
    plus an hour for clocks that run ahead of ours."""
    days = int(source.options.get("crawl", {}).get("days", 2))
    return Window(now - timedelta(days=days), now + timedelta(hours=1))
