"""Executor ``procrastinate``: the same tasks (``etl.tasks``) on any number of worker processes
over the product's own PostgreSQL database, which is also the queue.

* One periodic ``dispatch`` task (procrastinate defers a periodic task once per period however
  many workers run) claims due sources from the ``sources`` table (``etl.load.schedule``) and
  defers ``poll_source(source_id)`` with ``queueing_lock="source:ID"`` (at most one waiting poll
  per source) and a per-host ``lock`` (see ``host_lock``).
* ``retry_stalled`` puts the jobs of workers whose heartbeat stopped (``kill -9``, a lost machine)
  back in the queue, so a dead worker's poll is redone within ``STALL_BOUND`` seconds.
* ``purge_jobs`` deletes finished jobs, which otherwise pile up and slow every worker's start.

Task logic lives in ``etl.tasks``; this module only wires it to procrastinate.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from ..config import Source
from ..fetch.http import HttpClient
from ..fetch.ranges import Part
from ..load.schedule import STALLED_AFTER, claim_due, release  # a worker silent STALLED_AFTER s is dead
from ..load.schema import sources as sources_table
from ..models import RunReport
from ..pipeline import Clock
from ..tasks import load_shard, poll_source
from .queue_schema import ensure_queue_schema  # re-exported: callers install the queue through here

__all__ = ["DISPATCH_QUEUE", "POLL_QUEUE", "QUEUE_TARGET", "QueueRuntime", "conninfo_of", "ensure_queue_schema",
           "host_lock", "defer_shards", "make_app", "run_worker", "waiting_polls"]

log = logging.getLogger("etl.queue")

POLL_QUEUE = "polls"
BACKFILL_QUEUE = "backfill"
DISPATCH_QUEUE = "schedule"
DISPATCH_CRON = "* * * * * *"        # every second (procrastinate reads a sixth field: seconds)
STALLED_CRON = "* * * * * */5"
PURGE_CRON = "*/10 * * * *"          # every 10 minutes
HEARTBEAT = 2.0                      # worker heartbeat interval, seconds
STALL_BOUND = STALLED_AFTER + HEARTBEAT + 5 + 2  # ... + one retry_stalled period + a dispatch
PURGE_HOURS = 1
LEASE = 600.0                        # a claimed source is not claimed again before this, unless released
CLAIM_LIMIT = 500
# The polls waiting in the queue are kept near this many. procrastinate's fetch_job checks every
# waiting job's lock against the others, so its cost grows with the queue's depth (measured: 0.5 ms
# per fetched job at 10 waiting, 3.7 ms at 500, 16 ms at 2,000): a due source waits in the sources
# table, where waiting costs nothing, until the queue has room. One dispatch a second at this depth
# feeds up to QUEUE_TARGET polls/s, more than a two-core database serves.
QUEUE_TARGET = 200
FETCH_POLL = 1.0                     # seconds; see run_worker


@dataclass
class QueueRuntime:
    """What the tasks of one worker process share: built once at start, passed to ``make_app``."""

    engine: Engine
    sources: dict[str, Source]
    client: HttpClient
    now: Clock
    owner: str = "dispatcher"
    per_host: int = 2
    queue_target: int = QUEUE_TARGET

    def shard(self, source_name: str, paths: list[str | dict], pattern: str | None, batch_size: int) -> RunReport:
        """A backfill shard; a source missing from this worker's file is ad hoc, as in `news-etl backfill`."""
        pieces = [Part.from_json(p) if isinstance(p, dict) else Path(p) for p in paths]
        source = self.sources.get(source_name)
        in_config = source is not None
        if source is None:
            agencies = next(iter(self.sources.values())).agencies if self.sources else ()
            first = pieces[0].path if isinstance(pieces[0], Part) else str(pieces[0])
            source = Source(name=source_name, kind="files", path=first, agencies=agencies)
        if pattern:
            source = replace(source, pattern=pattern)
        return load_shard(self.engine, source, pieces, self.now, in_config=in_config, batch_size=batch_size)

    def poll(self, source_id: int) -> RunReport:
        with self.engine.connect() as conn:
            name = conn.execute(select(sources_table.c.name).where(sources_table.c.id == source_id)).scalar()
        source = self.sources.get(name or "")
        if source is None:
            # Not in this worker's sources file (removed meanwhile): drop the lease, keep the schedule.
            with self.engine.begin() as conn:
                release(conn, source_id, self.now(), None)
            return RunReport(kind="fetch", source=name or f"#{source_id}",
                             error=f"source {name or source_id!r} is not in this worker's sources file")
        return poll_source(self.engine, source, self.client, self.now)


