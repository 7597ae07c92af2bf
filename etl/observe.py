"""What the service tells its operators: log lines (plain or JSON) and Prometheus metrics.

Every pass logs one line (``log_pass``) through the ``etl.service`` logger (the local executor;
``etl.queue`` for workers) with its facts in ``extra={"fields":
{...}}``; the plain formatter appends them as ``key=value``, the JSON one as keys of the object.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from .models import RunReport

if TYPE_CHECKING:
    from .load.health import QueueFigures

__all__ = ["JsonFormatter", "KeyValueFormatter", "Metrics", "log_pass", "setup_logging"]

# The log line's name for a source's pass, by kind.
PASS_NAMES = {"feed": "fetch", "files": "watch", "site": "crawl"}


class KeyValueFormatter(logging.Formatter):
    """``2026-01-10T12:00:00Z INFO fetch source=mehr status=ok new=3 duration=0.41``"""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        line = f"{_iso(record.created)} {record.levelname} {record.getMessage()}"
        line += "".join(f" {k}={_plain(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``{"ts": ..., "level": "INFO", "msg": "fetch", "source": "mehr", ...}``"""

    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": _iso(record.created), "level": record.levelname, "logger": record.name,
                "msg": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job start and end at INFO; our one line per pass says more.
    logging.getLogger("apscheduler").setLevel(logging.WARNING if level > logging.DEBUG else level)


def log_pass(log: logging.Logger, source, report: RunReport, seconds: float, due=None, what: str | None = None) -> None:
    """One line per pass: ``fetch source=mehr status=ok seen=3 new=2 ... duration=0.41 next_in=600.0``;
    ``due`` (``etl.tasks.due.Due``) adds the failures in a row and the delay to the next attempt."""
    fields = {"source": source.name, "status": "error" if report.failure else "ok", "seen": report.seen,
              "new": report.new, "updated": report.updated, "failed": report.failed, "duration": round(seconds, 3)}
    if due is not None:
        fields.update(failures=due.state.failures, next_in=round(due.delay, 1))
    for name, shown in (("pages_fetched", "pages"), ("pages_left", "left"), ("requests", "requests")):
        if hasattr(report, name):  # a crawl's
            fields[shown] = getattr(report, name)
    if report.failure is not None:
        fields.update(error=report.error, failure=report.failure.kind)
    level = logging.WARNING if report.failure else logging.INFO
    log.log(level, what or PASS_NAMES.get(source.kind, "pass"), extra={"fields": fields})


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


class Metrics:
    """Per-source counters in their own registry (so tests and several services do not share one).
    Without ``prometheus_client`` installed every method is a no-op and ``serve`` says why."""

    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            self._prom = None
            return
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        labels = ["source"]
        self.fetches = prom.Counter("news_etl_fetches", "Passes over a source, by outcome.",
                                    labels + ["outcome"], registry=self.registry)
        self.duration = prom.Histogram("news_etl_fetch_duration_seconds", "Duration of one pass.", labels,
                                       registry=self.registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        self.stored = prom.Counter("news_etl_articles_stored", "Articles written (new or updated).", labels,
                                   registry=self.registry)
        self.item_failures = prom.Counter("news_etl_item_failures", "Items that failed to load.", labels,
                                          registry=self.registry)
        self.failures = prom.Gauge("news_etl_consecutive_failures", "Failed passes in a row.", labels,
                                   registry=self.registry)
        self.next_attempt = prom.Gauge("news_etl_next_attempt_timestamp_seconds", "When the source is fetched next.",
                                       labels, registry=self.registry)

    def observe(self, report: RunReport, seconds: float, failures: int, next_at: datetime) -> None:
        if self._prom is None:
            return
        source = report.source
        self.fetches.labels(source, "error" if report.error else "ok").inc()
        self.duration.labels(source).observe(seconds)
        self.stored.labels(source).inc(report.new + report.updated)
        self.item_failures.labels(source).inc(report.failed)
        self.failures.labels(source).set(failures)
        self.next_attempt.labels(source).set(next_at.timestamp())

    def watch_queue(self, figures: Callable[[], "QueueFigures | None"]) -> None:
        """Queue gauges read at each scrape from ``figures`` (``health.queue_figures`` on a fresh
        connection, the query `news-etl status` runs), so any process can serve them."""
        if self._prom is not None:
            self.registry.register(_QueueCollector(figures))

    def serve(self, port: int, addr: str) -> None:
        if self._prom is None:
            raise RuntimeError("--metrics-port needs the prometheus_client package (pip install prometheus_client)")
        self._prom.start_http_server(port, addr=addr, registry=self.registry)


class _QueueCollector:
    """The procrastinate queue's figures as gauges; none when the database has no queue."""

    GAUGES = (("waiting", "news_etl_queue_waiting_jobs", "Jobs deferred and not started yet."),
              ("running", "news_etl_queue_running_jobs", "Jobs running on a worker."),
              ("oldest_waiting_seconds", "news_etl_queue_oldest_waiting_seconds",
               "Age of the oldest waiting job (0 when none waits)."),
              ("stalled", "news_etl_queue_stalled_jobs", "Running jobs whose worker stopped its heartbeat."),
              ("workers", "news_etl_queue_workers", "Workers with a recent heartbeat."))

    def __init__(self, figures) -> None:
        from prometheus_client.core import GaugeMetricFamily
        self._gauge = GaugeMetricFamily
        self._figures = figures

    def describe(self):
        return []  # figures come from the database at scrape time; nothing to check at registration

    def collect(self):
        figures = self._figures()
        if figures is None:
            return
        for field, name, help_ in self.GAUGES:
            yield self._gauge(name, help_, value=float(getattr(figures, field) or 0.0))
