"""Executor ``procrastinate``: the same tasks (``etl.tasks``) on any number of worker processes
over the product's own PostgreSQL database, which is also the queue. It decides only *when* and
*where*; what runs is the task code the local executor runs too.

* One periodic ``dispatch`` task (procrastinate defers a periodic task once per period however
  many workers run) claims due sources of every kind from the ``sources`` table
  (``etl.load.schedule``) and defers ``run_pass(source_id)`` with ``queueing_lock="source:ID"`` (at
  most one waiting pass per source) and a ``lock`` (``lock_of``): a feed's per-host key, a files
  source's own key, a site's crawl key. It also defers the scheduled crawls of feed sources.
* A pass is ``etl.tasks.run_pass``, then ``etl.tasks.end_pass`` stores its next attempt. A files
  source's pass notices its new files and defers one ``load_file`` job per file; a site source's
  pass walks its sitemaps (``crawl_walk``) and defers its pages in ``crawl_pages`` slices. Slices
  of one site share the ``crawl:HOST`` lock, so several workers crawl several sites at once and
  never one site twice at once; the per-host delay holds across workers (``etl.load.host_pace``).
* ``retry_stalled`` puts the jobs of workers whose heartbeat stopped (``kill -9``, a lost machine)
  back in the queue, so a dead worker's job is redone within ``STALL_BOUND`` seconds; every task
  is idempotent, so a redone job converges on the same rows.
* ``purge_jobs`` deletes finished jobs, which otherwise pile up and slow every worker's start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from ..config import Config, Source
from ..crawl.select import Window
from ..fetch.ranges import Part
from ..load.health import waiting_jobs
from ..load.schedule import STALLED_AFTER, claim_due, claim_due_crawls, release
from ..load.sources import source_name
from ..models import RunReport
from ..observe import log_pass
from ..tasks.backfill import load_shard
from ..tasks.context import Clock, Context
from ..tasks.crawl import CrawlJob, crawl_pages, crawl_root, crawl_walk, scheduled_window
from ..tasks.deliver import DeliveryPolicy, DeliveryReport, Senders, deliver
from ..tasks.files import FileStat, files_pass, load_file
from ..tasks.passes import end_pass, record_failure
from ..tasks.poll import poll_feed
from ..load.queue_schema import ensure_queue_schema  # re-exported: callers install the queue through here

__all__ = ["DISPATCH_QUEUE", "POLL_QUEUE", "QUEUE_TARGET", "QueueRuntime", "conninfo_of", "defer_crawl",
           "defer_shards", "ensure_queue_schema", "host_lock", "lock_of", "make_app", "run_worker"]

log = logging.getLogger("etl.queue")

POLL_QUEUE = "polls"
BACKFILL_QUEUE = "backfill"
DISPATCH_QUEUE = "schedule"
DISPATCH_CRON = "* * * * * *"        # every second (procrastinate reads a sixth field: seconds)
STALLED_CRON = "* * * * * */5"
PURGE_CRON = "*/10 * * * *"          # every 10 minutes
DELIVER_CRON = "* * * * * */5"       # the watches' deliveries (retries, digests); a pass with hits defers one at once
HEARTBEAT = 2.0                      # worker heartbeat interval, seconds
STALL_BOUND = STALLED_AFTER + HEARTBEAT + 5 + 2  # ... + one retry_stalled period + a dispatch
PURGE_HOURS = 1
LEASE = 600.0                        # a claimed source is not claimed again before this, unless released
CLAIM_LIMIT = 500
# The passes waiting in the queue are kept near this many. procrastinate's fetch_job checks every
# waiting job's lock against the others, so its cost grows with the queue's depth (measured: 0.5 ms
# per fetched job at 10 waiting, 3.7 ms at 500, 16 ms at 2,000): a due source waits in the sources
# table, where waiting costs nothing, until the queue has room. One dispatch a second at this depth
# feeds up to QUEUE_TARGET passes/s, more than a two-core database serves.
QUEUE_TARGET = 200
FETCH_POLL = 1.0                     # seconds; see run_worker


@dataclass
class QueueRuntime:
    """What the tasks of one worker process share: built once at start, passed to ``make_app``."""

    engine: Engine
    config: Config
    client: object  # etl.fetch.http.HttpClient (with the shared per-host pace)
    now: Clock
    owner: str = "dispatcher"
    per_host: int = 2
    queue_target: int = QUEUE_TARGET
    app: App | None = None  # set by make_app: passes defer their files and crawl slices through it
    pass_fn: Callable[[Context, Source], RunReport] | None = None  # instead of the pass by kind (tests)
    uniform: Callable[[float, float], float] = random.uniform  # the due policy's jitter
    senders: Senders = field(default_factory=Senders)  # how the watches' hits leave (etl/tasks/deliver.py)
    delivery: DeliveryPolicy = DeliveryPolicy()
    context: Context = field(init=False)

    def __post_init__(self) -> None:
        self.context = Context(self.engine, self.now, self.client, self.config.agencies)

    def source(self, name: str) -> Source | None:
        return self.config.source(name)

    def deliver(self) -> DeliveryReport | None:
        if not any(w.channels for w in self.config.watches):
            return None
        return deliver(self.context, self.config.watches, self.senders, self.delivery)

    def after(self, report: RunReport | None) -> None:
        """A task that recorded watch hits defers a delivery now (one waits at most: its queueing lock)."""
        if report is not None and report.hits and self.app is not None:
            _defer_all(self.app, [self.app.tasks["deliver"].configure(queueing_lock="deliver")
                                  .make_new_job(timestamp=0)])

    def pass_(self, source_id: int) -> RunReport:
        """The pass of a claimed source, then its next attempt; a source missing from this
        worker's sources file (removed meanwhile) is given back, its schedule kept."""
        with self.engine.connect() as conn:
            name = source_name(conn, source_id)
        source = self.source(name or "")
        if source is None:
            with self.engine.begin() as conn:
                release(conn, source_id, self.now())
            report = RunReport(kind="pass", source=name or f"#{source_id}")
            return report
        started = time.monotonic()
        report = self.pass_fn(self.context, source) if self.pass_fn else self._pass(source)
        due = end_pass(self.context, source, report, uniform=self.uniform)
        log_pass(log, source, report, time.monotonic() - started, due)
        return report

    def _pass(self, source: Source) -> RunReport:
        if source.kind == "feed":
            return poll_feed(self.context, source)
        if source.kind == "files":
            return files_pass(self.context, source, load=lambda stat: self._defer_file(source, stat))
        report, plan, delay = crawl_walk(self.context, CrawlJob(source, scheduled_window(source, self.now())))
        self._defer_slices(source, Window.from_strings(report.since, report.until), plan, delay)
        return report

    def load_file(self, source_name_: str, stat: FileStat) -> RunReport | None:
        source = self.source(source_name_)
        if source is None:
            return None
        report = load_file(self.context, source, stat)
        if report is not None and report.failure is not None:
            record_failure(self.context, source, report.failure)  # shown on the source until a pass succeeds
        return report

    def walk(self, source_name_: str, window: Window) -> RunReport:
        """A crawl's first slice (``crawl --queue``, a feed's scheduled crawl): walk, defer the pages."""
        source = self._crawlable(source_name_)
        report, plan, delay = crawl_walk(self.context, CrawlJob(source, window, in_config=self.source(source.name) is not None))
        self._defer_slices(source, window, plan, delay)
        return report

    def pages(self, source_name_: str, window: Window, page_ids: list[int], delay: float) -> RunReport:
        source = self._crawlable(source_name_)
        report = crawl_pages(self.context, CrawlJob(source, window, in_config=self.source(source.name) is not None),
                             page_ids, delay)
        if report.failure is not None and report.failure.kind == "blocked":
            record_failure(self.context, source, report.failure)  # a wall is the site's: shown on the source
        return report

    def shard(self, source_name_: str, paths: list[str | dict], pattern: str | None, batch_size: int,
              alert: bool = False) -> RunReport:
        """A backfill shard; a source missing from this worker's file is ad hoc, as in `news-etl backfill`."""
        pieces = [Part.from_json(p) if isinstance(p, dict) else Path(p) for p in paths]
        source = self.source(source_name_)
        in_config = source is not None
        if source is None:
            first = pieces[0].path if isinstance(pieces[0], Part) else str(pieces[0])
            source = Source(name=source_name_, kind="files", path=first)
        if pattern:
            source = replace(source, pattern=pattern)
        return load_shard(self.context, source, pieces, in_config=in_config, batch_size=batch_size, alerts=alert)

    def _crawlable(self, name: str) -> Source:
        source = self.source(name)
        if source is None or source.kind not in ("feed", "site"):
            raise LookupError(f"no feed or site source named {name!r} in this worker's sources file")
        return source

    def _defer_file(self, source: Source, stat: FileStat) -> None:
        key = hashlib.sha1(stat.as_json()["path"].encode()).hexdigest()[:16]
        job = self.app.tasks["load_file"].configure(queueing_lock=f"file:{source.name}:{key}",
                                                    lock=f"file:{source.name}:{key}")
        _defer_all(self.app, [job.make_new_job(source=source.name, file=stat.as_json())])
        return None

    def _defer_slices(self, source: Source, window: Window, plan: list[list[int]], delay: float) -> None:
        if self.app is not None and plan:
            defer_slices(self.app, source, window, plan, delay)


