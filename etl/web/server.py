"""How ``news-etl serve`` runs the app under uvicorn: bounded connections, a deadline on each
request's head, and an access log without tokens.

uvicorn's own settings do not hold against slow clients: ``timeout_keep_alive`` only runs between
two requests, ``limit_concurrency`` only answers 503 once a request's head is complete, and h11's
size limit says nothing about time. 1,100 connections that each sent half a request line (slowloris)
held every file descriptor of a process limited to 1,024, and nobody else got an answer. So the
HTTP protocol here (uvicorn's h11 one, subclassed at its documented ``http=`` seam) closes:

- a connection over ``max_connections`` at once (kept below the open-file limit, so accepting
  never fails), and one from a client address that already holds ``per_client`` of them;
- a connection whose request head (request line and headers) is not complete ``head_timeout``
  seconds after it opened, or after its previous response (a keep-alive connection trickling its
  next request is as slow as a new one).

This keeps one address from taking the server; many addresses at once are a job for what stands
in front of a public deployment (README, "The web page").
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..redact import redact

__all__ = ["ServeLimits", "default_max_connections", "guarded_protocol", "quiet_tokens", "uvicorn_options"]

RESERVED_FILES = 128  # descriptors left for the database, templates and static files
# asyncio accepts up to this many connections in one go, before any of them is judged: kept under
# RESERVED_FILES, a burst cannot run the process out of descriptors ("Too many open files").
ACCEPT_BURST = 100


@dataclass(frozen=True, slots=True)
class ServeLimits:
    max_connections: int
    per_client: int = 32        # 0: no per-address limit (behind a proxy every client is the proxy)
    head_timeout: float = 10.0  # seconds to send a request's line and headers


def default_max_connections() -> int:
    """As many connections as the open-file limit allows, less RESERVED_FILES; the soft limit is
    raised to the hard one first (1,024 -> often 4,096 or more, at no cost)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        except (ValueError, OSError):
            pass  # not allowed here: keep the soft limit
    return max(16, min(soft, 65536) - RESERVED_FILES)


def guarded_protocol(limits: ServeLimits) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol held to ``limits``; pass it as ``uvicorn.Config(http=...)``."""
    return type("GuardedH11Protocol", (_Guarded,), {"limits": limits})


class _Guarded(H11Protocol):
    limits: ServeLimits
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self._over_limits():
            transport.close()  # before reading a byte: the descriptor is free again at once
            return
        self._arm_head_timer()

    def _over_limits(self) -> bool:
        if len(self.connections) > self.limits.max_connections:
            return True
        if not self.limits.per_client or not self.client:
            return False
        address = self.client[0]
        return sum(1 for c in self.connections if c.client and c.client[0] == address) > self.limits.per_client

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request's head is in: the deadline is met
            self._disarm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class _TokenFilter(logging.Filter):
    """uvicorn's access log line carries the path with its query: ``?token=T`` becomes ``?token=***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def quiet_tokens(logger_name: str = "uvicorn.access") -> None:
    """Install the token filter on uvicorn's access logger (after ``uvicorn.Config`` set up logging)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _TokenFilter) for f in logger.filters):
        logger.addFilter(_TokenFilter())


def uvicorn_options(limits: ServeLimits) -> dict[str, Any]:
    """The ``uvicorn.Config`` keywords that go with ``limits``."""
    return {"http": guarded_protocol(limits), "timeout_keep_alive": 5, "backlog": ACCEPT_BURST}
