"""Load one backfill shard (a list of files) into its source: ``etl.pipeline.run_backfill``.

Idempotent by the pipeline's design: each batch commits whole and unchanged input is counted,
not rewritten, so a shard killed mid-way and run again converges on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sqlalchemy import Engine

from ..config import Source
from ..models import RunReport
from ..pipeline import Backfill, Clock, run_backfill

__all__ = ["load_shard"]


def load_shard(engine: Engine, source: Source, paths: Sequence[Path], now: Clock, in_config: bool = False,
               workers: int | None = 0) -> RunReport:
    """One backfill run over ``paths``; cleaning inline by default (a queue worker is one process
    of many, so the parallelism comes from the workers, not from a pool inside each)."""
    return run_backfill(engine, Backfill(source=source, paths=list(paths), in_config=in_config, workers=workers), now)