def conninfo_of(database_url: str) -> str:
    """``postgresql+psycopg://u@h/db`` -> ``postgresql://u@h/db`` (what psycopg reads)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the procrastinate executor needs PostgreSQL, not {url.get_backend_name()} ({database_url})")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def host_lock(source_id: int, url: str | None, per_host: int) -> str:
    """Polls with one lock never run at once, so ``per_host`` keys per host cap the concurrent
    polls of a host across all workers; a source always maps to one key, so it never overlaps itself."""
    return f"host:{_host(url)}:{source_id % max(1, per_host)}"


def crawl_lock(url: str | None) -> str:
    """The crawl slices of one site run one at a time, on whichever worker."""
    return f"crawl:{_host(url)}"


def lock_of(kind: str, source_id: int, url: str | None, per_host: int) -> str:
    """The lock of a source's pass: a feed's per-host key, a files source's own, a site's crawl key."""
    if kind == "feed":
        return host_lock(source_id, url, per_host)
    if kind == "files":
        return f"files:{source_id}"
    return crawl_lock(url)


def _host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").lower()


def make_app(conninfo: str, runtime: QueueRuntime | None) -> App:
    """The App and its tasks; ``runtime`` None for an App that only defers (no task runs)."""
    app = App(connector=PsycopgConnector(conninfo=conninfo))
    if runtime is not None:
        runtime.app = app
    run_pass = _register_pass(app, runtime)
    _register_dispatch(app, runtime, run_pass)
    _register_files(app, runtime)
    _register_crawl(app, runtime)
    _register_backfill(app, runtime)
    _register_deliver(app, runtime)
    _register_maintenance(app)
    return app


def _logged(what: str, report: RunReport | None) -> None:
    if report is None:
        return
    fields = {"source": report.source, "run": report.run_id, "seen": report.seen, "new": report.new,
              "updated": report.updated, "failed": report.failed, "error": report.error}
    log.log(logging.WARNING if report.failure else logging.INFO, what, extra={"fields": fields})


def _register_pass(app: App, runtime: QueueRuntime | None):
    @app.task(name="run_pass", queue=POLL_QUEUE)
    def run_pass_task(source_id: int) -> None:
        runtime.after(runtime.pass_(source_id))
    return run_pass_task


def _register_files(app: App, runtime: QueueRuntime | None) -> None:
    @app.task(name="load_file", queue=BACKFILL_QUEUE)
    def load_file_task(source: str, file: dict) -> None:
        report = runtime.load_file(source, FileStat.from_json(file))
        _logged("file", report)
        runtime.after(report)


def _register_crawl(app: App, runtime: QueueRuntime | None) -> None:
    @app.task(name="crawl_walk", queue=BACKFILL_QUEUE)
    def crawl_walk_task(source: str, since: str, until: str) -> None:
        _logged("crawl walk", runtime.walk(source, Window.from_strings(since, until)))

    @app.task(name="crawl_pages", queue=BACKFILL_QUEUE)
    def crawl_pages_task(source: str, since: str, until: str, pages: list[int], delay: float = 0.0) -> None:
        report = runtime.pages(source, Window.from_strings(since, until), pages, delay)
        _logged("crawl pages", report)
        runtime.after(report)


def defer_crawl(app: App, source: Source, window: Window, source_id: int | None = None) -> bool:
    """Queue a crawl of ``source`` for ``window`` (its walk; the walk queues its page slices).
    False when a crawl of the source is waiting already."""
    task = app.tasks["crawl_walk"].configure(queueing_lock=f"crawl:{source.name}", lock=crawl_lock(crawl_root(source)))
    try:
        app.job_manager.defer_job(task.make_new_job(source=source.name, since=window.since.isoformat(),
                                                    until=window.until.isoformat()))
    except AlreadyEnqueued:
        return False
    return True


def defer_slices(app: App, source: Source, window: Window, plan: list[list[int]], delay: float) -> int:
    task = app.tasks["crawl_pages"].configure(lock=crawl_lock(crawl_root(source)))
    jobs = [task.make_new_job(source=source.name, since=window.since.isoformat(), until=window.until.isoformat(),
                              pages=ids, delay=delay) for ids in plan]
    app.job_manager.batch_defer_jobs(jobs)
    return len(jobs)


def _register_backfill(app: App, runtime: QueueRuntime | None) -> None:
    @app.task(name="load_shard", queue=BACKFILL_QUEUE)
    def load_shard_task(source: str, paths: list[str | dict], pattern: str | None = None, batch_size: int = 500,
                        alert: bool = False) -> None:
        report = runtime.shard(source, paths, pattern, batch_size, alert)
        _logged("shard", report)
        runtime.after(report)


def defer_shards(app: App, source: str, shards: list[list[Path | Part]], pattern: str | None,
                 batch_size: int, alert: bool = False) -> int:
    """One ``load_shard`` job per shard (a file is sent as its absolute path, a part of one as
    ``Part.to_json``); the caller's App must be open. Returns how many."""
    task = app.tasks["load_shard"]
    for shard in shards:
        task.defer(source=source, paths=[_piece_json(p) for p in shard], pattern=pattern, batch_size=batch_size,
                   alert=alert)
    return len(shards)


