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

from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from ..clean.dedup import THRESHOLD, Signature, bands, signature, similarity
from ..clean.fold import fold_fields
from ..models import Article
from .schema import article_lsh, article_minhash, articles

CANDIDATES_PER_BUCKET = 20
_CHUNK = 4000  # (band, bucket) pairs per lookup: stays under SQLite's bound-variable limit


@dataclass(frozen=True, slots=True)
class Written:
    id: int
    doc: str  # folded title, summary and body
    is_new: bool


def search_document(article: Article) -> str:
    """The folded text that search matches against (title, summary, body), each ZWNJ compound
    also joined (etl/clean/fold.py ``fold_document``), so a query typed without the ZWNJ finds it."""
    return fold_fields(article.title, article.summary, article.body)


def index_fts(conn: Connection, written: Sequence[Written]) -> None:
    """SQLite keeps its search text in the FTS5 table; PostgreSQL has it in articles.search_doc."""
    if conn.dialect.name != "sqlite" or not written:
        return
    conn.execute(text("DELETE FROM articles_fts WHERE rowid = :id"), [{"id": w.id} for w in written])
    conn.execute(text("INSERT INTO articles_fts (rowid, doc) VALUES (:id, :doc)"),
                 [{"id": w.id, "doc": w.doc} for w in written])


def assign_clusters(conn: Connection, written: Sequence[Written]) -> None:
    sigs = {w.id: signature(w.doc) for w in written}
    changed = [w.id for w in written if not w.is_new]
    if changed:  # an edited article keeps its cluster; its signature and buckets are redone
        conn.execute(delete(article_lsh).where(article_lsh.c.article_id.in_(changed)))
        conn.execute(delete(article_minhash).where(article_minhash.c.article_id.in_(changed)))
    banded = {aid: bands(sig) for aid, sig in sigs.items() if sig is not None}
    new = [w.id for w in written if w.is_new]
    clusters = _choose_clusters(conn, new, sigs, banded)
    if clusters:
        _set_clusters(conn, clusters)
    if banded:
        _store_signatures(conn, {aid: sigs[aid] for aid in banded}, banded)


def _store_signatures(conn: Connection, sigs: dict, banded: dict) -> None:
    rows = [(b, k, aid) for aid, pairs in banded.items() for b, k in pairs]
    if conn.dialect.name == "postgresql":
        # ~32 bucket rows per article: statements over arrays instead of thousands of round trips.
        conn.execute(_INSERT_LSH_PG, {"bands": [r[0] for r in rows], "buckets": [r[1] for r in rows],
                                      "ids": [r[2] for r in rows]})
        conn.execute(_INSERT_MINHASH_PG, {"ids": list(sigs), "sigs": [s.to_bytes() for s in sigs.values()]})
        return
    conn.execute(insert(article_lsh), [{"band": b, "bucket": k, "article_id": aid} for b, k, aid in rows])
    conn.execute(insert(article_minhash), [{"article_id": aid, "signature": sig.to_bytes()} for aid, sig in sigs.items()])


