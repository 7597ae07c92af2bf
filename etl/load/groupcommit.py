"""Group commit: the small writes of many worker threads, several per transaction.

A worker calls ``submit(item)`` and gets its result once the transaction that wrote the item has
committed, so whatever it reports afterwards is in the database (kill -9 loses nothing already
reported). While one thread writes a batch, the items others submit queue up; when it is done one
of them writes everything queued, in one transaction. There is no background thread: the writer
is whichever waiting thread comes first (leader and followers), so nothing needs stopping and a
lone caller writes at once, as it would without this.

A batch the database refuses is written again item by item, each in its own transaction, so one
bad value fails its own item only; the exception is raised in the thread that submitted it.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Sequence, TypeVar

from sqlalchemy import Connection, Engine

__all__ = ["GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")


class _Pending(Generic[T]):
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: T) -> None:
        self.item, self.done, self.result, self.error = item, False, None, None


class GroupCommit(Generic[T, R]):
    """``write(conn, items) -> results`` (one per item, in order) run on batches of submitted items."""

    def __init__(self, engine: Engine, write: Callable[[Connection, Sequence[T]], list[R]]) -> None:
        self._engine = engine
        self._write = write
        self._cond = threading.Condition()
        self._queue: list[_Pending[T]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        pending = _Pending(item)
        with self._cond:
            self._queue.append(pending)
            while not pending.done and self._writing:
                self._cond.wait()
            if not pending.done:
                self._writing = True
                batch, self._queue = self._queue, []
        if not pending.done:
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _commit(self, batch: list[_Pending[T]]) -> None:
        try:
            with self._engine.begin() as conn:
                results = self._write(conn, [p.item for p in batch])
        except Exception as exc:  # re-raised in each submitter's thread, never swallowed
            if len(batch) == 1:
                self._settle(batch[0], error=exc)
                return
            for pending in batch:  # one refused item must not fail the others
                self._commit([pending])
            return
        for pending, result in zip(batch, results):
            self._settle(pending, result=result)

    @staticmethod
    def _settle(pending: _Pending, result=None, error: BaseException | None = None) -> None:
        pending.result, pending.error, pending.done = result, error, True
