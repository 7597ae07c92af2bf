"""Crawl a site for a date range through its sitemaps: discover them (robots.txt, the source's
``sitemaps``, well-known paths), walk them for the range (recording every sitemap and article URL
in the frontier), then fetch the range's pages politely and load them like full-text feed items.

Run whole (``crawl``: `news-etl crawl`, the local executor), or in slices for the queue's workers:
``crawl_walk`` (discovery and the walk; returns the pages still to fetch, in batches) and
``crawl_pages`` (one batch of pages). Each is one run. Each page's article (or failure) commits
before its frontier row says "done", one page at a time, so a crawl or a slice killed at any
moment and run again fetches at most the page it was on again, and the loader's idempotence keeps
that page one row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Sequence

from ..clean.agency import agency_table
from ..config import Source
from ..crawl.discover import Robots, discover, site_root
from ..crawl.page import page_article, sitemap_date
from ..crawl.select import Window, page_verdict
from ..crawl.slowdown import Slowdown
from ..crawl.walk import SitemapWalk
from ..fetch.http import FetchError, Response, resolves_to_loopback
from ..fetch.pages import site_hosts
from ..load import frontier
from ..load.batch import load_isolating
from ..load.runs import add_counts, record_errors
from ..models import Article, Failure, ItemError, RunReport
from .context import Context
from .lifecycle import Run, perform

__all__ = ["CrawlJob", "CrawlReport", "crawl", "crawl_pages", "crawl_root", "crawl_walk", "scheduled_window"]

MAX_TRIES = 3  # per page and run, for transient failures (each one slows the crawl down)
SLICE_PAGES = 50  # pages in one queued slice: a minute or so at the default delay


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


def scheduled_window(source: Source, now: datetime) -> Window:
    """The range a scheduled crawl covers: the last ``crawl.days`` days (default 2) up to now,
    plus an hour for clocks that run ahead of ours."""
    return Window(now - timedelta(days=source.crawl.days), now + timedelta(hours=1))


Progress = Callable[[CrawlReport], None]


def crawl(context: Context, job: CrawlJob, on_progress: Progress | None = None) -> CrawlReport:
    """The whole crawl of ``job.window`` as one run (a dry run walks and counts, fetches no page)."""
    def work(run: Run) -> None:
        crawler = _Crawler(run, job, on_progress)
        pages = crawler.walk()
        if pages is not None and not job.dry_run:
            crawler.fetch_pages(pages)
        run.outcome.items = run.report.pages_fetched
    return _perform(context, job, work)


def crawl_walk(context: Context, job: CrawlJob, size: int = SLICE_PAGES) -> tuple[CrawlReport, list[list[int]], float]:
    """The first slice of a queued crawl: discovery and the walk, as one run. Returns the run's
    report, the frontier ids of the pages still to fetch in batches of ``size`` (each a
    ``crawl_pages`` slice), and robots.txt's Crawl-delay for them."""
    plan: list[list[int]] = []
    delay = [0.0]

    def work(run: Run) -> None:
        crawler = _Crawler(run, job)
        pages = crawler.walk() or []
        ids = [row.id for row in pages]
        plan.extend(ids[i:i + size] for i in range(0, len(ids), size))
        delay[0] = crawler.robots.crawl_delay
    report = _perform(context, job, work)
    return report, plan, delay[0]


def crawl_pages(context: Context, job: CrawlJob, page_ids: Sequence[int], crawl_delay: float = 0.0) -> CrawlReport:
    """One slice of a queued crawl: fetch and load these frontier pages (those not done already)."""
    def work(run: Run) -> None:
        crawler = _Crawler(run, job)
        crawler.slowdown.floor = crawl_delay
        with run.engine.connect() as conn:
            rows = frontier.pages_by_id(conn, run.source_id, page_ids)
        todo = [r for r in rows if r.state == "pending" or (r.state == "failed" and r.transient)]
        crawler.report.pages_total = len(rows)
        crawler.report.pages_done_before = sum(1 for r in rows if r.state == "done")
        crawler.report.pages_left = len(todo)
        crawler.known(todo)
        crawler.fetch_pages(todo)
    return _perform(context, job, work, detail={"pages": len(page_ids)}, record_pass=False)


