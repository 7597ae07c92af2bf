"""Load one backfill shard (a list of files) into its source: ``etl.pipeline.run_backfill``.

Idempotent by the pipeline's design: each batch commits whole and unchanged input is counted,
not rewritten, so a shard killed mid-way and run again converges on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sqlalchemy import Engine

from ..config import Source
from ..fetch.sniff import is_article_file
from ..models import RunReport
from ..pipeline import BATCH_SIZE, Backfill, Clock, run_backfill

__all__ = ["load_shard", "shards_of"]


def load_shard(engine: Engine, source: Source, paths: Sequence[Path], now: Clock, in_config: bool = False,
               batch_size: int = BATCH_SIZE, workers: int | None = 0) -> RunReport:
    """One backfill run over ``paths``; cleaning inline by default (a queue worker is one process
    of many, so the parallelism comes from the workers, not from a pool inside each)."""
    return run_backfill(engine, Backfill(source=source, paths=list(paths), in_config=in_config,
                                                  batch_size=batch_size, workers=workers), now)


def shards_of(paths: Sequence[Path], files_per_shard: int = 1) -> list[list[Path]]:
    """The input split along file boundaries: each folder becomes its article files (what the
    backfill of the folder would read: no hidden files, no README or LICENSE), in a stable order,
    ``files_per_shard`` to a shard. A path given by name is kept, even a missing one, so the run
    that gets it records its failure as the backfill does."""
    files: list[Path] = []
    for path in paths:
        files += _article_files(path) if path.is_dir() else [path]
    size = max(1, files_per_shard)
    return [files[i:i + size] for i in range(0, len(files), size)]


def _article_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and is_article_file(p.name)
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
