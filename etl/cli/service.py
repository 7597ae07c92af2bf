"""``news-etl run`` (the long-running service) and ``news-etl status`` (its health, for a supervisor).

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

from sqlalchemy.exc import OperationalError

from ..fetch.http import HttpClient
from ..load.db import describe, make_engine
from ..pipeline import first_line
from ..service import Metrics, Service, ServiceOptions, check_health, setup_logging
from .common import PROG, UsageError, configured, engine_of, http_settings, settings_of, utcnow

log = logging.getLogger("etl.service")
STARTUP_RETRY_CAP = 30.0


def cmd_run(args: argparse.Namespace) -> int:
    setup_logging(args.log_json, logging.DEBUG if args.verbose else logging.INFO)
    settings = settings_of(args)
    sources = configured(settings)  # a bad file fails here, before anything starts (exit 2)
    signals = _Signals()
    engine = _open_engine(settings, signals)
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
        service = Service(engine, sources, ServiceOptions(settings.config_path, settings.concurrency), client, utcnow, metrics)
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


def _open_engine(settings, signals: "_Signals"):
    """The engine with the schema upgraded, waiting (with backoff) for a database that is not up yet."""
    delay = 1.0
    while not signals.stop.is_set():
        try:
            return engine_of(settings)
        except OperationalError as exc:
            log.warning("database unavailable, retrying", extra={"fields": {"error": first_line(exc), "in": delay}})
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

    def wait_loop(self, service: Service) -> None:
        while not self.stop.wait(0.2):
            if self.reload.is_set():
                self.reload.clear()
                service.reload()


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    engine = make_engine(settings.database_url)
    try:
        health = check_health(engine, utcnow(), args.factor)
    finally:
        engine.dispose()
    for problem in health.problems:
        print(f"{PROG}: unhealthy: {problem}")
    if health.ok:
        print(f"{PROG}: healthy: {describe(engine)}, {health.checked} enabled source(s) on time")
    return 0 if health.ok else 1