def _set_clusters(conn: Connection, clusters: dict[int, int]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(_SET_CLUSTERS_PG, {"ids": list(clusters), "clusters": list(clusters.values())})
        return
    conn.execute(update(articles).where(articles.c.id == bindparam("aid")).values(cluster_id=bindparam("cid")),
                 [{"aid": aid, "cid": cid} for aid, cid in clusters.items()])


_INSERT_LSH_PG = text("""
INSERT INTO article_lsh (band, bucket, article_id)
SELECT * FROM unnest(CAST(:bands AS smallint[]), CAST(:buckets AS bigint[]), CAST(:ids AS bigint[]))""")
_INSERT_MINHASH_PG = text("""
INSERT INTO article_minhash (article_id, signature)
SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:sigs AS bytea[]))""")
_SET_CLUSTERS_PG = text("""
UPDATE articles SET cluster_id = v.cluster_id
FROM unnest(CAST(:ids AS bigint[]), CAST(:clusters AS bigint[])) AS v(id, cluster_id)
WHERE articles.id = v.id""")


def _choose_clusters(conn, new: list[int], sigs: dict, banded: dict) -> dict[int, int]:
    pairs = {p for aid in new if aid in banded for p in banded[aid]}
    stored = _bucket_members(conn, pairs)
    known = _signatures(conn, {aid for members in stored.values() for aid in members})
    clusters: dict[int, int] = {}
    in_batch: dict[tuple[int, int], list[int]] = {}
    for aid in new:
        best = None
        if aid in banded:
            candidates = {c for p in banded[aid] for c in (*stored.get(p, ()), *in_batch.get(p, ()))}
            best = _best_match(sigs[aid], candidates, known)
            for p in banded[aid]:
                in_batch.setdefault(p, []).append(aid)
        clusters[aid] = aid if best is None else (known[best][1] or best)
        known[aid] = (sigs.get(aid), clusters[aid])
    return clusters


def _best_match(sig: Signature, candidates: Iterable[int], known: dict) -> int | None:
    best, best_score = None, THRESHOLD
    for cand in candidates:
        other = known.get(cand, (None, None))[0]
        if other is None:
            continue
        score = similarity(sig, other)
        if score >= best_score:
            best, best_score = cand, score
    return best


def _bucket_members(conn: Connection, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
    """Up to CANDIDATES_PER_BUCKET most recent articles in each bucket, by index lookups."""
    found: dict[tuple[int, int], list[int]] = {}
    ordered = sorted(pairs)
    lookup = _LOOKUP_PG if conn.dialect.name == "postgresql" else _LOOKUP_SQLITE
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        params = {"bands": [b for b, _ in chunk], "buckets": [k for _, k in chunk], "cap": CANDIDATES_PER_BUCKET}
        if conn.dialect.name != "postgresql":
            params = {"pairs": json.dumps(chunk), "cap": CANDIDATES_PER_BUCKET}
        for band, bucket, aid in conn.execute(lookup, params):
            found.setdefault((band, bucket), []).append(aid)
    return found


# A row-value IN list of thousands of pairs makes PostgreSQL scan; unnest + LATERAL does one
# index probe per pair instead, each capped at the most recent articles of the bucket.
_LOOKUP_PG = text("""
SELECT q.band, q.bucket, m.article_id
FROM unnest(CAST(:bands AS smallint[]), CAST(:buckets AS bigint[])) AS q(band, bucket)
CROSS JOIN LATERAL (
    SELECT l.article_id FROM article_lsh l
    WHERE l.band = q.band AND l.bucket = q.bucket
    ORDER BY l.article_id DESC LIMIT :cap
) AS m""")
# SQLite has no arrays or LATERAL: the pairs arrive as one JSON parameter.
_LOOKUP_SQLITE = text("""
SELECT band, bucket, article_id FROM (
    SELECT l.band, l.bucket, l.article_id,
           row_number() OVER (PARTITION BY l.band, l.bucket ORDER BY l.article_id DESC) AS rn
    FROM json_each(:pairs) AS q
    JOIN article_lsh l ON l.band = json_extract(q.value, '$[0]') AND l.bucket = json_extract(q.value, '$[1]')
) WHERE rn <= :cap""")


def _signatures(conn: Connection, ids: set[int]) -> dict[int, tuple[Signature, int | None]]:
    out: dict[int, tuple[Signature, int | None]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        query = (select(article_minhash.c.article_id, article_minhash.c.signature, articles.c.cluster_id)
                 .join(articles, articles.c.id == article_minhash.c.article_id)
                 .where(article_minhash.c.article_id.in_(ordered[start:start + _CHUNK])))
        for aid, raw, cluster in conn.execute(query):
            out[aid] = (Signature.from_bytes(raw), cluster)
    return out