def _perform(context: Context, job: CrawlJob, work: Callable[[Run], None], detail: dict | None = None,
             record_pass: bool = True) -> CrawlReport:
    report = CrawlReport(kind="crawl", source=job.source.name, since=job.window.since.isoformat(),
                         until=job.window.until.isoformat(), dry_run=job.dry_run)
    started = context.monotonic()
    if job.dry_run:
        # A dry run writes no run row: it only reads (and records sitemaps in the frontier).
        _dry(context, job, report, work)
    else:
        detail = {"since": report.since, "until": report.until, "root": crawl_root(job.source), **(detail or {})}
        # A site source's fetch state and health are its crawls' (`news-etl sources`, status).
        perform(context, job.source, report, detail, work, record_pass=record_pass and job.source.kind == "site",
                in_config=job.in_config)
    report.seconds = round(context.monotonic() - started, 3)
    return report


def _dry(context: Context, job: CrawlJob, report: CrawlReport, work: Callable[[Run], None]) -> None:
    from ..load.sources import ensure_source
    from .lifecycle import failure_of
    try:
        with context.engine.begin() as conn:
            source_id = ensure_source(conn, job.source, context.now(), job.in_config)
        work(Run(context, job.source, report, source_id, None))
    except Exception as exc:
        report.failure = failure_of(exc, job.source.name)


