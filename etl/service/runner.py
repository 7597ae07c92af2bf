"""The long-running service: one APScheduler job per enabled source, adaptive timing, reload
on demand, and a shutdown that lets in-flight batches commit.

Every job catches database errors, logs them and tries again later, so losing the database
connection never ends the process (the engine's pool_pre_ping replaces dead connections). Any
other exception in a pass is logged with its traceback and recorded on its source and runs; the
source backs off like any failing source and the service goes on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..config import ConfigError, Source, load_sources, parse_interval
from ..crawl import CrawlJob, run_crawl, scheduled_window
from ..fetch.http import ErrorKeeper, HttpClient
from ..fetch_run import fetch_source, unexpected_error
from ..load.passes import PassWrites
from ..load.schema import ingest_runs, sources as sources_table
from ..load.sources import record_fetch, source_row, sync_sources
from ..models import RunReport
from ..config import DEFAULT_CONCURRENCY  # ServiceOptions' default
from ..pipeline import Clock, first_line
from .filewatch import watch_pass
from .observe import Metrics
from .timing import Outcome, bounds_of, jitter_of, next_delay

__all__ = ["Service", "ServiceOptions"]

log = logging.getLogger("etl.service")
FIRST_SPREAD_LIMIT = 10.0  # first passes are spread over min(interval, 10 s)


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    config_path: Path
    workers: int = DEFAULT_CONCURRENCY  # passes running at once (--concurrency)


class Service:
    def __init__(self, engine: Engine, configured: list[Source], options: ServiceOptions, client: HttpClient,
                 now: Clock, metrics: Metrics | None = None,
                 read_sources: Callable[[Path], list[Source]] = load_sources) -> None:
        self.engine = engine
        self.options = options
        self.metrics = metrics or Metrics()
        self._client = ErrorKeeper(client)
        # The passes running at once commit their runs' starts and ends together (group commit).
        self._writes = PassWrites(engine)
        self._now = now
        self._read_sources = read_sources
        self._configured = list(configured)
        self._sources: dict[str, Source] = {}
        self._delay: dict[str, float] = {}     # last healthy delay per source (adaptive polling)
        self._db_failures: dict[str, int] = {}  # passes in a row that the database refused
        self._needs_sync = True
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stopping = threading.Event()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=options.workers)}, timezone="UTC")

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._sync()
        self._scheduler.start()
        self._apply(self._configured)
        log.info("service started", extra={"fields": {"sources": len(self._sources), "workers": self.options.workers}})

    def stop(self, grace: float) -> bool:
        """Take no new work and wait up to ``grace`` seconds for running passes; True when they all
        finished. Passes queued but not started return at once (they check the flag)."""
        self._stopping.set()
        waiter = threading.Thread(target=self._shutdown, name="scheduler-shutdown", daemon=True)
        waiter.start()
        waiter.join(grace)
        return not waiter.is_alive()

    def _shutdown(self) -> None:
        try:
            self._scheduler.shutdown(wait=True)
        except SchedulerNotRunningError:
            pass

    def reload(self) -> bool:
        """Read the sources file again; an invalid one leaves the running configuration alone."""
        try:
            configured = self._read_sources(self.options.config_path)
        except ConfigError as exc:
            log.error("reload refused, keeping the previous sources", extra={"fields": {"reason": str(exc)}})
            return False
        self._configured = configured
        self._needs_sync = True
        try:
            self._sync()
        except SQLAlchemyError as exc:
            # The jobs sync before their next pass, once the database answers again.
            log.warning("sources not synced yet", extra={"fields": {"error": first_line(exc)}})
        self._apply(configured)
        log.info("sources reloaded", extra={"fields": {"sources": len(self._sources)}})
        return True

    # --- jobs -------------------------------------------------------------------------------

    def _apply(self, configured: list[Source]) -> None:
        """Add, replace and remove jobs so they match the enabled sources of ``configured``."""
        self._apply_crawls(configured)
        wanted = {s.name: s for s in configured if s.enabled and s.kind != "site"}  # sites are only crawled
        with self._lock:
            current = dict(self._sources)
            self._sources = wanted
        for name in current.keys() - wanted.keys():
            self._remove_job(name)
            log.info("source removed", extra={"fields": {"source": name}})
        starts = self._stored_next_attempts()
        for name, source in wanted.items():
            if current.get(name) == source:
                continue
            self._delay[name] = float(source.interval)
            self._add_job(source, starts.get(name))
            log.info("source scheduled", extra={"fields": {"source": name, "kind": source.kind,
                                                           "interval": source.interval}})

    def _apply_crawls(self, configured: list[Source]) -> None:
        """One ``crawl:NAME`` job per enabled source with ``crawl = {every, days}``: a crawl of its
        last days through the sitemaps, catching what the feed missed (etl/crawl)."""
        wanted = {s.name: s for s in configured if s.enabled and (s.kind == "site" or s.options.get("crawl"))}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("crawl:") and job.id[6:] not in wanted:
                job.remove()
        for name, source in wanted.items():
            # A site source's interval is its crawl period unless crawl.every says otherwise.
            every = parse_interval(source.options.get("crawl", {}).get("every", source.interval if source.kind == "site" else "1d"))
            self._scheduler.add_job(self._crawl, IntervalTrigger(seconds=every, timezone="UTC"), args=[source],
                                    id=f"crawl:{name}", name=f"crawl:{name}", max_instances=1, coalesce=True,
                                    misfire_grace_time=None, next_run_time=self._now(), replace_existing=True)

    def _crawl(self, source: Source) -> None:
        if self._stopping.is_set():
            return
        try:
            self._sync()
            job = CrawlJob(source, scheduled_window(source, self._now()))
            report = run_crawl(self.engine, job, self._client._client, self._now, should_stop=self._stopping.is_set)
        except SQLAlchemyError as exc:
            log.warning("crawl", extra={"fields": {"source": source.name, "error": f"database error: {first_line(exc)}"}})
            return
        fields = {"source": source.name, "new": report.new, "updated": report.updated, "failed": report.failed,
                  "pages": report.pages_fetched, "left": report.pages_left, "requests": report.requests}
        if report.error:
            fields["error"] = report.error
        log.log(logging.WARNING if report.error else logging.INFO, "crawl", extra={"fields": fields})

    def _add_job(self, source: Source, stored_next: datetime | None) -> None:
        now = self._now()
        spread = min(float(source.interval), FIRST_SPREAD_LIMIT)
        first = now + timedelta(seconds=random.uniform(0, spread))
        if stored_next is not None and stored_next > first:
            first = stored_next  # resume a backoff or a schedule from before a restart
        trigger = IntervalTrigger(seconds=source.interval, jitter=min(source.interval * 0.1, 30.0), timezone="UTC")
        self._scheduler.add_job(self._run, trigger, args=[source.name], id=source.name, name=source.name,
                                max_instances=1, coalesce=True, misfire_grace_time=None,
                                next_run_time=first, replace_existing=True)

    def _remove_job(self, name: str) -> None:
        try:
            self._scheduler.remove_job(name)
        except JobLookupError:
            pass

    def _run(self, name: str) -> None:
        source = self._sources.get(name)
        if source is None or self._stopping.is_set():
            return
        # Held while the pass runs: a slow pass is not re-fired every interval only to be refused
        # by max_instances, and the finally below always sets a next time (never a silent stop).
        self._hold(name)
        next_at = self._now() + timedelta(seconds=source.interval)
        try:
            next_at = self._pass_and_time(source)
        finally:
            self._reschedule(name, next_at)

    def _pass_and_time(self, source: Source) -> datetime:
        started = time.monotonic()
        report = self._pass(source)
        seconds = time.monotonic() - started
        failures, delay = self._timing(source, report)
        next_at = self._now() + timedelta(seconds=max(0.05, delay + jitter_of(delay)))
        self._store_next(source, next_at)
        self.metrics.observe(report, seconds, failures, next_at)
        fields = {"source": source.name, "status": "error" if report.error else "ok", "seen": report.seen,
                  "new": report.new, "updated": report.updated, "failed": report.failed,
                  "duration": round(seconds, 3), "failures": failures, "next_in": round(delay, 1)}
        if report.error:
            fields["error"] = report.error
        level = logging.WARNING if report.error else logging.INFO
        log.log(level, "fetch" if source.kind == "feed" else "watch", extra={"fields": fields})
        return next_at

    def _pass(self, source: Source) -> RunReport:
        kind = "fetch" if source.kind == "feed" else "watch"
        started = self._now()
        try:
            self._sync()
            if source.kind == "feed":
                self._client.pop_error(source.url)
                return fetch_source(self.engine, source, self._client, self._now, self._writes)
            return watch_pass(self.engine, source, self._now, self._stopping.is_set)
        except SQLAlchemyError as exc:
            return RunReport(kind=kind, source=source.name, error=f"database error: {first_line(exc)}")
        except OSError as exc:  # a watched folder that vanished or cannot be read
            return RunReport(kind=kind, source=source.name, error=f"cannot read {source.path}: {exc}")
        except Exception as exc:  # a bug or unforeseen input: this source backs off, the service goes on
            log.error("unexpected error in a pass", exc_info=True, extra={"fields": {"source": source.name}})
            report = RunReport(kind=kind, source=source.name, error=unexpected_error(exc))
            self._record_unexpected(source, report.error, started)
            return report

    def _timing(self, source: Source, report: RunReport) -> tuple[int, float]:
        """(consecutive failures, seconds until the next attempt) after ``report``."""
        bounds = bounds_of(source)
        fetch_error = self._client.pop_error(source.url) if source.kind == "feed" else None
        if report.error and report.error.startswith("database error"):
            # Not the source's fault: retry at its interval, backing off only up to max_interval.
            count = self._db_failures[source.name] = self._db_failures.get(source.name, 0) + 1
            return count, min(bounds.max_interval, bounds.interval * 2 ** (count - 1))
        self._db_failures.pop(source.name, None)
        if report.error:
            failures = self._stored_failures(source) or 1
            return failures, next_delay(bounds, 0, Outcome(ok=False, failures=failures,
                                                          retry_after=fetch_error and fetch_error.retry_after))
        delay = next_delay(bounds, self._delay.get(source.name, bounds.interval), Outcome(ok=True, new=report.new))
        self._delay[source.name] = delay
        return 0, delay

    def _hold(self, name: str) -> None:
        try:
            self._scheduler.pause_job(name)
        except (JobLookupError, SchedulerNotRunningError):
            pass

    def _reschedule(self, name: str, when: datetime) -> None:
        if self._stopping.is_set():
            return
        try:
            self._scheduler.modify_job(name, next_run_time=when)
        except (JobLookupError, SchedulerNotRunningError):
            pass  # the source was removed or the service is stopping meanwhile

    # --- database ---------------------------------------------------------------------------

    def _sync(self) -> None:
        """Make the sources table match the file (once after start and each reload)."""
        with self._sync_lock:
            if not self._needs_sync:
                return
            with self.engine.begin() as conn:
                sync_sources(conn, self._configured, self._now())
            self._needs_sync = False

    def _record_unexpected(self, source: Source, error: str, started: datetime) -> None:
        """The failure on the source row (count, last error: the backoff reads them) and on every
        run of this pass still marked 'running', so none is left behind."""
        now = self._now()
        try:
            with self.engine.begin() as conn:
                row = source_row(conn, source.name)
                if row is None:
                    return
                record_fetch(conn, row.id, now, status=None, ok=False, error=error)
                conn.execute(update(ingest_runs).where(
                    ingest_runs.c.source_id == row.id, ingest_runs.c.status == "running",
                    ingest_runs.c.started_at >= started).values(status="failed", finished_at=now, error=error))
        except SQLAlchemyError as exc:
            log.warning("cannot record the failure", extra={"fields": {"source": source.name,
                                                                     "error": first_line(exc)}})

    def _stored_failures(self, source: Source) -> int:
        try:
            with self.engine.connect() as conn:
                row = source_row(conn, source.name)
        except SQLAlchemyError:
            return 0
        return row.consecutive_failures if row is not None else 0

    def _stored_next_attempts(self) -> dict[str, datetime]:
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(sources_table.c.name, sources_table.c.next_attempt_at))
                return {name: at for name, at in rows if at is not None}
        except SQLAlchemyError as exc:
            log.warning("cannot read stored schedule", extra={"fields": {"error": first_line(exc)}})
            return {}

    def _store_next(self, source: Source, when: datetime) -> None:
        # Written so `news-etl sources` shows it and a restart resumes from it.
        try:
            with self.engine.begin() as conn:
                conn.execute(update(sources_table).where(sources_table.c.name == source.name)
                             .values(next_attempt_at=when))
        except SQLAlchemyError as exc:
            log.warning("cannot store next attempt", extra={"fields": {"source": source.name,
                                                                       "error": first_line(exc)}})
