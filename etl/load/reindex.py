"""Rebuilding the search documents of stored articles, after the way they are built changed.

Search documents are derived data (``search_document`` in etl/load/prepare.py): when folding
changes, rows stored before the change must get theirs recomputed, or a query would find new
articles and miss old ones. Titles, bodies, hashes, ``updated_at`` and clusters are untouched.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from ..clean.fold import fold_fields
from .schema import articles

BATCH = 1000


def rebuild_search_docs(conn: Connection, batch: int = BATCH) -> int:
    """Recompute every article's search document in the caller's transaction; returns how many.

    Keyset batches by id, so memory stays one batch whatever the table's size.
    """
    done = 0
    last = 0
    while True:
        rows = conn.execute(select(articles.c.id, articles.c.title, articles.c.summary, articles.c.body)
                            .where(articles.c.id > last).order_by(articles.c.id).limit(batch)).all()
        if not rows:
            return done
        docs = [(row.id, fold_fields(row.title, row.summary, row.body)) for row in rows]
        _store(conn, docs)
        done += len(docs)
        last = rows[-1].id


def _store(conn: Connection, docs: list[tuple[int, str]]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(_UPDATE_PG, {"ids": [i for i, _ in docs], "docs": [d for _, d in docs]})
        return
    # SQLite keeps the documents in the FTS5 table (see etl/load/index.py index_fts).
    conn.execute(text("DELETE FROM articles_fts WHERE rowid = :id"), [{"id": i} for i, _ in docs])
    conn.execute(text("INSERT INTO articles_fts (rowid, doc) VALUES (:id, :doc)"),
                 [{"id": i, "doc": d} for i, d in docs])


_UPDATE_PG = text("""
UPDATE articles SET search_doc = to_tsvector('simple', v.doc)
FROM unnest(CAST(:ids AS bigint[]), CAST(:docs AS text[])) AS v(id, doc)
WHERE articles.id = v.id""")
