"""The schedule in the ``sources`` table: when each source is due, and who has claimed it.

Both executors store a pass's next attempt here (``store_due``, computed by ``etl.tasks.due``),
so a schedule survives restarts and moves between machines. The procrastinate executor's
dispatchers claim due sources with ``FOR UPDATE SKIP LOCKED`` and a lease: a row locked by one
claimer is skipped by the others, and a claim whose holder died is free again once its lease has
passed; ``store_due`` drops the lease. Claims are PostgreSQL only: SQLite has no row locks and
keeps the local executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text, update

from .schema import sources

__all__ = ["STALLED_AFTER", "Claim", "claim_due", "claim_due_crawls", "due_state", "release", "store_crawl_next",
           "store_due", "stored_next_attempts"]

STALLED_AFTER = 10.0  # seconds without a heartbeat after which a queue worker counts as dead

# New sources (next_attempt_at NULL) are due at once; every kind is claimed (a feed is polled,
# a files source scanned, a site crawled).
_CLAIM = text("""
UPDATE sources SET lease_until = :until, lease_owner = :owner
WHERE id IN (
    SELECT id FROM sources
    WHERE enabled AND in_config
      AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
      AND (lease_until IS NULL OR lease_until < :now)
    ORDER BY next_attempt_at NULLS FIRST, id
    FOR UPDATE SKIP LOCKED
    LIMIT :limit)
RETURNING id, name, kind, url
""")

# A feed's scheduled crawl (crawl = {every, days}) is claimed by moving its time on: a crawl is
# long and deferred once (its queueing lock), so no lease is needed.
_CLAIM_CRAWLS = text("""
UPDATE sources SET crawl_next_at = :now + make_interval(secs => (settings->'crawl'->>'every')::float)
WHERE id IN (
    SELECT id FROM sources
    WHERE enabled AND in_config AND kind = 'feed' AND settings->'crawl'->>'every' IS NOT NULL
      AND (crawl_next_at IS NULL OR crawl_next_at <= :now)
    ORDER BY crawl_next_at NULLS FIRST, id
    FOR UPDATE SKIP LOCKED
    LIMIT :limit)
RETURNING id, name, kind, url
""")


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    name: str
    kind: str
    url: str | None


def claim_due(conn: Connection, now: datetime, lease: float, limit: int, owner: str) -> list[Claim]:
    """Up to ``limit`` due sources, leased to ``owner`` for ``lease`` seconds from ``now``."""
    _check(conn)
    rows = conn.execute(_CLAIM, {"now": now, "until": now + timedelta(seconds=lease), "owner": owner,
                                 "limit": limit})
    return sorted((Claim(r.id, r.name, r.kind, r.url) for r in rows), key=lambda c: c.id)


def claim_due_crawls(conn: Connection, now: datetime, limit: int) -> list[Claim]:
    """Feed sources whose scheduled crawl is due; their next crawl time moves on by ``every``."""
    _check(conn)
    rows = conn.execute(_CLAIM_CRAWLS, {"now": now, "limit": limit})
    return sorted((Claim(r.id, r.name, r.kind, r.url) for r in rows), key=lambda c: c.id)


def _check(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise ValueError(f"the shared schedule needs PostgreSQL, not {conn.dialect.name}")


def due_state(conn: Connection, source_id: int) -> Any:
    """What the due policy reads: failures, last healthy delay, database failures."""
    return conn.execute(select(sources.c.consecutive_failures, sources.c.last_delay, sources.c.database_failures)
                        .where(sources.c.id == source_id)).first()


def store_due(conn: Connection, source_id: int, next_at: datetime, healthy_delay: float | None,
              database_failures: int) -> None:
    """The pass is over: store when to try next and what the policy remembers; drop any lease."""
    values = {"next_attempt_at": next_at, "lease_until": None, "lease_owner": None,
              "database_failures": database_failures}
    if healthy_delay is not None:
        values["last_delay"] = healthy_delay
    conn.execute(update(sources).where(sources.c.id == source_id).values(values))


def release(conn: Connection, source_id: int, next_at: datetime) -> None:
    """Give a claimed source back without a pass (it is not in this worker's sources file)."""
    conn.execute(update(sources).where(sources.c.id == source_id)
                 .values(next_attempt_at=next_at, lease_until=None, lease_owner=None))


def store_crawl_next(conn: Connection, source_id: int, when: datetime) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(crawl_next_at=when))


def stored_next_attempts(conn: Connection) -> dict[str, tuple[datetime | None, datetime | None]]:
    """name -> (next attempt, next scheduled crawl), so a restarted local executor resumes both."""
    rows = conn.execute(select(sources.c.name, sources.c.next_attempt_at, sources.c.crawl_next_at))
    return {name: (at, crawl_at) for name, at, crawl_at in rows}
