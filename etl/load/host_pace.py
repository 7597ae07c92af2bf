"""The per-host minimum delay shared by every worker of the procrastinate executor (table ``host_pace``).

One process keeps its pause between requests to a host in memory (``etl.fetch.http.HttpClient``);
ten workers on ten machines would each keep their own and hit a host ten times as hard. Here each
request first reserves its start in one atomic statement, ``next_at = greatest(next_at, now()) +
delay``, and sleeps until that start; the row lock of the upsert orders concurrent reservations,
so however many processes ask, starts are at least ``delay`` apart. A Retry-After pushes
``next_at`` later for everyone. The database's clock is the only one read, so the machines'
clocks need not agree. PostgreSQL only (the local executor, SQLite included, keeps the memory one).
"""

from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import Connection, Engine, text

__all__ = ["SharedPace", "hold_off", "reserve"]

# RETURNING sees the new row: its next_at minus the delay is this request's start.
_RESERVE = text("""
INSERT INTO host_pace AS p (host, next_at) VALUES (:host, now() + make_interval(secs => :delay))
ON CONFLICT (host) DO UPDATE SET next_at = greatest(p.next_at, now()) + make_interval(secs => :delay)
RETURNING extract(epoch FROM p.next_at - now()) - :delay
""")

_HOLD_OFF = text("""
INSERT INTO host_pace AS p (host, next_at) VALUES (:host, now() + make_interval(secs => :seconds))
ON CONFLICT (host) DO UPDATE SET next_at = greatest(p.next_at, excluded.next_at)
""")


def reserve(conn: Connection, host: str, delay: float) -> float:
    """Reserve the next start on ``host``: seconds to wait before it (0 when the host is free)."""
    _check(conn)
    return max(0.0, float(conn.execute(_RESERVE, {"host": host, "delay": delay}).scalar_one()))


def hold_off(conn: Connection, host: str, seconds: float) -> None:
    """No request to ``host`` starts within ``seconds`` from now (a Retry-After), from any worker."""
    _check(conn)
    conn.execute(_HOLD_OFF, {"host": host, "seconds": seconds})


def _check(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise ValueError(f"the shared per-host delay needs PostgreSQL, not {conn.dialect.name}")


class SharedPace:
    """What ``HttpClient(pacer=...)`` calls before each request and on a Retry-After."""

    def __init__(self, engine: Engine, delay: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.delay = delay
        self._sleep = sleep

    def turn(self, host: str) -> None:
        """Block until this process may start a request to ``host``."""
        if self.delay <= 0:
            return  # no delay asked: no round trip either
        with self.engine.begin() as conn:
            wait = reserve(conn, host, self.delay)
        if wait > 0:
            self._sleep(wait)

    def hold_off(self, host: str, seconds: float) -> None:
        with self.engine.begin() as conn:
            hold_off(conn, host, seconds)
