"""What the loader maintains beside each written article: its search document and its
near-duplicate cluster. Only new or changed rows come here; no-op rows never do.

Clustering is incremental: a new article's MinHash bands are looked up in ``article_lsh``
(an index lookup, at most CANDIDATES_PER_BUCKET recent articles per bucket), the candidates'
signatures are compared, and the article joins the most similar cluster above the threshold
or starts its own. Cost per article is bounded by bands x CANDIDATES_PER_BUCKET comparisons,
however large the table grows.
"""

from __future__ import annotations

import json

import numpy as np
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text

from ..clean.dedup import NUM_PERM, THRESHOLD, Signature, bands
from .bulk import copy_rows, copy_text, fetch_rows
from .chunks import chunks
from .lshstate import ensure_complete
from .sigcache import SIGNATURES
from .schema import article_lsh, article_minhash, articles

if TYPE_CHECKING:
    from .prepare import Prepared

CANDIDATES_PER_BUCKET = 20
_CHUNK = 4000  # (band, bucket, article) rows per SQLite lookup: one JSON parameter each


def index_fts(conn: Connection, docs: dict[int, str]) -> None:
    """SQLite keeps its search text in the FTS5 table; PostgreSQL has it in articles.search_doc."""
    if conn.dialect.name != "sqlite" or not docs:
        return
    conn.execute(text("DELETE FROM articles_fts WHERE rowid = :id"), [{"id": aid} for aid in docs])
    conn.execute(text("INSERT INTO articles_fts (rowid, doc) VALUES (:id, :doc)"),
                 [{"id": aid, "doc": doc} for aid, doc in docs.items()])


# A batch that adds this many articles is a bulk load (a backfill's or a crawl's batch, not a
# feed poll's handful): after it, the tables are settled for the next one (see settle).
SETTLE_AFTER = 100
# PostgreSQL's count of the articles rows changed since their last ANALYZE, and the rows it found.
_ANALYZE_STATE = """
SELECT s.n_mod_since_analyze, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.relid = 'articles'::regclass"""


def settle(engine: Engine, new: int) -> None:
    """After a committed bulk batch on PostgreSQL, keep the next batch's lookups cheap.

    - ``VACUUM article_lsh``, so its new pages are all-visible and the bucket lookups are
      index-only scans. The table only grows, and until a page is marked all-visible every probe
      of its index visits the heap too. Autovacuum comes too late for a backfill (it waits for a
      fifth of the table to be new, and looks once a minute): on 20,000 articles the lookups cost
      the server 3.5 s instead of 13.9 s. The VACUUM visits only the pages added since the last
      one (about 1 ms per 500 articles). SKIP_LOCKED: a writer that finds another one vacuuming
      goes on without waiting (the ANALYZE too).
    - ``ANALYZE articles`` whenever the table has doubled since its statistics were taken. With
      none (a first backfill) the planner read a batch's 500 raw hashes through the source's
      date index, comparing each stored row with the whole list: a rerun of 20,000 articles
      spent 3 s there instead of 0.1 s. Doubling bounds the ANALYZEs to one per doubling."""
    if new < SETTLE_AFTER or engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (SKIP_LOCKED) article_lsh")
        changed, rows = conn.exec_driver_sql(_ANALYZE_STATE).one()
        if changed >= max(rows, SETTLE_AFTER):
            conn.exec_driver_sql("ANALYZE (SKIP_LOCKED) articles")


def assign_clusters(conn: Connection, new: Sequence[tuple[int, "Prepared"]]) -> dict[int, int]:
    """The cluster of each new article (by its reserved id), chosen before it is written: the
    most similar stored or earlier-in-batch article's cluster above THRESHOLD, else its own id.
    An edited article keeps its cluster, so only new ones come here."""
    sigs = {aid: p.signature for aid, p in new}
    banded = {aid: list(p.buckets) for aid, p in new if p.signature is not None}
    return _choose_clusters(conn, [aid for aid, _ in new], sigs, banded)


