"""When to attempt a source next: one pure function of its timing settings, what its stored state
says, the outcome of the pass that just ended, and the time. Both executors call it and store its
result in the source's row, so a schedule survives restarts and moves between machines.

* A pass that failed backs off exponentially from the interval up to a cap (16x the interval, at
  most 6 h, or ``max_interval`` when that is longer); a server's Retry-After is honoured up to a day.
* A bot wall (a failure of kind ``blocked``) backs off 4x longer than any other failure, up to 4x
  its cap (at most a day): the wall rarely lifts within minutes, and asking again and again is what
  gets a client walled for longer.
* A database failure is not the source's fault: it does not count against the source; the next
  attempt backs off from the interval up to ``max_interval`` while the database keeps failing.
* A healthy pass with nothing new stretches the delay 1.5x, up to ``max_interval`` (default 4x
  the interval); news brings it back towards ``min_interval`` (default the interval).
* Every delay gets a spread of +-10% (at most 30 s), so sources with one interval do not fire in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ..config import Source
from ..models import Failure

__all__ = ["Due", "State", "Timing", "jitter_of", "next_attempt", "next_delay", "timing_of"]

MAX_INTERVAL_FACTOR = 4
BACKOFF_FACTOR = 16           # the failure cap is at least 16x the interval ...
BACKOFF_CAP_LIMIT = 6 * 3600  # ... but no more than 6 h, unless max_interval asks for more
JITTER_FRACTION = 0.1
JITTER_LIMIT = 30.0
QUIET_STRETCH = 1.5
RETRY_AFTER_LIMIT = 86400.0
BLOCKED_FACTOR = 4            # a wall's backoff is this much longer than a network error's ...
BLOCKED_CAP_LIMIT = 86400.0   # ... and its cap too, but no more than a day
MIN_DELAY = 0.05


@dataclass(frozen=True, slots=True)
class Timing:
    """A source's timing settings in seconds: ``interval`` and the adaptive range around it."""

    interval: float
    min_interval: float
    max_interval: float
    backoff_cap: float


@dataclass(frozen=True, slots=True)
class State:
    """What the source's row remembers between passes."""

    failures: int = 0              # consecutive failed passes (the pass just ended included)
    healthy_delay: float | None = None  # the last delay after a healthy pass (adaptive polling)
    database_failures: int = 0     # consecutive passes the database refused


@dataclass(frozen=True, slots=True)
class Due:
    at: datetime        # the next attempt
    delay: float        # seconds before jitter
    state: State        # what to store beside it


def timing_of(source: Source) -> Timing:
    """``interval = 60`` -> Timing(60, 60, 240, 960); ``min_interval``/``max_interval`` move the range."""
    # A site source's pass is its crawl: every crawl.every when given, else every interval.
    interval = float(source.crawl_every if source.kind == "site" else source.interval)
    low = min(float(source.min_interval or interval), interval)
    high = max(float(source.max_interval or interval * MAX_INTERVAL_FACTOR), interval)
    cap = max(high, min(interval * BACKOFF_FACTOR, BACKOFF_CAP_LIMIT))
    return Timing(interval, low, high, cap)


def next_attempt(timing: Timing, state: State, failure: Failure | None, new: int, now: datetime,
                 uniform: Callable[[float, float], float] = random.uniform) -> Due:
    """The next attempt after a pass that ended with ``failure`` (None: healthy, ``new`` articles).
    ``state.failures`` already counts this pass when it failed (the pass records it on the row)."""
    delay, after = next_delay(timing, state, failure, new)
    return Due(now + timedelta(seconds=max(MIN_DELAY, delay + jitter_of(delay, uniform))), delay, after)


def next_delay(timing: Timing, state: State, failure: Failure | None, new: int = 0) -> tuple[float, State]:
    """Seconds until the next attempt, before jitter, and the state to store."""
    if failure is not None and failure.kind == "database":
        count = state.database_failures + 1
        delay = min(timing.max_interval, timing.interval * 2 ** (count - 1))
        return delay, State(state.failures, state.healthy_delay, count)
    if failure is not None:
        failures = max(1, state.failures)
        backoff = min(timing.backoff_cap, timing.interval * 2 ** (failures - 1))
        if failure.kind == "blocked":
            cap = max(timing.backoff_cap, min(timing.backoff_cap * BLOCKED_FACTOR, BLOCKED_CAP_LIMIT))
            backoff = min(cap, timing.interval * BLOCKED_FACTOR * 2 ** (failures - 1))
        # A server asking for a pause gets it, within reason: a bogus year-long value is cut to a day.
        delay = max(backoff, min(failure.retry_after or 0.0, RETRY_AFTER_LIMIT))
        return delay, State(failures, state.healthy_delay, 0)
    previous = state.healthy_delay or timing.interval
    if new:
        delay = max(timing.min_interval, min(previous, timing.interval * QUIET_STRETCH) / 2)
    else:
        delay = min(timing.max_interval, max(timing.min_interval, previous * QUIET_STRETCH))
    return delay, State(0, delay, 0)


def jitter_of(delay: float, uniform: Callable[[float, float], float] = random.uniform) -> float:
    """A spread of +-10% (at most 30 s): ``jitter_of(1.0)`` is within 0.1 s, ``jitter_of(900)`` within 30 s."""
    spread = min(delay * JITTER_FRACTION, JITTER_LIMIT)
    return uniform(-spread, spread)
