"""The idempotent loader: one batch of Articles -> rows, writing only what is new or changed.

Why filter before writing instead of ``ON CONFLICT ... WHERE hash IS DISTINCT FROM``: PostgreSQL
still locks every conflicting row and writes WAL for it, and any generated search column is
recomputed for each row the statement touches. Looking up the batch's stored hashes first means
a reload of unchanged input sends nothing to the table at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from ..models import Article
from .schema import articles

_CONTENT = ("url", "title", "title_derived", "summary", "body", "published_at",
            "published_time_known", "content_hash", "meta")


@dataclass(slots=True)
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def stored_hashes(conn: Connection, source_id: int, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    query = select(articles.c.key, articles.c.content_hash).where(
        articles.c.source_id == source_id, articles.c.key.in_(bindparam("keys", expanding=True))
    )
    return dict(conn.execute(query, {"keys": list(keys)}).all())


def classify(batch: Sequence[Article], stored: dict[str, str]) -> tuple[BatchCounts, list[Article]]:
    """Count the batch as if its items were loaded one by one, and keep the last version of each
    changed key (one statement cannot update a row twice)."""
    counts = BatchCounts()
    current = dict(stored)
    to_write: dict[str, Article] = {}
    for article in batch:
        previous = current.get(article.key)
        if previous is None:
            counts.new += 1
        elif previous == article.content_hash:
            counts.unchanged += 1
            continue
        else:
            counts.updated += 1
        current[article.key] = article.content_hash
        to_write[article.key] = article
    # A key that changed and then changed back within the batch needs no write.
    return counts, [a for k, a in to_write.items() if stored.get(k) != a.content_hash]


def write_articles(conn: Connection, source_id: int, batch: Sequence[Article], now: datetime) -> BatchCounts:
    """Upsert one batch inside the caller's transaction; returns what it did."""
    counts, rows = classify(batch, stored_hashes(conn, source_id, list({a.key for a in batch})))
    if rows:
        conn.execute(_upsert_statement(conn.dialect.name), [_row(source_id, a, now) for a in rows])
    return counts


def _row(source_id: int, article: Article, now: datetime) -> dict:
    row = {name: getattr(article, name) for name in _CONTENT}
    row.update(source_id=source_id, key=article.key, fetched_at=now, updated_at=now)
    return row


def _upsert_statement(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(articles)
    changed = {name: stmt.excluded[name] for name in (*_CONTENT, "updated_at")}
    # The WHERE guards against a concurrent writer that stored the same version meanwhile.
    return stmt.on_conflict_do_update(
        index_elements=[articles.c.source_id, articles.c.key],
        set_=changed,
        where=articles.c.content_hash != stmt.excluded.content_hash,
    )
