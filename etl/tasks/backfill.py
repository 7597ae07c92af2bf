"""Load one backfill shard (files, archive members, line ranges of a dump) into its source:
``etl.pipeline.run_backfill``.

Idempotent by the pipeline's design: each batch commits whole and unchanged input is counted,
not rewritten, so a shard killed mid-way and run again converges on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from sqlalchemy import Engine

from ..config import Source
from ..fetch.files import matches
from ..fetch.ranges import Part, split_file
from ..fetch.sniff import is_article_file
from ..models import RunReport
from ..pipeline import BATCH_SIZE, Backfill, Clock, run_backfill

__all__ = ["load_shard", "shards_of"]


def load_shard(engine: Engine, source: Source, pieces: Sequence[Path | Part], now: Clock, in_config: bool = False,
               batch_size: int = BATCH_SIZE, workers: int | None = 0) -> RunReport:
    """One backfill run over ``pieces``; cleaning inline by default (a queue worker is one process
    of many, so the parallelism comes from the workers, not from a pool inside each)."""
    return run_backfill(engine, Backfill(source=source, paths=list(pieces), in_config=in_config,
                                         batch_size=batch_size, workers=workers), now)


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
