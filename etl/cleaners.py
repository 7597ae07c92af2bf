"""Cleaning processes: a bounded, ordered map over worker processes, so the CPU-bound cleaning
of a backfill runs on every core while the calling process writes to the database. (They are
called cleaners, not workers: "workers" are the queue executor's processes, `news-etl worker`.)

Why not ``ProcessPoolExecutor.map``: it submits the whole input at once, so memory would grow
with the input. Here at most ``window`` tasks are in flight, results come back in input order,
and the input is read only as fast as the results are consumed.

Workers start from a ``forkserver`` that has imported the cleaner, never by forking the caller:
a forked child would inherit the caller's open database connections.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The forkserver imports the cleaner and builds the packaged lexicon's indexes once (etl/clean/warm.py),
# so each cleaning process forked from it shares those pages instead of building its own copy.
_PRELOAD = ["etl.load.prepare", "etl.clean.warm"]


def default_cleaners() -> int:
    """One cleaning process per core but one: the writing process and the database server need
    the last core (on 2 cores a second one only moved the wait, for 40 MiB more)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def ordered_map(fn: Callable[[T], R], tasks: Iterable[T], workers: int,
                busy: Callable[[T], bool] = lambda task: True, window: int | None = None,
                initializer: Callable | None = None, initargs: tuple = ()) -> Iterator[R]:
    """``map(fn, tasks)`` in order, on up to ``workers`` processes, with a bounded number in flight.

    Tasks for which ``busy`` is false (nothing to compute) run inline and start nothing. The
    processes start only at the second busy task, so a small input (or a rerun where everything is
    known) pays no start-up; ``workers == 0`` runs everything in this process. The first busy task
    waits for the second (tasks after it wait behind it, keeping the order): with a second one both
    go to the processes, so this process never loads the cleaner's lexicon (30 MiB) for one batch;
    alone it runs here. ``initializer`` runs once in each worker (to set up what this process set
    up before: a learned lexicon).
    """
    pending: deque[Future] = deque()
    # One task per process and one more, being consumed here: the caller writes a batch several
    # times faster than a process cleans one, so the next task is queued before a process is free,
    # and each further batch in flight held about 8 MiB here (issue 27's 250 MiB ceiling).
    limit = window or max(1, workers) + 1
    pool: ProcessPoolExecutor | None = None
    held: list = []  # the first busy task and the idle ones after it, until the pool decision
    try:
        for task in tasks:
            if pool is None and workers > 0 and (held or busy(task)):
                if not (held and busy(task)):
                    held.append(task)
                    continue
                pool = _pool(workers, initializer, initargs)
                pending.extend(pool.submit(fn, t) if busy(t) else _done(fn(t)) for t in held)
                held = []
            pending.append(pool.submit(fn, task) if pool is not None and busy(task) else _done(fn(task)))
            while len(pending) >= limit or (pending and pending[0].done()):
                yield pending.popleft().result()
        pending.extend(_done(fn(task)) for task in held)  # one busy task in all: run here
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:  # an early exit (error, Ctrl-C): drop what has not started
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int, initializer: Callable | None, initargs: tuple) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer, initargs=initargs)


def _done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
