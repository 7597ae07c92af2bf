"""Load files into a source: a backfill of files, folders and archives (``news-etl backfill``),
or one shard of a queued backfill (files, archive members, line ranges of a dump). One run.

The input is read in this process; each batch's raw hashes are looked up first (an item already
loaded from the same bytes by the same cleaner is counted unchanged and never cleaned); the rest
is cleaned and prepared in cleaning processes (``etl.cleaners``) while this process writes the
previous batches, so on a machine with two cores the cleaning of the next batches overlaps the
database's work on this one. Each batch (its articles, its failures and the run's counters)
commits in one transaction, so a run killed at any moment leaves whole batches behind and
rerunning it converges on the same rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..clean.text import learned_lexicon, use_learned_lexicon
from ..clean.version import cleaner_version, cleaning_version, raw_hash
from ..cleaners import default_cleaners, ordered_map
from ..config import Source
from ..defaults import BATCH_SIZE
from ..fetch.files import Item, iter_paths, matches
from ..fetch.ranges import Part, split_file
from ..fetch.sniff import is_article_file
from ..load.batch import REPORT_ERRORS, load_isolating
from ..load.prepare import CleanBatch, Prepared, clean_batch
from ..load.upsert import known_raw_hashes
from ..models import ItemError, RawItem, RunReport, Skipped
from .context import Context
from .lifecycle import Run, perform

__all__ = ["Backfill", "load_shard", "run_backfill", "shards_of"]

Progress = Callable[[RunReport], None]


@dataclass(frozen=True, slots=True)
class Backfill:
    source: Source
    paths: Sequence[Path | Part]  # a Part: a line range or archive member (a queued shard)
    in_config: bool
    batch_size: int = BATCH_SIZE
    cleaners: int | None = None  # cleaning processes; None: one per core but one; 0: clean inline
    reclean: bool = False  # clean every item even where its raw hash is stored
    # Record the watches' hits (a files source's new file: yes; `news-etl backfill`: only with --alert).
    alerts: bool = True


def run_backfill(context: Context, job: Backfill, on_progress: Progress | None = None) -> RunReport:
    """Load ``job.paths`` into ``job.source``; item failures are recorded and the rest still load."""
    report = RunReport(kind="backfill", source=job.source.name)
    detail = {"paths": [_shown(p) for p in job.paths], "pattern": job.source.pattern}
    return perform(context, job.source, report, detail, lambda run: _load(run, job, on_progress),
                   in_config=job.in_config)


def load_shard(context: Context, source: Source, pieces: Sequence[Path | Part], in_config: bool = False,
               batch_size: int = BATCH_SIZE, alerts: bool = False) -> RunReport:
    """One queued shard: a backfill run over ``pieces``, cleaning inline (a queue worker is one
    process of many, so the parallelism comes from the workers, not from a pool inside each)."""
    return run_backfill(context, Backfill(source=source, paths=list(pieces), in_config=in_config,
                                          batch_size=batch_size, cleaners=0, alerts=alerts))


def _load(run: Run, job: Backfill, on_progress: Progress | None) -> None:
    report = run.report
    for chunk in _cleaned(run, job):
        report.skipped += chunk.skipped
        room = max(0, REPORT_ERRORS - len(report.skipped_files))
        report.skipped_files.extend(chunk.skipped_files[:room])
        articles = [p for p in chunk.done if isinstance(p, Prepared)]
        errors = [e for e in chunk.done if isinstance(e, ItemError)]
        load_isolating(run.engine, run.source_id, report, articles, errors, chunk.fetched_at, chunk.unchanged,
                       alerts=job.alerts and run.context.alerts)
        if on_progress:
            on_progress(report)


def _cleaned(run: Run, job: Backfill) -> Iterator[CleanBatch]:
    """The input in batches, cleaned and prepared, in input order."""
    agencies, now = run.context.agencies, run.context.now
    version, cleaner = cleaning_version(agencies), cleaner_version()
    chunks = (_sort(run, chunk, now(), version, job.reclean, agencies, cleaner)
              for chunk in _chunks(iter_paths(job.paths, job.source.pattern), job.batch_size))
    cleaners = default_cleaners() if job.cleaners is None else job.cleaners
    # Cleaning processes clean with the lexicon this process uses (a learned one from $NEWS_ETL_LEXICON).
    yield from ordered_map(clean_batch, chunks, cleaners, busy=lambda c: bool(c.todo),
                           initializer=use_learned_lexicon, initargs=(learned_lexicon(),))


def _sort(run: Run, items: list[Item], fetched_at, version: str, reclean: bool, agencies: tuple,
          cleaner: str) -> CleanBatch:
    """Split a batch into what must be cleaned and what is known: reader failures, skipped files,
    and items whose raw hash is stored already (unchanged input, unchanged cleaner)."""
    chunk = CleanBatch(fetched_at, agencies=agencies, cleaner=cleaner)
    raw = [(item, raw_hash(item, version)) for item in items if isinstance(item, RawItem)]
    known = set() if reclean else _known(run, [h for _, h in raw])
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


def _known(run: Run, hashes: list[str]) -> set[str]:
    with run.engine.connect() as conn:
        return known_raw_hashes(conn, run.source_id, hashes)


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- shards of a queued backfill ------------------------------------------------------------


def shards_of(paths: Sequence[Path], files_per_shard: int = 1, records_per_shard: int | None = None,
              pattern: str | None = None) -> list[list[Path | Part]]:
    """The input split into shards: each folder becomes its article files (what the backfill of
    the folder would read: no hidden files, no README or LICENSE, only names matching
    ``pattern``), in a stable order, ``files_per_shard`` to a shard. With ``records_per_shard``, a
    JSONL or CSV file holding more records than that is cut into line ranges of that many records,
    and a zip archive into its members (``etl.fetch.ranges``), each range its own shard and the
    members ``files_per_shard`` to a shard. A path given by name is kept, even a missing one, so
    the run that gets it records its failure as the backfill does."""
    size = max(1, files_per_shard)
    shards: list[list[Path | Part]] = []
    group: list[Path | Part] = []
    for piece in _pieces(paths, records_per_shard, pattern):
        if isinstance(piece, Part) and piece.member is None:
            shards.append([piece])  # a line range is a shard of its own, sized by records_per_shard
            continue
        group.append(piece)
        if len(group) == size:
            shards.append(group)
            group = []
    return shards + ([group] if group else [])


def _pieces(paths: Sequence[Path], records: int | None, pattern: str | None) -> Iterator[Path | Part]:
    for path in paths:
        for file in _article_files(path, pattern) if path.is_dir() else [path]:
            parts = split_file(file, records) if records and file.is_file() else []
            yield from parts or [file]


def _article_files(root: Path, pattern: str | None) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and is_article_file(p.name) and matches(p.name, pattern)
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _shown(piece: Path | Part) -> str:
    """A path as text any database stores: undecodable bytes of a name as ``\\xNN`` escapes."""
    return os.fsencode(piece).decode("utf-8", "backslashreplace") if isinstance(piece, Path) else str(piece)


def with_pattern(source: Source, pattern: str | None) -> Source:
    return replace(source, pattern=pattern) if pattern else source
