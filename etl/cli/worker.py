"""``news-etl worker``: one procrastinate worker (etl/executors/queue.py) over the PostgreSQL database.

Any number of them, on any machines, share the schedule in the ``sources`` table; each runs the
periodic dispatcher in turn (procrastinate defers it once per period), polls, and stalled-job retries.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from ..config import Settings
from ..fetch.http import HttpClient
from ..load.watches import sync_watches
from ..load.sources import sync_sources
from ..load.health import queue_figures
from ..observe import Metrics, setup_logging
from .common import UsageError, http_settings, quiet, utcnow, verbose
from .db import configured, engine_of, settings_of

log = logging.getLogger("etl.queue")


def cmd_worker(args: argparse.Namespace) -> int:
    if args.concurrency < 1 or args.per_host < 1:
        raise UsageError("--concurrency and --per-host must be at least 1")
    setup_logging(args.log_json, logging.DEBUG if verbose(args) else logging.WARNING if quiet(args) else logging.INFO)
    queues = None if "all" in args.queues.split(",") else args.queues.split(",")
    return run_queue_worker(settings_of(args), WorkerChoice(args.concurrency, queues,
                                                           not args.no_listen_notify, args.per_host,
                                                           args.per_host_delay, args.metrics_port,
                                                           args.metrics_addr))


@dataclass(frozen=True, slots=True)
class WorkerChoice:
    concurrency: int = 8
    queues: list[str] | None = None  # None: every queue (dispatch and polls in one process)
    listen_notify: bool = True
    per_host: int = 2
    per_host_delay: float = 1.0
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"


def run_queue_worker(settings: Settings, choice: WorkerChoice) -> int:
    """One worker until SIGINT/SIGTERM; also `news-etl run --executor procrastinate`."""
    # Imported here: the other commands do not need procrastinate loaded.
    from ..executors.queue import QueueRuntime, conninfo_of, ensure_queue_schema, make_app, run_worker
    from ..load.host_pace import SharedPace
    try:
        conninfo = conninfo_of(settings.database_url)
    except ValueError as exc:
        raise UsageError(f"{exc}; without PostgreSQL use `news-etl run` (the local executor)") from None
    config = configured(settings)
    engine = engine_of(settings, notice=False)
    with engine.begin() as conn:
        sync_sources(conn, config.sources, utcnow())
        sync_watches(conn, config.watches, utcnow())
    ensure_queue_schema(engine)
    if choice.metrics_port:
        serve_queue_metrics(engine, choice.metrics_port, choice.metrics_addr)
    name = f"{socket.gethostname()}:{os.getpid()}"
    pace = SharedPace(engine, choice.per_host_delay)
    with HttpClient(http_settings(retries=1, per_host_delay=choice.per_host_delay), pacer=pace) as client:
        runtime = QueueRuntime(engine, config, client, utcnow, owner=name, per_host=choice.per_host,
                               senders=senders_of_environment())
        run_worker(make_app(conninfo, runtime), choice.concurrency, choice.queues, choice.listen_notify, name)
    engine.dispose()
    return 0


def senders_of_environment():
    """How the watches' hits leave this process: the SMTP server of $NEWS_ETL_SMTP_* (etl/watches/mail.py)."""
    from ..tasks.deliver import Senders
    from ..watches.mail import smtp_settings
    return Senders(smtp=smtp_settings(os.environ))


def serve_queue_metrics(engine, port: int, addr: str) -> None:
    """/metrics with the queue gauges, read at each scrape with `news-etl status`'s query."""
    metrics = Metrics()
    metrics.watch_queue(lambda: _queue_figures(engine))
    try:
        metrics.serve(port, addr)
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"--metrics-port {port}: {getattr(exc, 'strerror', None) or exc}") from None
    log.info("metrics served", extra={"fields": {"addr": addr, "port": port}})


def _queue_figures(engine):
    try:
        with engine.connect() as conn:
            return queue_figures(conn, utcnow())
    except SQLAlchemyError as exc:  # the scrape goes on without the queue gauges; the log says why
        log.warning("queue figures unavailable", extra={"fields": {"error": str(exc).splitlines()[0]}})
        return None
