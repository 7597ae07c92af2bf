"""Executor ``once`` (`news-etl fetch`): every given source's pass, now, concurrently, and no
schedule kept. Sources are started one host at a time in turn, since the HTTP client keeps each
host polite (a concurrency limit and a minimum delay per host)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from ..config import Source
from ..defaults import CONCURRENCY
from ..fetch.addresses import url_host
from ..models import RunReport
from ..tasks.context import Context
from ..tasks.passes import run_pass

__all__ = ["run_once", "spread_by_host"]


def run_once(context: Context, sources: Sequence[Source], concurrency: int = CONCURRENCY) -> list[RunReport]:
    """One pass over ``sources``; a report per source, in the order given. The passes share the
    context's run writes, so their runs' starts and ends are committed many per transaction."""
    order = spread_by_host(sources)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(sources)))) as pool:
        reports = list(pool.map(lambda i: run_pass(context, sources[i]), order))
    by_index = dict(zip(order, reports))
    return [by_index[i] for i in range(len(sources))]


def spread_by_host(sources: Sequence[Source]) -> list[int]:
    """Indexes of ``sources`` taking one source of each host in turn: ``[a1, a2, b1] -> [a1, b1, a2]``.
    Sources of one host wait per_host_delay for each other; started back to back they would hold
    every thread while the other hosts idle."""
    queues: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        queues.setdefault(url_host(source.url or ""), []).append(index)
    order: list[int] = []
    for round_ in range(max((len(q) for q in queues.values()), default=0)):
        order += [q[round_] for q in queues.values() if round_ < len(q)]
    return order
