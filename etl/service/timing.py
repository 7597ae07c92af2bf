"""When to fetch a source next: pure functions of its interval, its recent outcomes and a random
number, so the policy is tested without a clock or a scheduler.

* A failing source backs off exponentially from its interval up to a cap; a server's Retry-After
  is honoured when it asks for longer. It is never disabled: there is always a next attempt.
* A healthy source that keeps returning nothing new is polled less often, up to ``max_interval``
  (default 4x interval); new items bring it back towards ``min_interval`` (default interval).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from ..config import Source, parse_interval

__all__ = ["Bounds", "Outcome", "bounds_of", "jitter_of", "next_delay"]

MAX_INTERVAL_FACTOR = 4
BACKOFF_FACTOR = 16         # the failure cap is at least 16x the interval ...
BACKOFF_CAP_LIMIT = 6 * 3600  # ... but no more than 6 h, unless max_interval asks for more
JITTER_FRACTION = 0.1
JITTER_LIMIT = 30.0
QUIET_STRETCH = 1.5
RETRY_AFTER_LIMIT = 86400.0


@dataclass(frozen=True, slots=True)
class Bounds:
    interval: float
    min_interval: float
    max_interval: float
    backoff_cap: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one pass of a source did, as far as timing cares."""

    ok: bool
    new: int = 0
    failures: int = 0            # consecutive failures including this one (0 when ok)
    retry_after: float | None = None


def bounds_of(source: Source) -> Bounds:
    """``interval = 60`` -> Bounds(60, 60, 240, 960); ``min_interval``/``max_interval`` options
    (seconds or durations like ``"2h"``) move the adaptive range."""
    interval = float(source.interval)
    low = float(parse_interval(source.options.get("min_interval", source.interval)))
    high = float(parse_interval(source.options.get("max_interval", source.interval * MAX_INTERVAL_FACTOR)))
    low = min(low, interval)
    high = max(high, interval)
    cap = max(high, min(interval * BACKOFF_FACTOR, BACKOFF_CAP_LIMIT))
    return Bounds(interval, low, high, cap)


def next_delay(bounds: Bounds, previous: float, outcome: Outcome) -> float:
    """Seconds until the next attempt, before jitter. ``previous`` is the last healthy delay."""
    if not outcome.ok:
        backoff = min(bounds.backoff_cap, bounds.interval * 2 ** max(0, outcome.failures - 1))
        # A server asking for a pause gets it, within reason: a bogus year-long value is cut to a day.
        return max(backoff, min(outcome.retry_after or 0.0, RETRY_AFTER_LIMIT))
    if outcome.new:
        return max(bounds.min_interval, min(previous, bounds.interval * QUIET_STRETCH) / 2)
    return min(bounds.max_interval, max(bounds.min_interval, previous * QUIET_STRETCH))

def jitter_of(delay: float, uniform: Callable[[float, float], float] = random.uniform) -> float:
    """A spread of +-10% (at most 30 s) so sources with one interval do not fire in step:
    ``jitter_of(1.0)`` is within 0.1 s, ``jitter_of(900)`` within 30 s."""
    spread = min(delay * JITTER_FRACTION, JITTER_LIMIT)
    return uniform(-spread, spread)