def conninfo_of(database_url: str) -> str:
    """``postgresql+psycopg://u@h/db`` -> ``postgresql://u@h/db`` (what psycopg reads)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the procrastinate executor needs PostgreSQL, not {url.get_backend_name()} ({database_url})")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def host_lock(source_id: int, url: str | None, per_host: int) -> str:
    """Polls with one lock never run at once, so ``per_host`` keys per host cap the concurrent
    polls of a host across all workers; a source always maps to one key, so it never overlaps itself."""
    host = (urlsplit(url or "").hostname or "").lower()
    return f"host:{host}:{source_id % max(1, per_host)}"


def make_app(conninfo: str, runtime: QueueRuntime | None) -> App:
    """The App and its tasks; ``runtime`` None for an App that only defers (no task runs)."""
    app = App(connector=PsycopgConnector(conninfo=conninfo))
    poll = _register_poll(app, runtime)
    _register_dispatch(app, runtime, poll)
    _register_backfill(app, runtime)
    _register_maintenance(app)
    return app


def _register_poll(app: App, runtime: QueueRuntime | None):
    @app.task(name="poll_source", queue=POLL_QUEUE)
    def poll_source_task(source_id: int) -> None:
        report = runtime.poll(source_id)
        fields = {"source": report.source, "seen": report.seen, "new": report.new, "updated": report.updated,
                  "failed": report.failed, "error": report.error}
        log.log(logging.WARNING if report.error else logging.INFO, "poll", extra={"fields": fields})
    return poll_source_task


def _register_backfill(app: App, runtime: QueueRuntime | None) -> None:
    @app.task(name="load_shard", queue=BACKFILL_QUEUE)
    def load_shard_task(source: str, paths: list[str | dict], pattern: str | None = None, batch_size: int = 500) -> None:
        report = runtime.shard(source, paths, pattern, batch_size)
        fields = {"source": report.source, "run": report.run_id, "seen": report.seen, "new": report.new,
                  "failed": report.failed, "error": report.error}
        log.log(logging.WARNING if report.error else logging.INFO, "shard", extra={"fields": fields})


def defer_shards(app: App, source: str, shards: list[list[Path | Part]], pattern: str | None,
                 batch_size: int) -> int:
    """One ``load_shard`` job per shard (a file is sent as its absolute path, a part of one as
    ``Part.to_json``); the caller's App must be open. Returns how many."""
    task = app.tasks["load_shard"]
    for shard in shards:
        task.defer(source=source, paths=[_piece_json(p) for p in shard], pattern=pattern, batch_size=batch_size)
    return len(shards)


def _piece_json(piece: Path | Part) -> str | dict:
    if isinstance(piece, Part):
        return replace(piece, path=str(Path(piece.path).resolve())).to_json()
    return str(piece.resolve())


def _register_dispatch(app: App, runtime: QueueRuntime | None, poll) -> None:
    @app.periodic(cron=DISPATCH_CRON, periodic_id="dispatch")
    @app.task(name="dispatch", queue=DISPATCH_QUEUE, queueing_lock="dispatch")
    def dispatch(timestamp: int) -> None:
        with runtime.engine.begin() as conn:
            room = min(CLAIM_LIMIT, runtime.queue_target - waiting_polls(conn))
            claims = claim_due(conn, runtime.now(), LEASE, room, runtime.owner) if room > 0 else []
        jobs = [poll.configure(queueing_lock=f"source:{c.id}", lock=host_lock(c.id, c.url, runtime.per_host))
                .make_new_job(source_id=c.id) for c in claims]
        _defer_all(app, jobs)
        if claims:
            log.info("dispatch", extra={"fields": {"claimed": len(claims)}})


def waiting_polls(conn) -> int:
    """Polls deferred and not started yet (the partial index on status = 'todo' answers it)."""
    return conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = :q"),
                        {"q": POLL_QUEUE}).scalar()


def _defer_all(app: App, jobs: list) -> None:
    """One insert for the lot; when a source has a poll waiting already (its queueing lock), the
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
            pass  # a poll of this source is waiting already; it releases the lease when it runs


def _register_maintenance(app: App) -> None:
    @app.periodic(cron=STALLED_CRON, periodic_id="retry_stalled")
    @app.task(name="retry_stalled", queue=DISPATCH_QUEUE, queueing_lock="retry_stalled", pass_context=True)
    async def retry_stalled(context, timestamp: int) -> None:
        manager = context.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER):
            await manager.retry_job(job)
            log.warning("stalled job retried", extra={"fields": {"job": job.id, "task": job.task_name}})

    @app.periodic(cron=PURGE_CRON, periodic_id="purge_jobs")
    @app.task(name="purge_jobs", queue=DISPATCH_QUEUE, queueing_lock="purge_jobs", pass_context=True)
    async def purge_jobs(context, timestamp: int) -> None:
        await context.app.job_manager.delete_old_jobs(nb_hours=PURGE_HOURS, include_failed=True)


def run_worker(app: App, concurrency: int, queues: list[str] | None, listen_notify: bool, name: str) -> None:
    """Run one worker until SIGINT/SIGTERM. Sync tasks run in the event loop's default thread
    pool, which is sized here to ``concurrency`` (its own default is only cores + 4).

    A worker whose fetch finds no runnable job sleeps until a job is deferred (NOTIFY) or
    ``fetch_job_polling_interval`` passes; a job finishing does not wake it. Jobs waiting behind a
    host ``lock`` held by a running poll are such unrunnable jobs, so with procrastinate's default
    of 5 s a worker idled that long behind a busy host; ``FETCH_POLL`` bounds the wait instead."""
    asyncio.run(_worker(app, concurrency, queues, listen_notify, name))


async def _worker(app: App, concurrency: int, queues: list[str] | None, listen_notify: bool, name: str) -> None:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=concurrency))
    async with app.open_async():
        await app.run_worker_async(concurrency=concurrency, queues=queues, listen_notify=listen_notify, name=name,
                                   update_heartbeat_interval=HEARTBEAT, stalled_worker_timeout=STALLED_AFTER,
                                   fetch_job_polling_interval=FETCH_POLL,
                                   shutdown_graceful_timeout=30.0)
