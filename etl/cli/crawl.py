"""``news-etl crawl SOURCE``: archive backfill of a site through its sitemaps, for a date range."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from typing import TextIO

from ..clean.dates import parse_date
from ..config import Config, Source
from ..crawl.select import Window
from ..display import shown, to_json
from ..fetch.http import HttpClient
from ..load.frontier import last_range
from ..load.sources import source_row
from ..tasks.context import Context
from ..tasks.crawl import CrawlJob, CrawlReport, crawl
from .common import PROG, UsageError, http_settings, utcnow
from .db import open_db, settings_of

__all__ = ["ProgressBar", "cmd_crawl"]


def cmd_crawl(args: argparse.Namespace) -> int:
    engine, config = open_db(args)
    source = _crawlable(config, args.source)
    window = _window(engine, source, args)
    if args.queue:
        return _queue_crawl(args, engine, source, window)
    job = CrawlJob(source=source, window=window, dry_run=args.dry_run)
    bar = ProgressBar(enabled=False if args.json or args.no_progress or args.dry_run else None)
    with HttpClient(http_settings(per_host_delay=args.per_host_delay)) as client:
        try:
            report = crawl(Context(engine, utcnow, client, config.agencies), job, on_progress=bar)
        finally:
            bar.close()
    print(to_json(report.as_dict()) if args.json else _summary(report))
    return 0 if report.ok else 1


def _queue_crawl(args: argparse.Namespace, engine, source: Source, window: Window) -> int:
    """Defer the crawl's walk and return; the workers walk, then crawl its page slices."""
    from ..executors.queue import conninfo_of, defer_crawl, ensure_queue_schema, make_app
    if args.dry_run:
        raise UsageError("--queue and --dry-run: a dry run crawls nothing; run it without --queue")
    try:
        conninfo = conninfo_of(settings_of(args).database_url)
    except ValueError as exc:
        raise UsageError(f"--queue: {exc}; crawl here without --queue") from None
    ensure_queue_schema(engine)
    app = make_app(conninfo, None)
    with app.open():
        deferred = defer_crawl(app, source, window)
    what = "deferred a crawl" if deferred else "a crawl is already waiting in the queue"
    print(f"{PROG}: {what} of {source.name} from {window.since:%Y-%m-%d} to {window.until:%Y-%m-%d}; "
          f"`{PROG} runs --source {source.name}` shows its progress")
    return 0


def _crawlable(config: Config, name: str) -> Source:
    source = config.source(name)
    if source is None or source.kind not in ("feed", "site"):
        raise UsageError(f"no feed or site source named {name!r} in the sources file")
    return source


def _window(engine, source: Source, args: argparse.Namespace) -> Window:
    since, until = args.since, args.until
    if args.resume and since is None:
        with engine.connect() as conn:
            row = source_row(conn, source.name)
            stored = last_range(conn, row.id) if row is not None else None
        if stored is None:
            raise UsageError(f"--resume: source {source.name!r} has no earlier crawl; give --since")
        since, until = parse_date(stored[0]), until or parse_date(stored[1])
    if since is None:
        raise UsageError("--since is required (or --resume to go on with the last crawl)")
    until = until or utcnow() + timedelta(hours=1)
    if until <= since:
        raise UsageError(f"--until ({until:%Y-%m-%d}) must be after --since ({since:%Y-%m-%d})")
    return Window(since, until)


def _summary(report: CrawlReport) -> str:
    lines = [shown(f"{PROG}: failed: {e.location}: {e.reason}") for e in report.errors]
    if report.error:
        lines.append(shown(f"{PROG}: error: {report.error}"))
    lines.append(report.crawl_line())
    if not report.dry_run:
        lines.append(report.line())
    if report.pages_left and not report.dry_run:
        lines.append(f"{report.pages_left} pages left: run the same command again to go on")
    return "\n".join(lines)


class ProgressBar:
    """``[#####-----] 120/600 pages  2.0/s  left 4m00s`` on stderr, rewritten in place; silent
    when stderr is not a terminal."""

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        # stderr as it is now, not when this module was imported (a test may have replaced it since).
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.first_done: int | None = None

    def __call__(self, report: CrawlReport) -> None:
        if not self.enabled or not report.pages_total:
            return
        done = report.pages_total - report.pages_left
        self.first_done = done if self.first_done is None else self.first_done
        self.stream.write("\r" + self.line(done, report.pages_total, time.monotonic() - self.started) + "\x1b[K")
        self.stream.flush()

    def line(self, done: int, total: int, elapsed: float) -> str:
        filled = self.WIDTH * done // max(total, 1)
        rate = (done - (self.first_done or 0)) / max(elapsed, 1e-6)
        left = f"{_clock((total - done) / rate)}" if rate > 0 else "?"
        return f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {done}/{total} pages  {rate:.1f}/s  left {left}"

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
