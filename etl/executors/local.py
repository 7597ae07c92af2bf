"""Executor ``local`` (`news-etl run`): one process schedules every enabled source with
APScheduler, SQLite included. It decides only *when*: each source's pass is ``etl.tasks.run_pass``
and its next attempt ``etl.tasks.end_pass``, exactly what the queue executor's workers run.

One job per source, never overlapping itself (held while its pass runs, then moved to the next
attempt the due policy gives), and one ``crawl:NAME`` job per feed source with ``crawl = {every,
days}``. Losing the database never ends the process: a pass that cannot reach it fails as a
database failure and the next attempt is computed from memory (the engine's pool_pre_ping replaces
dead connections). Reload re-reads the sources file; stop lets running passes commit.
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
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..config import Config, ConfigError, Source, load_config
from ..defaults import CONCURRENCY
from ..errors import first_line
from ..load.schedule import store_crawl_next, stored_next_attempts
from ..load.watches import sync_watches
from ..load.sources import source_row, sync_sources
from ..models import Failure, RunReport
from ..observe import Metrics, log_pass
from ..tasks.context import Clock, Context
from ..tasks.deliver import DeliveryPolicy, Senders, deliver
from ..tasks.due import State
from ..tasks.passes import end_pass, run_pass, scheduled_crawl

__all__ = ["LocalExecutor", "LocalOptions"]

log = logging.getLogger("etl.service")
FIRST_SPREAD_LIMIT = 10.0  # first passes are spread over min(interval, 10 s)
DELIVER_EVERY = 5.0  # seconds between delivery runs (retries, digests); a pass with hits runs one at once
DELIVER_JOB = "deliver:watches"


@dataclass(frozen=True, slots=True)
class LocalOptions:
    config_path: Path
    concurrency: int = CONCURRENCY  # passes running at once (--concurrency)


class LocalExecutor:
    def __init__(self, engine: Engine, config: Config, options: LocalOptions, client, now: Clock,
                 metrics: Metrics | None = None, read_config: Callable[[Path], Config] = load_config,
                 pass_fn: Callable[[Context, Source], RunReport] = run_pass,
                 uniform: Callable[[float, float], float] = random.uniform, senders: Senders | None = None,
                 delivery: DeliveryPolicy = DeliveryPolicy()) -> None:
        self.engine = engine
        self._senders = senders or Senders()
        self._delivery = delivery
        self.options = options
        self.metrics = metrics or Metrics()
        self._now = now
        self._read_config = read_config
        self._pass_fn = pass_fn
        self._uniform = uniform
        self._config = config
        self._stopping = threading.Event()
        self._context = Context(engine, now, client, config.agencies, should_stop=self._stopping.is_set)
        self._sources: dict[str, Source] = {}
        self._state: dict[str, State] = {}  # the due state of each source, for when the database is gone
        self._needs_sync = True
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=options.concurrency)}, timezone="UTC")

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._sync()
        self._scheduler.start()
        self._apply(self._config)
        self._scheduler.add_job(self._deliver, IntervalTrigger(seconds=DELIVER_EVERY, timezone="UTC"), id=DELIVER_JOB,
                                name=DELIVER_JOB, max_instances=1, coalesce=True, misfire_grace_time=None,
                                next_run_time=self._now(), replace_existing=True)
        log.info("service started", extra={"fields": {"sources": len(self._sources),
                                                      "concurrency": self.options.concurrency}})

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
            config = self._read_config(self.options.config_path)
        except ConfigError as exc:
            log.error("reload refused, keeping the previous sources", extra={"fields": {"reason": str(exc)}})
            return False
        self._config = config
        self._context.agencies = config.agencies
        self._needs_sync = True
        try:
            self._sync()
        except SQLAlchemyError as exc:
            # The jobs sync before their next pass, once the database answers again.
            log.warning("sources not synced yet", extra={"fields": {"error": first_line(exc)}})
        self._apply(config)
        log.info("sources reloaded", extra={"fields": {"sources": len(self._sources)}})
        return True

    # --- jobs -------------------------------------------------------------------------------

    def _apply(self, config: Config) -> None:
        """Add, replace and remove jobs so they match the enabled sources of ``config``."""
        wanted = {s.name: s for s in config.sources if s.enabled}
        with self._lock:
            current = dict(self._sources)
            self._sources = wanted
        stored = self._stored_next()
        for name in current.keys() - wanted.keys():
            self._remove_job(name)
            self._remove_job(f"crawl:{name}")
            log.info("source removed", extra={"fields": {"source": name}})
        for name, source in wanted.items():
            if current.get(name) == source:
                continue
            self._add_job(source, stored.get(name, (None, None))[0])
            self._add_crawl_job(source, stored.get(name, (None, None))[1])
            log.info("source scheduled", extra={"fields": {"source": name, "kind": source.kind,
                                                           "interval": source.interval}})

    def _add_job(self, source: Source, stored_next: datetime | None) -> None:
        now = self._now()
        spread = min(float(source.interval), FIRST_SPREAD_LIMIT)
        first = now + timedelta(seconds=random.uniform(0, spread))
        if stored_next is not None and stored_next > first:
            first = stored_next  # resume a backoff or a schedule from before a restart
        # The trigger only keeps the job alive; every pass moves it to the due policy's next attempt.
        trigger = IntervalTrigger(seconds=source.interval, timezone="UTC")
        self._scheduler.add_job(self._run, trigger, args=[source.name], id=source.name, name=source.name,
                                max_instances=1, coalesce=True, misfire_grace_time=None,
                                next_run_time=first, replace_existing=True)

    def _add_crawl_job(self, source: Source, stored_next: datetime | None) -> None:
        """A feed's scheduled crawl (``crawl = {every, days}``), beside and independent of its polls
        (a site source's crawl is its pass)."""
        every = source.crawl_every if source.kind == "feed" else None
        if every is None:
            self._remove_job(f"crawl:{source.name}")
            return
        first = max(stored_next, self._now()) if stored_next is not None else self._now()
        self._scheduler.add_job(self._crawl, IntervalTrigger(seconds=every, timezone="UTC"), args=[source.name],
                                id=f"crawl:{source.name}", name=f"crawl:{source.name}", max_instances=1,
                                coalesce=True, misfire_grace_time=None, next_run_time=first, replace_existing=True)

    def _remove_job(self, job_id: str) -> None:
        try:
            self._scheduler.remove_job(job_id)
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
            next_at = self.pass_and_time(source)
        finally:
            self._reschedule(name, next_at)

    def pass_and_time(self, source: Source) -> datetime:
        """One pass of ``source`` and its next attempt (stored on its row when the database answers)."""
        started = time.monotonic()
        report = self._pass(source)
        due = end_pass(self._context, source, report, self._state.get(source.name), self._uniform)
        self._state[source.name] = due.state
        if report.hits:
            self._deliver_now()
        seconds = time.monotonic() - started
        self.metrics.observe(report, seconds, due.state.failures, due.at)
        log_pass(log, source, report, seconds, due)
        return due.at

    def _pass(self, source: Source) -> RunReport:
        try:
            self._sync()
        except SQLAlchemyError as exc:
            report = RunReport(kind=source.kind, source=source.name)
            report.failure = Failure.database(exc)
            return report
        return self._pass_fn(self._context, source)

    def _crawl(self, name: str) -> None:
        source = self._sources.get(name)
        if source is None or self._stopping.is_set():
            return
        started = time.monotonic()
        try:
            self._sync()
            report = scheduled_crawl(self._context, source)
            with self.engine.begin() as conn:
                row = source_row(conn, name)
                if row is not None:
                    store_crawl_next(conn, row.id, self._now() + timedelta(seconds=source.crawl_every or 0))
        except SQLAlchemyError as exc:
            report = RunReport(kind="crawl", source=name)
            report.failure = Failure.database(exc)
        log_pass(log, source, report, time.monotonic() - started, None, what="crawl")

    def _deliver(self) -> None:
        """The watches' due deliveries (etl/tasks/deliver.py); the database lost meanwhile is retried next time."""
        if self._stopping.is_set() or not any(w.channels for w in self._config.watches):
            return
        try:
            report = deliver(self._context, self._config.watches, self._senders, self._delivery)
        except SQLAlchemyError as exc:
            log.warning("deliveries postponed", extra={"fields": {"error": first_line(exc)}})
            return
        if report.sent or report.retried or report.failed:
            log.info("deliveries", extra={"fields": {"sent": report.sent, "retried": report.retried,
                                                     "failed": report.failed}})

    def _deliver_now(self) -> None:
        """A pass recorded hits: deliver them now rather than at the next tick."""
        try:
            self._scheduler.modify_job(DELIVER_JOB, next_run_time=self._now())
        except (JobLookupError, SchedulerNotRunningError):
            pass

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
                sync_sources(conn, self._config.sources, self._now())
                sync_watches(conn, self._config.watches, self._now())
            self._needs_sync = False

    def _stored_next(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        try:
            with self.engine.connect() as conn:
                return stored_next_attempts(conn)
        except SQLAlchemyError as exc:
            log.warning("cannot read stored schedule", extra={"fields": {"error": first_line(exc)}})
            return {}
