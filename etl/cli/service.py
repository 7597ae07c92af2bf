"""``news-etl run``: the long-running service (``status.py`` checks its health).

Signals: SIGTERM/SIGINT stop taking new work and let running passes commit (up to --grace
seconds); a second one exits at once, which is safe because each batch is one transaction.
SIGHUP reloads the sources file.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from dataclasses import replace

from sqlalchemy.exc import OperationalError

from ..errors import first_line
from ..fetch.http import HttpClient
from ..executors.local import LocalExecutor, LocalOptions
from ..observe import Metrics, setup_logging
from .common import DatabaseUnavailable, UsageError, http_settings, quiet, utcnow, verbose
from .db import configured, engine_of, settings_of
from .worker import WorkerChoice, run_queue_worker, senders_of_environment

log = logging.getLogger("etl.service")
STARTUP_RETRY_CAP = 30.0


def cmd_run(args: argparse.Namespace) -> int:
    level = logging.DEBUG if verbose(args) else logging.WARNING if quiet(args) else logging.INFO
    setup_logging(args.log_json, level)
    settings = settings_of(args)
    if args.executor == "procrastinate":
        # Dispatch, maintenance and polls in this one process; more `news-etl worker`s may join.
        # --concurrency here is the worker's tasks at once (its own default when not given).
        choice = WorkerChoice(per_host_delay=args.per_host_delay, metrics_port=args.metrics_port,
                              metrics_addr=args.metrics_addr)
        if args.concurrency:
            choice = replace(choice, concurrency=args.concurrency)
        return run_queue_worker(settings, choice)
    config = configured(settings)  # a bad file fails here, before anything starts (exit 2)
    signals = _Signals()
    engine = _open_engine(settings, signals, notice=not quiet(args))
    if engine is None:
        return 0  # told to stop before the database ever answered
    metrics = Metrics()
    if args.metrics_port:
        try:
            metrics.serve(args.metrics_port, args.metrics_addr)
        except (OSError, RuntimeError) as exc:
            raise UsageError(f"--metrics-port {args.metrics_port}: {getattr(exc, 'strerror', None) or exc}") from None
        log.info("metrics served", extra={"fields": {"addr": args.metrics_addr, "port": args.metrics_port}})
    http = http_settings(retries=args.http_retries, per_host_delay=args.per_host_delay)
    with HttpClient(http) as client:
        service = LocalExecutor(engine, config, LocalOptions(settings.config_path, settings.concurrency), client, utcnow,
                                metrics, senders=senders_of_environment())
        service.start()
        signals.wait_loop(service)
        log.info("stopping", extra={"fields": {"grace": args.grace}})
        drained = service.stop(args.grace)
    if not drained:
        # Running passes did not finish in time; committed batches are whole, the rest is redone later.
        log.error("grace period over, exiting with passes still running", extra={"fields": {"grace": args.grace}})
        logging.shutdown()
        os._exit(1)
    engine.dispose()
    log.info("stopped")
    return 0


def _open_engine(settings, signals: "_Signals", notice: bool):
    """The engine with the schema upgraded, waiting (with backoff) for a database that is not up yet."""
    delay = 1.0
    while not signals.stop.is_set():
        try:
            return engine_of(settings, notice)
        except (DatabaseUnavailable, OperationalError) as exc:
            log.warning("database unavailable, retrying", extra={"fields": {"error": _line(exc), "in": delay}})
            signals.stop.wait(delay)
            delay = min(delay * 2, STARTUP_RETRY_CAP)
    return None


class _Signals:
    """Signal handlers only set flags; the main thread acts on them."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.reload = threading.Event()
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, lambda *_: self.reload.set())

    def _on_stop(self, signum, _frame) -> None:
        if self.stop.is_set():
            os._exit(128 + signum)  # second signal: now; each batch is one transaction
        self.stop.set()

    def wait_loop(self, service: LocalExecutor) -> None:
        while not self.stop.wait(0.2):
            if self.reload.is_set():
                self.reload.clear()
                service.reload()


def _line(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DatabaseUnavailable) else first_line(exc)