def _piece_json(piece: Path | Part) -> str | dict:
    if isinstance(piece, Part):
        return replace(piece, path=str(Path(piece.path).resolve())).to_json()
    return str(piece.resolve())


def _register_dispatch(app: App, runtime: QueueRuntime | None, run_pass) -> None:
    @app.periodic(cron=DISPATCH_CRON, periodic_id="dispatch")
    @app.task(name="dispatch", queue=DISPATCH_QUEUE, queueing_lock="dispatch")
    def dispatch(timestamp: int) -> None:
        now = runtime.now()
        with runtime.engine.begin() as conn:
            room = min(CLAIM_LIMIT, runtime.queue_target - waiting_jobs(conn, POLL_QUEUE))
            claims = claim_due(conn, now, LEASE, room, runtime.owner) if room > 0 else []
            crawls = claim_due_crawls(conn, now, CLAIM_LIMIT)
        jobs = [run_pass.configure(queueing_lock=f"source:{c.id}", lock=lock_of(c.kind, c.id, c.url, runtime.per_host))
                .make_new_job(source_id=c.id) for c in claims]
        _defer_all(app, jobs)
        for claim in crawls:
            source = runtime.source(claim.name)
            if source is not None:
                defer_crawl(app, source, scheduled_window(source, now))
        if claims or crawls:
            log.info("dispatch", extra={"fields": {"claimed": len(claims), "crawls": len(crawls)}})