class _Crawler:
    """One run's crawling: its requests, its pace, its counts."""

    def __init__(self, run: Run, job: CrawlJob, on_progress: Progress | None = None) -> None:
        self.run, self.job, self.report = run, job, run.report
        self.context = run.context
        self.on_progress = on_progress or (lambda r: None)
        self.root = crawl_root(job.source)
        self.hosts = site_hosts(self.root, job.source.page.allowed_hosts)
        self.loopback = resolves_to_loopback(self.root, self.context.client.resolve)
        self.robots = Robots()
        self.slowdown = Slowdown(self.context.sleep, self.context.monotonic)
        self.agencies = agency_table(self.context.agencies)
        self.known_keys: dict[str, str] = {}  # url -> key of an article already stored (by the feed)

    def get(self, url: str, **options) -> Response:
        """``options``: ``HttpClient.get``'s body options (robots.txt is cut, sitemaps are spooled)."""
        self.report.requests += 1
        return self.context.client.get(url, allowed_hosts=self.hosts, allow_loopback=self.loopback,
                                       proxy=self.job.source.proxy, **options)

    # --- discovery, the walk, the plan ------------------------------------------------------

    def walk(self) -> list | None:
        """The range's pages still to fetch, or None when the crawl cannot go on (the report says why)."""
        try:
            found = discover(self.get, self.root, self.job.source.crawl.sitemaps)
        except FetchError as exc:
            where = "robots.txt" if exc.url.endswith("/robots.txt") else "sitemap discovery"
            self.report.failure = replace(exc.failure, message=f"{where}: {exc}")
            return None
        self.robots = found.robots
        self.slowdown.floor = self.robots.crawl_delay
        if not found.sitemaps:
            self.report.failure = Failure("parse", f"no sitemaps found for {self.root} (robots.txt, well-known paths)",
                                          transient=True)
            return None
        walk = SitemapWalk(self.run.engine, self.run.source_id, self.job.window, self.get, self.context.now,
                           self.failed, found.probed).run(found.sitemaps)
        self.report.sitemaps_found, self.report.sitemaps_fetched = walk.found, walk.fetched
        self.report.sitemaps_reused, self.report.sitemaps_skipped = walk.reused, walk.skipped
        self.report.sitemaps_failed = walk.failed
        return self._plan()

    def _plan(self) -> list:
        """The range's pages still to fetch; counts the ones an earlier run fetched."""
        window = self.job.window
        with self.run.engine.connect() as conn:
            rows = frontier.candidate_pages(conn, self.run.source_id, window, ("pending", "failed", "done"))
        rows = [r for r in rows if page_verdict(r.date_from, r.date_to, r.lastmod, window) != "out"]
        todo = [r for r in rows if r.state == "pending" or (r.state == "failed" and r.transient)]
        todo = self._allowed(todo)
        self.report.pages_total = len(rows)
        self.report.pages_done_before = sum(1 for r in rows if r.state == "done")
        self.report.pages_left = len(todo)
        self.on_progress(self.report)
        return todo

    def _allowed(self, rows: list) -> list:
        """The rows robots.txt lets us fetch; the others are counted (and marked, unless a dry run)."""
        blocked = [r for r in rows if not self.robots.allows(r.url)]
        self.report.pages_disallowed = len(blocked)
        if blocked and not self.job.dry_run:
            with self.run.engine.begin() as conn:
                for row in blocked:
                    frontier.mark_page(conn, row.id, "disallowed", self.context.now(), attempt=False)
        return [r for r in rows if r not in blocked] if blocked else rows

    # --- pages ----------------------------------------------------------------------------

    def known(self, rows: list) -> None:
        with self.run.engine.connect() as conn:
            self.known_keys = frontier.stored_keys(conn, self.run.source_id, [r.url for r in rows])

    def fetch_pages(self, pages: list) -> None:
        if not self.known_keys:
            self.known(pages)
        for row in pages:
            if self.context.should_stop():
                return
            self._page(row)
            self.report.pages_left -= 1
            self.on_progress(self.report)

    def _page(self, row) -> None:
        response = self._fetch(row)
        if response is None:
            return
        self.report.pages_fetched += 1
        fetched_at = self.context.now()
        key = self.known_keys.get(row.url)
        if key is None and response.url != row.url:  # redirected: the feed may know the final URL
            with self.run.engine.connect() as conn:
                key = frontier.stored_keys(conn, self.run.source_id, [response.url]).get(response.url)
        article = page_article(row.url, response, self.job.source, fetched_at, key,
                               sitemap_date(row.date_from, row.date_to), self.agencies)
        self._store(row, article, fetched_at)

    def _fetch(self, row) -> Response | None:
        """The page, slowing down on transient failures; None (recorded) when it cannot be had."""
        for attempt in range(1, MAX_TRIES + 1):
            self.slowdown.wait()
            try:
                response = self.get(row.url)
            except FetchError as exc:
                if exc.kind == "blocked":
                    # The site walls us: nothing is stored from the page (it stays to fetch), and the
                    # crawl ends as blocked rather than asking for page after page behind the wall.
                    raise
                if exc.transient and attempt < MAX_TRIES:
                    self.report.slowdowns += 1
                    self.slowdown.slow_down(exc.retry_after)
                    continue
                self._store(row, ItemError(row.url, f"page: {exc.reason}" + (" (transient)" if exc.transient else ""),
                                           ""), self.context.now(), transient=exc.transient)
                return None
            self.slowdown.recover()
            return response
        return None

    def _store(self, row, result: Article | ItemError, fetched_at: datetime, transient: bool = False) -> None:
        window, engine = self.job.window, self.run.engine
        if isinstance(result, Article) and result.published_at and not (
                window.since <= result.published_at < window.until):
            self.report.pages_outside += 1
            with engine.begin() as conn:
                frontier.mark_page(conn, row.id, "outside", fetched_at, key=result.key)
            return
        articles, errors = ([result], []) if isinstance(result, Article) else ([], [result])
        # An article the database refuses is this page's failure, not the crawl's end.
        failed = load_isolating(engine, self.run.source_id, self.report, articles, errors, fetched_at,
                                alerts=self.run.context.alerts)
        with engine.begin() as conn:
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
        with self.run.engine.begin() as conn:
            record_errors(conn, report.run_id, self.run.source_id, [error], self.context.now())
            add_counts(conn, report.run_id, {"failed": 1})
