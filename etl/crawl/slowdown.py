"""How fast a crawl asks for pages: at least robots.txt's Crawl-delay apart (the HTTP client
keeps its own per-host delay too, ``etl.load.host_pace`` across the queue's workers), slower after
a 429, 503 or timeout, and back to the floor step by step once pages come again."""

from __future__ import annotations

from typing import Callable

__all__ = ["Slowdown"]

SLOWEST = 300.0  # seconds between pages at most, however often the server pushes back


class Slowdown:
    def __init__(self, sleep: Callable[[float], None], monotonic: Callable[[], float], floor: float = 0.0) -> None:
        self.sleep = sleep
        self.monotonic = monotonic
        self.floor = floor
        self.extra = 0.0  # added by push-back, decays on success
        self._last: float | None = None

    @property
    def delay(self) -> float:
        return self.floor + self.extra

    def wait(self) -> None:
        """Sleep until ``delay`` seconds have passed since the previous request started."""
        now = self.monotonic()
        if self._last is not None and now - self._last < self.delay:
            self.sleep(self.delay - (now - self._last))
            now = self.monotonic()
        self._last = now

    def slow_down(self, retry_after: float | None) -> None:
        """Double the push-back (at least 1 s, at least what Retry-After asks); the next ``wait``
        waits it out."""
        self.extra = min(SLOWEST, max(1.0, self.extra * 2, retry_after or 0.0))

    def recover(self) -> None:
        self.extra = self.extra / 2 if self.extra > 0.05 else 0.0