def store_signatures(conn: Connection, written: dict[int, "Prepared"], replaced: set[int]) -> None:
    """Signatures and LSH buckets of the written rows; ``replaced`` ids had old ones."""
    if replaced:
        SIGNATURES.forget(conn, replaced)
        _forget_buckets(conn, replaced)
        for part in chunks(sorted(replaced)):
            conn.execute(delete(article_minhash).where(article_minhash.c.article_id.in_(part)))
    signed = {aid: p for aid, p in written.items() if p.signature is not None}
    if not signed:
        return
    lsh = [(band, bucket, aid) for aid, p in signed.items() for band, bucket in p.buckets]
    sigs = [(aid, p.signature.to_bytes()) for aid, p in signed.items()]
    if conn.dialect.name == "postgresql":
        # ~32 bucket rows per article: one COPY stream of preformatted integers instead of
        # thousands of bound parameters (or of per-row adaptation, which cost as much).
        copy_text(conn, "article_lsh", ("band", "bucket", "article_id"), lsh)
        copy_rows(conn, "article_minhash", ("article_id", "signature"), sigs)
        return
    conn.execute(insert(article_lsh), [{"band": b, "bucket": k, "article_id": aid} for b, k, aid in lsh])
    conn.execute(insert(article_minhash), [{"article_id": aid, "signature": sig} for aid, sig in sigs])


def _forget_buckets(conn: Connection, ids: set[int]) -> None:
    """Remove the bucket rows of ``ids`` by primary key: they are the bands of each one's stored
    signature. (Selecting them by article_id alone would scan the whole table, which has no
    index on it.)"""
    query = select(article_minhash.c.article_id, article_minhash.c.signature)
    stored = (row for part in chunks(sorted(ids))
              for row in conn.execute(query.where(article_minhash.c.article_id.in_(part))))
    keys = [{"b": band, "k": bucket, "a": aid} for aid, raw in stored
            for band, bucket in bands(Signature.from_bytes(bytes(raw)))]
    if keys:
        conn.execute(delete(article_lsh).where(article_lsh.c.band == bindparam("b"), article_lsh.c.bucket == bindparam("k"),
                                               article_lsh.c.article_id == bindparam("a")), keys)


def _choose_clusters(conn, new: list[int], sigs: dict, banded: dict) -> dict[int, int]:
    stored = _stored_candidates(conn, {aid: banded[aid] for aid in new if aid in banded})
    known = SIGNATURES.get_many(conn, set().union(*stored.values()), _signatures)
    vectors = {aid: _vector(sig) for aid, sig in sigs.items()}
    clusters: dict[int, int] = {}
    in_batch: dict[tuple[int, int], list[int]] = {}
    for aid in new:
        best = None
        if aid in banded:
            candidates = stored.get(aid, set()).union(*(in_batch.get(p, ()) for p in banded[aid]))
            best = _best_match(vectors[aid], candidates, known)
            for p in banded[aid]:
                in_batch.setdefault(p, []).append(aid)
        clusters[aid] = aid if best is None else (known[best][1] or best)
        known[aid] = (vectors.get(aid), clusters[aid])
    SIGNATURES.remember(conn, {aid: known[aid] for aid in new if vectors.get(aid) is not None})
    return clusters


def _best_match(vector: np.ndarray, candidates: Iterable[int], known: dict) -> int | None:
    """The most similar candidate at or above THRESHOLD; of equal scores the newest (sorted, so
    both databases, whatever order they return rows in, choose the same). The same estimate as
    ``dedup.similarity``, for all candidates in one array comparison."""
    ids = [c for c in sorted(candidates) if known.get(c, (None, None))[0] is not None]
    if not ids:
        return None
    scores = (np.stack([known[c][0] for c in ids]) == vector).sum(axis=1) / NUM_PERM
    top = float(scores.max())
    if top < THRESHOLD:
        return None
    return ids[int(np.flatnonzero(scores == top)[-1])]


def _vector(sig: Signature | None) -> np.ndarray | None:
    return None if sig is None else np.asarray(sig.values, dtype=np.uint32)