def _defer_all(app: App, jobs: list) -> None:
    """One insert for the lot; when a job has a twin waiting already (its queueing lock), the
    batch is refused whole, so then one by one, skipping those."""
    if not jobs:
        return
    try:
        app.job_manager.batch_defer_jobs(jobs)
        return
    except AlreadyEnqueued:
        pass
    for job in jobs:
        try:
            app.job_manager.defer_job(job)
        except AlreadyEnqueued:
            pass  # waiting already; a source's lease is released when its pass runs


def _register_deliver(app: App, runtime: QueueRuntime | None) -> None:
    # One delivery run at a time across the workers (its lock): a second would find every due
    # message leased anyway; the queueing lock keeps at most one waiting.
    @app.periodic(cron=DELIVER_CRON, periodic_id="deliver")
    @app.task(name="deliver", queue=DISPATCH_QUEUE, queueing_lock="deliver", lock="deliver")
    def deliver_task(timestamp: int) -> None:
        report = runtime.deliver()
        if report is not None and (report.sent or report.retried or report.failed):
            log.info("deliveries", extra={"fields": {"sent": report.sent, "retried": report.retried,
                                                     "failed": report.failed}})


def _register_maintenance(app: App) -> None:
    @app.periodic(cron=STALLED_CRON, periodic_id="retry_stalled")
    @app.task(name="retry_stalled", queue=DISPATCH_QUEUE, queueing_lock="retry_stalled", pass_context=True)
    async def retry_stalled(context, timestamp: int) -> None:
        await retry_stalled_jobs(context.app.job_manager)

    @app.periodic(cron=PURGE_CRON, periodic_id="purge_jobs")
    @app.task(name="purge_jobs", queue=DISPATCH_QUEUE, queueing_lock="purge_jobs", pass_context=True)
    async def purge_jobs(context, timestamp: int) -> None:
        await context.app.job_manager.delete_old_jobs(nb_hours=PURGE_HOURS, include_failed=True)


