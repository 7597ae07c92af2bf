"""fetch -> clean -> load for one source: returns a RunReport, never prints.

Each batch (its articles, its failures and the run's counters) commits in one transaction, so a
run killed at any moment leaves whole batches behind and rerunning it converges on the same rows.

A backfill reads in this process, looks each batch's raw hashes up (an item already loaded from
the same bytes by the same cleaner version is counted unchanged and never cleaned), cleans and
prepares the rest in worker processes (``etl.workers``) and writes them here, so on a machine
with two cores the cleaning of the next batches overlaps the database's work on this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from .clean.text import learned_lexicon, use_learned_lexicon
from .clean.version import cleaner_version, digest, raw_hash
from .config import Source
from .defaults import BATCH_SIZE
from .errors import first_line
from .fetch.files import Item, iter_paths
from .fetch.ranges import Part
from .load.prepare import CleanBatch, Prepared, clean_batch
from .load.runs import add_counts, finish_run, record_errors, start_run
from .load.index import settle
from .load.sources import ensure_source
from .load.upsert import known_raw_hashes, write_articles
from .models import Article, ItemError, RawItem, RunReport, Skipped
from .workers import default_workers, ordered_map

REPORT_ERRORS = 20  # failures kept on the report object; all are in ingest_errors

Clock = Callable[[], datetime]
Progress = Callable[[RunReport], None]


@dataclass(frozen=True, slots=True)
class Backfill:
    source: Source
    paths: Sequence[Path | Part]  # a Part: a line range or archive member (a queued shard)
    in_config: bool
    batch_size: int = BATCH_SIZE
    workers: int | None = None  # cleaning processes; None: one per core but one; 0: clean inline
    reclean: bool = False  # clean every item even where its raw hash is stored


def run_backfill(engine: Engine, job: Backfill, now: Clock, on_progress: Progress | None = None) -> RunReport:
    """Load files into ``job.source``; item failures are recorded and the rest still load."""
    report = RunReport(kind="backfill", source=job.source.name)
    with engine.begin() as conn:
        source_id = ensure_source(conn, job.source, now(), job.in_config)
        detail = {"paths": [str(p) for p in job.paths], "pattern": job.source.pattern}
        report.run_id = start_run(conn, "backfill", source_id, detail, now())
    try:
        for chunk in _cleaned(engine, source_id, job, now):
            report.skipped += chunk.skipped
            room = max(0, REPORT_ERRORS - len(report.skipped_files))
            report.skipped_files.extend(chunk.skipped_files[:room])
            articles = [p for p in chunk.done if isinstance(p, Prepared)]
            errors = [e for e in chunk.done if isinstance(e, ItemError)]
            load_isolating(engine, source_id, report, articles, errors, chunk.fetched_at, chunk.unchanged)
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


def _cleaned(engine: Engine, source_id: int, job: Backfill, now: Clock) -> Iterator[CleanBatch]:
    """The input in batches, cleaned and prepared, in input order."""
    # The source's own agency spellings change what cleaning yields, so they are part of the version.
    agencies = job.source.agencies
    cleaner = cleaner_version()
    version = cleaner + (f"+agencies.{digest(repr(agencies))}" if agencies else "")
    chunks = (_sort(engine, source_id, chunk, now(), version, job.reclean, agencies, cleaner)
              for chunk in _chunks(iter_paths(job.paths, job.source.pattern), job.batch_size))
    workers = default_workers() if job.workers is None else job.workers
    # Workers clean with the lexicon this process uses (a learned one from $NEWS_ETL_LEXICON).
    yield from ordered_map(clean_batch, chunks, workers, busy=lambda c: bool(c.todo),
                           initializer=use_learned_lexicon, initargs=(learned_lexicon(),))


def _sort(engine: Engine, source_id: int, items: list[Item], fetched_at: datetime, version: str,
          reclean: bool, agencies: tuple = (), cleaner: str = "") -> CleanBatch:
    """Split a batch into what must be cleaned and what is known: reader failures, skipped files,
    and items whose raw hash is stored already (unchanged input, unchanged cleaner)."""
    chunk = CleanBatch(fetched_at, agencies=agencies, cleaner=cleaner)
    raw = [(item, raw_hash(item, version)) for item in items if isinstance(item, RawItem)]
    known = set() if reclean else _known(engine, source_id, [h for _, h in raw])
    for item in items:
        if isinstance(item, Skipped):
            chunk.skipped += 1
            chunk.skipped_files.append(item)
        elif isinstance(item, ItemError):
            chunk.done.append(item)
    for item, hashed in raw:
        if hashed in known:
            chunk.unchanged += 1
        else:
            chunk.todo.append((item, hashed))
    return chunk


def _known(engine: Engine, source_id: int, hashes: list[str]) -> set[str]:
    with engine.connect() as conn:
        return known_raw_hashes(conn, source_id, hashes)


def load_batch(engine: Engine, source_id: int, report: RunReport, articles: Sequence[Article | Prepared],
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
    # After the report counts the committed batch: a database lost here stops the run, not the count.
    settle(engine, counts.new)


def load_isolating(engine: Engine, source_id: int, report: RunReport, articles: Sequence[Article | Prepared],
                   errors: list[ItemError], fetched_at: datetime, unchanged: int = 0) -> list[ItemError]:
    """``load_batch``; when the database refuses the batch's data (not a lost connection, which
    stops the run), each article is loaded in a transaction of its own and the ones it refuses are
    recorded as failed items, so one bad value costs one item, not the run."""
    try:
        load_batch(engine, source_id, report, articles, errors, fetched_at, unchanged)
        return errors
    except (DataError, IntegrityError):
        pass  # the transaction rolled back whole; find the articles it refuses
    refused = list(errors)
    for item in articles:
        try:
            load_batch(engine, source_id, report, [item], [], fetched_at)
        except (DataError, IntegrityError) as exc:
            article = item.article if isinstance(item, Prepared) else item
            refused.append(ItemError(article.location, f"database refused the article: {first_line(exc)}",
                                     article.title[:300]))
    load_batch(engine, source_id, report, [], refused, fetched_at, unchanged)
    return refused


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

