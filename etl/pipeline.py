"""fetch -> clean -> load for one source: returns a RunReport, never prints.

Each batch (its articles, its failures and the run's counters) commits in one transaction, so a
run killed at any moment leaves whole batches behind and rerunning it converges on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .clean.agency import AgencyTable, agency_table
from .clean.article import to_article
from .config import Source
from .fetch.files import Item, iter_paths
from .load.runs import add_counts, finish_run, record_errors, start_run
from .load.sources import ensure_source
from .load.upsert import write_articles
from .models import Article, ItemError, RawItem, RunReport, Skipped

BATCH_SIZE = 500
REPORT_ERRORS = 20  # failures kept on the report object; all are in ingest_errors

Clock = Callable[[], datetime]
Progress = Callable[[RunReport], None]


@dataclass(frozen=True, slots=True)
class Backfill:
    source: Source
    paths: Sequence[Path]
    in_config: bool
    batch_size: int = BATCH_SIZE


def run_backfill(engine: Engine, job: Backfill, now: Clock, on_progress: Progress | None = None) -> RunReport:
    """Load files into ``job.source``; item failures are recorded and the rest still load."""
    report = RunReport(kind="backfill", source=job.source.name)
    with engine.begin() as conn:
        source_id = ensure_source(conn, job.source, now(), job.in_config)
        detail = {"paths": [str(p) for p in job.paths], "pattern": job.source.pattern}
        report.run_id = start_run(conn, "backfill", source_id, detail, now())
    items = iter_paths(job.paths, job.source.pattern)
    try:
        for chunk in _chunks(items, job.batch_size):
            _load_chunk(engine, source_id, report, chunk, now, agency_table(job.source.agencies))
            if on_progress:
                on_progress(report)
    except SQLAlchemyError as exc:
        report.error = f"database error: {first_line(exc)}"
    except KeyboardInterrupt:
        report.error = "interrupted"
        finish(engine, report, now)
        raise
    finish(engine, report, now)
    return report


def _load_chunk(engine: Engine, source_id: int, report: RunReport, chunk: list[Item], now: Clock,
                agencies: AgencyTable) -> None:
    fetched_at = now()
    articles: list[Article] = []
    errors: list[ItemError] = []
    for item in chunk:
        if isinstance(item, Skipped):
            report.skipped += 1
            continue
        cleaned = to_article(item, fetched_at, agencies) if isinstance(item, RawItem) else item
        (articles if isinstance(cleaned, Article) else errors).append(cleaned)
    load_batch(engine, source_id, report, articles, errors, fetched_at)


def load_batch(engine: Engine, source_id: int, report: RunReport, articles: list[Article],
               errors: list[ItemError], fetched_at: datetime, known_unchanged: int = 0) -> None:
    """Articles, failures and the run's counters in one transaction; the report follows.
    ``known_unchanged`` counts items the caller already found unchanged and did not clean."""
    with engine.begin() as conn:
        counts = write_articles(conn, source_id, articles, fetched_at)
        record_errors(conn, report.run_id, source_id, errors, fetched_at)
        delta = {"seen": len(articles) + len(errors) + known_unchanged, "new": counts.new,
                 "updated": counts.updated, "unchanged": counts.unchanged + known_unchanged,
                 "failed": len(errors)}
        add_counts(conn, report.run_id, delta)
    for name, value in delta.items():
        setattr(report, name, getattr(report, name) + value)
    report.errors.extend(errors[: max(0, REPORT_ERRORS - len(report.errors))])


def finish(engine: Engine, report: RunReport, now: Clock) -> None:
    try:
        with engine.begin() as conn:
            finish_run(conn, report, now())
    except SQLAlchemyError as exc:
        # The database is gone; the run row stays 'running' and the report says why.
        report.error = report.error or f"database error: {first_line(exc)}"


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