def _stored_candidates(conn: Connection, banded: dict[int, list[tuple[int, int]]]) -> dict[int, set[int]]:
    """For each new article, the stored articles among the CANDIDATES_PER_BUCKET most recent of
    each of its buckets. Copies of one story share most of their 32 buckets, so each bucket is
    looked up once."""
    if not any(banded.values()):
        return {}
    if conn.dialect.name == "postgresql":
        ensure_complete(conn)  # a server crash empties the unlogged buckets: rebuilt first
        owners: dict[tuple[int, int], list[int]] = {}
        for aid, pairs in banded.items():
            for pair in pairs:
                owners.setdefault(pair, []).append(aid)
        found: dict[int, set[int]] = {}
        for pair, ids in _bucket_members_pg(conn, owners):
            for aid in owners[pair]:
                found.setdefault(aid, set()).update(ids)
        return found
    rows = [(aid, band, bucket) for aid, pairs in banded.items() for band, bucket in pairs]
    found = {}
    for i in range(0, len(rows), _CHUNK):
        result = conn.execute(_LOOKUP_SQLITE, {"rows": json.dumps(rows[i:i + _CHUNK]), "cap": CANDIDATES_PER_BUCKET})
        for aid, member in result:
            found.setdefault(aid, set()).add(member)
    return found


def _bucket_members_pg(conn: Connection, pairs: Iterable[tuple[int, int]]) -> Iterator[tuple[tuple[int, int], list[int]]]:
    """The members of each bucket, most recent first, at most CANDIDATES_PER_BUCKET each. The
    buckets go in by COPY (adapting 16,000-element arrays as parameters took longer than the
    lookups); the members come back as one array per bucket, mapped to articles by the caller:
    joining them back to the articles in SQL and deduplicating cost the server four times the
    lookups. Rows are converted a slice at a time, so a batch of well-copied stories (20 members
    in each of its 16,000 buckets) never holds them all as Python lists at once."""
    conn.exec_driver_sql(_CREATE_PROBE)
    conn.exec_driver_sql("DELETE FROM lsh_probe")
    copy_text(conn, "lsh_probe", ("band", "bucket"), sorted(pairs))
    for band, bucket, ids in fetch_rows(conn, _LOOKUP_PG, {"cap": CANDIDATES_PER_BUCKET}):
        yield (band, bucket), ids


_CREATE_PROBE = """CREATE TEMPORARY TABLE IF NOT EXISTS lsh_probe (band smallint, bucket bigint)
ON COMMIT DELETE ROWS"""
# A row-value IN list of thousands of pairs makes PostgreSQL scan; a LATERAL join does one
# index probe per bucket instead, each capped at the most recent articles of the bucket.
_LOOKUP_PG = """
SELECT p.band, p.bucket, x.ids
FROM lsh_probe AS p
CROSS JOIN LATERAL (
    SELECT array_agg(s.article_id) AS ids FROM (
        SELECT l.article_id FROM article_lsh l
        WHERE l.band = p.band AND l.bucket = p.bucket
        ORDER BY l.article_id DESC LIMIT %(cap)s
    ) AS s
) AS x
WHERE x.ids IS NOT NULL"""
# SQLite has no arrays or LATERAL: the rows arrive as one JSON parameter.
_LOOKUP_SQLITE = text("""
WITH q AS (
    SELECT json_extract(value, '$[0]') AS aid, json_extract(value, '$[1]') AS band,
           json_extract(value, '$[2]') AS bucket
    FROM json_each(:rows)
), m AS (
    SELECT band, bucket, article_id FROM (
        SELECT l.band, l.bucket, l.article_id,
               row_number() OVER (PARTITION BY l.band, l.bucket ORDER BY l.article_id DESC) AS rn
        FROM (SELECT DISTINCT band, bucket FROM q) AS p
        JOIN article_lsh l ON l.band = p.band AND l.bucket = p.bucket
    ) WHERE rn <= :cap
)
SELECT DISTINCT q.aid, m.article_id FROM q JOIN m ON m.band = q.band AND m.bucket = q.bucket""")


def _signatures(conn: Connection, ids: set[int]) -> dict[int, tuple[np.ndarray, int | None]]:
    out: dict[int, tuple[np.ndarray, int | None]] = {}
    for part in chunks(sorted(ids)):
        query = (select(article_minhash.c.article_id, article_minhash.c.signature, articles.c.cluster_id)
                 .join(articles, articles.c.id == article_minhash.c.article_id)
                 .where(article_minhash.c.article_id.in_(part)))
        for aid, raw, cluster in conn.execute(query):
            out[aid] = (_vector(Signature.from_bytes(bytes(raw))), cluster)
    return out
