"""The idempotent loader: one batch of articles -> rows, writing only what is new or changed.

Why filter before writing instead of ``ON CONFLICT ... WHERE hash IS DISTINCT FROM``: PostgreSQL
still locks every conflicting row and writes WAL for it, and the search document is recomputed
for each row the statement touches. Looking up the batch's stored hashes first means a reload of
unchanged input sends nothing to the table at all.

Each row is written once: new articles get their ids (and so their near-duplicate cluster)
before the insert, instead of an insert followed by an UPDATE of ``cluster_id``, which on
PostgreSQL would write every new row twice and every index entry, the text-search one included,
twice. PostgreSQL receives the batch by ``COPY`` into a temporary table and one
``INSERT ... SELECT ... ON CONFLICT``; SQLite by an executemany of the same upsert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple, Sequence

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite

from ..models import Article
from . import bulk
from .chunks import chunks
from .index import assign_clusters, index_fts, store_signatures
from .prepare import Prepared, prepare
from .queries import keys_by_url
from .sigcache import SIGNATURES
from .schema import UTCDateTime, article_revisions, articles

_CONTENT = ("url", "title", "title_derived", "summary", "body", "published_at",
            "published_time_known", "content_hash", "meta")


@dataclass(slots=True)
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # The ids of the rows this batch inserted and of those whose content it changed (watches match them).
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)


class Stored(NamedTuple):
    id: int
    content_hash: str
    raw_hash: str | None


def stored_rows(conn: Connection, source_id: int, keys: Sequence[str]) -> dict[str, Stored]:
    if not keys:
        return {}
    query = select(articles.c.key, articles.c.id, articles.c.content_hash, articles.c.raw_hash).where(
        articles.c.source_id == source_id, articles.c.key.in_(bindparam("keys", expanding=True))
    )
    return {key: Stored(aid, digest, raw) for part in chunks(keys)
            for key, aid, digest, raw in conn.execute(query, {"keys": part})}


def stored_hashes(conn: Connection, source_id: int, keys: Sequence[str]) -> dict[str, str]:
    return {key: row.content_hash for key, row in stored_rows(conn, source_id, keys).items()}


def known_raw_hashes(conn: Connection, source_id: int, hashes: Sequence[str]) -> set[str]:
    """The raw hashes among ``hashes`` that some stored article of the source was loaded from."""
    if not hashes:
        return set()
    query = select(articles.c.raw_hash).where(
        articles.c.source_id == source_id, articles.c.raw_hash.in_(bindparam("hashes", expanding=True))
    )
    return {found for part in chunks(set(hashes)) for found in conn.execute(query, {"hashes": part}).scalars()}


def classify(batch: Sequence, stored: dict[str, str]) -> tuple[BatchCounts, list]:
    """Count the batch as if its items were loaded one by one, and keep the last version of each
    changed key (one statement cannot update a row twice). Items have ``key`` and
    ``content_hash`` (Articles) or an ``article`` that has them (Prepared)."""
    counts = BatchCounts()
    current = dict(stored)
    to_write: dict[str, object] = {}
    for item in batch:
        key, digest = _key_hash(item)
        previous = current.get(key)
        if previous is None:
            counts.new += 1
        elif previous == digest:
            counts.unchanged += 1
            continue
        else:
            counts.updated += 1
        current[key] = digest
        to_write[key] = item
    # A key that changed and then changed back within the batch needs no write.
    return counts, [item for key, item in to_write.items() if stored.get(key) != _key_hash(item)[1]]


def write_articles(conn: Connection, source_id: int, batch: Sequence[Article | Prepared],
                   now: datetime, adopt_url_keys: bool = False) -> BatchCounts:
    """Upsert one batch inside the caller's transaction; returns what it did.

    Only new or changed rows are written; for them the previous version goes to
    ``article_revisions``, and their search document and cluster are maintained. With
    ``adopt_url_keys``, an article whose key is new but whose URL the source stored under another
    key keeps that row's key (a feed's GUID for a page the crawl stored by its URL: one article).
    """
    prepared = [item if isinstance(item, Prepared) else prepare(item) for item in batch]
    stored = stored_rows(conn, source_id, list({p.key for p in prepared}))
    if adopt_url_keys:
        prepared = _adopt_url_keys(conn, source_id, prepared, stored)
        stored = stored_rows(conn, source_id, list({p.key for p in prepared}))
    counts, rows = classify(prepared, {key: row.content_hash for key, row in stored.items()})
    _refresh_raw_hashes(conn, prepared, stored, {p.key for p in rows})
    if rows:
        counts.new_ids, counts.updated_ids = _write(conn, source_id, rows, stored, now)
    return counts


def _adopt_url_keys(conn: Connection, source_id: int, batch: list[Prepared], stored: dict[str, Stored]) -> list[Prepared]:
    urls = [p.article.url for p in batch if p.key not in stored and p.article.url]
    by_url = keys_by_url(conn, source_id, urls)
    return [replace(p, article=replace(p.article, key=by_url[p.article.url]))
            if p.key not in stored and by_url.get(p.article.url) else p for p in batch]


def _write(conn: Connection, source_id: int, rows: list[Prepared], stored: dict[str, Stored],
           now: datetime) -> tuple[list[int], list[int]]:
    """Write the rows; returns (ids inserted, ids whose content changed)."""
    changed = [p.key for p in rows if p.key in stored]
    if changed:
        keep_revisions(conn, source_id, changed, now)
    new = [p for p in rows if p.key not in stored]
    ids = dict(zip((p.key for p in new), bulk.allocate_ids(conn, len(new))))
    ids.update((key, stored[key].id) for key in changed)
    clusters = assign_clusters(conn, [(ids[p.key], p) for p in new])
    written = _upsert(conn, source_id, rows, ids, clusters, now, fresh=not stored)
    lost = {ids[key]: aid for key, aid in written.items() if aid != ids[key]}
    if lost:
        _repoint_clusters(conn, lost)
        SIGNATURES.clear()  # it remembered clusters under the ids we did not get
    by_id = {written[p.key]: p for p in rows if p.key in written}
    index_fts(conn, {aid: p.doc for aid, p in by_id.items()})
    replaced = {aid for aid, p in by_id.items() if p.key in stored or aid in lost.values()}
    store_signatures(conn, by_id, replaced)
    return sorted(set(by_id) - replaced), sorted(replaced)


def _upsert(conn: Connection, source_id: int, rows: list[Prepared], ids: dict[str, int],
            clusters: dict[int, int], now: datetime, fresh: bool = False) -> dict[str, int]:
    """Insert or update the rows; returns key -> id of each row actually written. ``fresh``:
    no key of the batch was stored when it was read."""
    values = [_row(source_id, p, ids[p.key], clusters.get(ids[p.key]), now) for p in rows]
    if conn.dialect.name == "postgresql":
        return bulk.upsert_pg(conn, values, fresh)
    result = conn.execute(_upsert_sqlite(), values)
    return {key: aid for aid, key in result}


def _repoint_clusters(conn: Connection, lost: dict[int, int]) -> None:
    """A concurrent writer stored some of our new keys first: their rows have the other writer's
    ids, so articles of this batch that joined the ids we had reserved follow the real rows."""
    conn.execute(update(articles).where(articles.c.cluster_id == bindparam("old")).values(cluster_id=bindparam("new")),
                 [{"old": old, "new": new} for old, new in lost.items()])


def _refresh_raw_hashes(conn: Connection, batch: list[Prepared], stored: dict[str, Stored], written: set[str]) -> None:
    """Unchanged articles whose input bytes differ from the ones they were loaded from (or that
    were loaded before raw hashes existed) record the new raw hash, so the next run skips them."""
    stale = {stored[p.key].id: p.raw_hash for p in batch
             if p.raw_hash and p.key in stored and p.key not in written
             and stored[p.key].content_hash == p.article.content_hash and stored[p.key].raw_hash != p.raw_hash}
    if stale:
        conn.execute(update(articles).where(articles.c.id == bindparam("aid")).values(raw_hash=bindparam("raw")),
                     [{"aid": aid, "raw": raw} for aid, raw in stale.items()])


def keep_revisions(conn: Connection, source_id: int, keys: Sequence[str], now: datetime) -> None:
    """Copy the stored version of each key to article_revisions before it is overwritten."""
    kept = ("url", "title", "summary", "body", "published_at", "content_hash", "meta")
    query = select(
        articles.c.id, *(articles.c[name] for name in kept), articles.c.updated_at,
        bindparam("replaced_at", now, type_=UTCDateTime),
    ).where(articles.c.source_id == source_id, articles.c.key.in_(bindparam("keys", expanding=True)))
    statement = insert(article_revisions).from_select(["article_id", *kept, "stored_at", "replaced_at"], query)
    for part in chunks(keys):
        conn.execute(statement, {"keys": part})


def _row(source_id: int, item: Prepared, aid: int, cluster: int | None, now: datetime) -> dict:
    article = item.article
    row = {name: getattr(article, name) for name in _CONTENT}
    row.update(id=aid, source_id=source_id, key=article.key, fetched_at=now, updated_at=now,
               cluster_id=cluster, raw_hash=item.raw_hash, doc=item.doc)
    return row


def _key_hash(item) -> tuple[str, str]:
    article = item.article if isinstance(item, Prepared) else item
    return article.key, article.content_hash


def _upsert_sqlite():
    # SQLite has no tsvector: the search document goes to articles_fts (see index.py).
    stmt = sqlite.insert(articles).values({name: bindparam(name) for name in
                                           ("id", "source_id", "key", *_CONTENT, "fetched_at", "updated_at",
                                            "cluster_id", "raw_hash")})
    # The WHERE guards against a concurrent writer that stored the same version meanwhile; an
    # edited article keeps its id, fetched_at and cluster.
    return stmt.on_conflict_do_update(
        index_elements=[articles.c.source_id, articles.c.key],
        set_={name: stmt.excluded[name] for name in (*_CONTENT, "updated_at", "raw_hash")},
        where=articles.c.content_hash != stmt.excluded.content_hash,
    ).returning(articles.c.id, articles.c.key)



