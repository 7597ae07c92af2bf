"""What every task is given instead of reaching for it: the database, the HTTP client, the clock
and the sources file's shared settings. An executor builds one and passes it to every task it
runs, so a task never knows who runs it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import Engine

from ..load.run_writes import RunWrites

__all__ = ["Clock", "Context"]

Clock = Callable[[], datetime]


@dataclass
class Context:
    engine: Engine
    now: Clock
    client: object | None = None  # etl.fetch.http.HttpClient; None for tasks that fetch nothing
    agencies: tuple[tuple[str, tuple[str, ...]], ...] = ()  # the sources file's [agencies]
    should_stop: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    # Record the watches' hits of what the tasks load (etl/watches): on for the service's passes,
    # off for a backfill unless asked (`backfill --alert`), so loading an archive floods no desk.
    alerts: bool = True
    # The runs' starts and ends of tasks running at once in this process, group-committed.
    writes: RunWrites = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.writes is None:
            self.writes = RunWrites(self.engine)
