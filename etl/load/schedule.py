"""The schedule in the ``sources`` table, for executors that share one PostgreSQL database.

Any number of dispatchers claim due sources with ``FOR UPDATE SKIP LOCKED`` and a lease: a row
locked by one claimer is skipped by the others, and a claim whose holder died is free again once
its lease has passed. When the source's pass ends, ``release`` stores its next attempt (computed
by ``etl.service.timing``) and drops the lease, so backoff survives restarts and moves between
machines. PostgreSQL only: SQLite has no row locks and keeps the local executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text, update

from .schema import sources

__all__ = ["STALLED_AFTER", "Claim", "claim_due", "release"]

STALLED_AFTER = 10.0  # seconds without a heartbeat after which a queue worker counts as dead

# New sources (next_attempt_at NULL) are due at once; site and files sources are not polled here.
_CLAIM = text("""
UPDATE sources SET lease_until = :until, lease_owner = :owner
WHERE id IN (
    SELECT id FROM sources
    WHERE enabled AND in_config AND kind = 'feed'
      AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
      AND (lease_until IS NULL OR lease_until < :now)
    ORDER BY next_attempt_at NULLS FIRST, id
    FOR UPDATE SKIP LOCKED
    LIMIT :limit)
RETURNING id, name, url
""")


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    name: str
    url: str | None


def claim_due(conn: Connection, now: datetime, lease: float, limit: int, owner: str) -> list[Claim]:
    """Up to ``limit`` due sources, leased to ``owner`` for ``lease`` seconds from ``now``."""
    if conn.dialect.name != "postgresql":
        raise ValueError(f"the shared schedule needs PostgreSQL, not {conn.dialect.name}")
    rows = conn.execute(_CLAIM, {"now": now, "until": now + timedelta(seconds=lease), "owner": owner,
                                 "limit": limit})
    return sorted((Claim(r.id, r.name, r.url) for r in rows), key=lambda c: c.id)


def release(conn: Connection, source_id: int, next_at: datetime, delay: float | None) -> None:
    """The pass is over: store when to try next (and the healthy delay, when there is one)."""
    values = {"next_attempt_at": next_at, "lease_until": None, "lease_owner": None}
    if delay is not None:
        values["last_delay"] = delay
    conn.execute(update(sources).where(sources.c.id == source_id).values(values))
