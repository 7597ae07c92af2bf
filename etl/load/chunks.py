"""Statements over many values, cut into pieces every database accepts.

PostgreSQL's wire protocol carries at most 65,535 parameters per statement and SQLite at most
32,766 (999 in builds before 3.32), so ``IN (...)`` over a feed's 70,000 keys or a crawl's 100,000
URLs failed whole ("number of parameters must be between 0 and 65535"). Every lookup by a list of
values goes through ``chunks``; multi-row writes go by COPY or executemany, one row per execution.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterable, Iterator, TypeVar

__all__ = ["BOUND_VALUES", "chunks"]

T = TypeVar("T")

# Values bound in one statement: under every SQLite build's limit, so one number serves both
# databases; a batch of a backfill (500 articles) still takes one statement.
BOUND_VALUES = 900


def chunks(values: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``chunks(range(5), 2)`` -> ``[0, 1], [2, 3], [4]``; ``size`` defaults to BOUND_VALUES."""
    size = size or BOUND_VALUES
    iterator = iter(values)
    while piece := list(islice(iterator, size)):
        yield piece