async def retry_stalled_jobs(manager, seconds: float = STALLED_AFTER) -> int:
    """Put the jobs of workers whose heartbeat stopped back in the queue; returns how many.

    A stalled job whose queueing lock is held by a waiting twin (the dispatcher, or the periodic
    deliver, deferred the same work again meanwhile) cannot go back to waiting: procrastinate
    allows one waiting job per queueing lock. It is finished as failed instead, which frees its
    ``lock``; the twin, blocked behind that lock until then, does the same idempotent work. Retried
    blindly, the unique violation left the stalled job holding the lock forever (every pass of
    that source, or every delivery, stuck behind it) and ended the loop before the other
    stalled jobs."""
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            await manager.finish_job(job, Status.FAILED, delete_job=False)
            log.warning("stalled job given up: a job with its queueing lock waits and does its work",
                        extra={"fields": {"job": job.id, "task": job.task_name, "queueing_lock": job.queueing_lock}})
            continue
        retried += 1
        log.warning("stalled job retried", extra={"fields": {"job": job.id, "task": job.task_name}})
    return retried


def run_worker(app: App, concurrency: int, queues: list[str] | None, listen_notify: bool, name: str) -> None:
    """Run one worker until SIGINT/SIGTERM. Sync tasks run in the event loop's default thread
    pool, which is sized here to ``concurrency`` (its own default is only cores + 4).

    A worker whose fetch finds no runnable job sleeps until a job is deferred (NOTIFY) or
    ``fetch_job_polling_interval`` passes; a job finishing does not wake it. Jobs waiting behind a
    ``lock`` held by a running job are such unrunnable jobs, so with procrastinate's default of
    5 s a worker idled that long behind a busy host; ``FETCH_POLL`` bounds the wait instead."""
    asyncio.run(_worker(app, concurrency, queues, listen_notify, name))


async def _worker(app: App, concurrency: int, queues: list[str] | None, listen_notify: bool, name: str) -> None:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=concurrency))
    async with app.open_async():
        await app.run_worker_async(concurrency=concurrency, queues=queues, listen_notify=listen_notify, name=name,
                                   update_heartbeat_interval=HEARTBEAT, stalled_worker_timeout=STALLED_AFTER,
                                   fetch_job_polling_interval=FETCH_POLL,
                                   shutdown_graceful_timeout=30.0)
