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

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ..models import Article
from .index import Written, assign_clusters, index_fts, search_document
from .schema import UTCDateTime, article_revisions, articles

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
    """Upsert one batch inside the caller's transaction; returns what it did.

    Only new or changed rows are written; for them the previous version goes to
    ``article_revisions``, and their search document and cluster are maintained.
    """
    stored = stored_hashes(conn, source_id, list({a.key for a in batch}))
    counts, rows = classify(batch, stored)
    if not rows:
        return counts
    changed = [a.key for a in rows if a.key in stored]
    if changed:
        keep_revisions(conn, source_id, changed, now)
    docs = {a.key: search_document(a) for a in rows}
    pg = conn.dialect.name == "postgresql"
    params = [_row(source_id, a, now) | ({"doc": docs[a.key]} if pg else {}) for a in rows]
    result = conn.execute(_upsert_statement(conn.dialect.name), params)
    written = [Written(aid, docs[key], key not in stored) for aid, key in result]
    index_fts(conn, written)
    assign_clusters(conn, written)
    return counts


def keep_revisions(conn: Connection, source_id: int, keys: Sequence[str], now: datetime) -> None:
    """Copy the stored version of each key to article_revisions before it is overwritten."""
    kept = ("url", "title", "summary", "body", "published_at", "content_hash", "meta")
    query = select(
        articles.c.id, *(articles.c[name] for name in kept), articles.c.updated_at,
        bindparam("replaced_at", now, type_=UTCDateTime),
    ).where(articles.c.source_id == source_id, articles.c.key.in_(keys))
    conn.execute(insert(article_revisions).from_select(["article_id", *kept, "stored_at", "replaced_at"], query))


def _row(source_id: int, article: Article, now: datetime) -> dict:
    row = {name: getattr(article, name) for name in _CONTENT}
    row.update(source_id=source_id, key=article.key, fetched_at=now, updated_at=now)
    return row


def _upsert_statement(dialect: str):
    if dialect == "postgresql":
        stmt = postgresql.insert(articles).values(search_doc=func.to_tsvector("simple", bindparam("doc")))
        refreshed = (*_CONTENT, "updated_at", "search_doc")
    else:
        # SQLite has no tsvector: the same document goes to articles_fts (see index.py).
        stmt = sqlite.insert(articles)
        refreshed = (*_CONTENT, "updated_at")
    # The WHERE guards against a concurrent writer that stored the same version meanwhile.
    return stmt.on_conflict_do_update(
        index_elements=[articles.c.source_id, articles.c.key],
        set_={name: stmt.excluded[name] for name in refreshed},
        where=articles.c.content_hash != stmt.excluded.content_hash,
    ).returning(articles.c.id, articles.c.key)
