"""The watches' SQL: the ``watches`` table synced from the sources file, the per-batch match that
writes the ``watch_hits`` outbox inside the batch's own transaction, the deliveries' state
(claimed, sent, retried, failed) and what the CLI, ``status`` and the web page read about them.

Matching is ``search``'s own full-text match: each watch keeps its query as this database matches
it (``etl.load.search.match_text``: a tsquery text on PostgreSQL, an FTS5 expression on SQLite),
so a watch finds exactly the articles ``search`` finds in full text, in any spelling.

PostgreSQL matches every watch in one statement per batch. For a batch of A articles and W
watches it has two plans, chosen by W x A (``GIN_PAIRS``, measured by ``bench/watches``):

- few pairs (a feed poll's handful of articles): every (article, watch) pair is tested with ``@@``
  on the batch's documents, decompressed once (a materialized CTE);
- many pairs (a crawl's or a busy pass's batch against hundreds of watches): the batch's documents
  are put in a temporary table with a GIN index of their own, and each watch's query is one index
  lookup in it: the cost follows W + A, not W x A.

SQLite puts the batch's documents in a temporary FTS5 table and matches every watch against it in
one statement (an FTS5 MATCH whose expression is the watch's column).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Connection, bindparam, func, insert, literal_column, null, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from ..watches.model import Watch
from .schema import UTCDateTime, articles, sources, sync_state, watch_deliveries, watch_hits, watches
from .search import match_text, query_terms

__all__ = ["GIN_PAIRS", "HitRow", "MessageClaim", "claim_message", "due_messages", "failing_deliveries",
           "group_pending", "hit_rows", "latest_hits", "match_batch", "record_attempt", "sync_watches",
           "watch_ids", "watch_overview"]

# (watches x articles) from which the batch's documents get a GIN index of their own (bench/watches:
# testing a pair costs about 0.4 microseconds, the index about 0.1 ms per article and 25 microseconds per watch).
GIN_PAIRS = 150_000


# --- sync -------------------------------------------------------------------------------------


def _values(watch: Watch, dialect: str) -> dict[str, Any]:
    settings = json.loads(json.dumps(asdict(watch)))
    return {"query": watch.query, "match": match_text(query_terms(watch.query), dialect),
            "sources": list(watch.sources) or None, "agencies": list(watch.agencies) or None,
            "on_update": watch.on_update, "webhook": watch.webhook, "email": list(watch.email) or None,
            "settings": settings}


def _nulls(values: dict[str, Any]) -> dict[str, Any]:
    # A JSON column would store None as the JSON value null; the matching SQL tests IS NULL.
    return {k: (null() if v is None and k in ("sources", "agencies", "email") else v) for k, v in values.items()}


def sync_watches(conn: Connection, configured: Sequence[Watch], now: datetime) -> bool:
    """Make the table match the sources file's watches; a watch removed from the file keeps its
    row and hits (``in_config = false``) and matches no more. Skipped when nothing changed since
    the last sync (a digest, as for sources); returns whether anything was compared."""
    dialect = conn.dialect.name
    wanted = {w.name: _values(w, dialect) for w in configured}
    digest = hashlib.sha256(json.dumps(sorted(wanted.items()), sort_keys=True).encode()).hexdigest()
    if conn.execute(select(sync_state.c.digest).where(sync_state.c.name == "watches")).scalar() == digest:
        return False
    existing = {row.name: row for row in conn.execute(select(watches))}
    for name, values in wanted.items():
        row = existing.get(name)
        if row is None:
            conn.execute(insert(watches).values(name=name, created_at=now, updated_at=now, in_config=True,
                                                **_nulls(values)))
        elif not row.in_config or any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(update(watches).where(watches.c.id == row.id)
                         .values(updated_at=now, in_config=True, **_nulls(values)))
    for name, row in existing.items():
        if name not in wanted and row.in_config:
            conn.execute(update(watches).where(watches.c.id == row.id).values(in_config=False, updated_at=now))
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(sync_state)
    conn.execute(statement.values(name="watches", digest=digest, synced_at=now).on_conflict_do_update(
        index_elements=[sync_state.c.name], set_={"digest": digest, "synced_at": now}))
    return True


# --- matching (inside the batch's transaction) --------------------------------------------------


def match_batch(conn: Connection, new_ids: Sequence[int], updated_ids: Sequence[int], now: datetime) -> int:
    """Record a hit (and its pending deliveries) for every active watch that the batch's new
    articles match, and its changed ones for watches with ``on_update``; in the caller's
    transaction. A (watch, article) pair is recorded once, ever. Returns the hits recorded."""
    counts = dict(conn.execute(select(watches.c.on_update, func.count()).where(watches.c.in_config)
                               .group_by(watches.c.on_update)).all())
    ids = list(new_ids) + (list(updated_ids) if counts.get(True) else [])
    active = sum(counts.values())
    if not ids or not active:
        return 0
    if conn.dialect.name == "postgresql":
        return _match_pg(conn, ids, list(new_ids), now, gin=active * len(ids) >= GIN_PAIRS)
    return _match_sqlite(conn, ids, list(new_ids), now)


_PG_WATCHES = """
w AS MATERIALIZED (
    SELECT id, to_tsquery('simple', match) AS q, on_update,
           CASE WHEN sources IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(sources)) END AS sources,
           CASE WHEN agencies IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(agencies)) END AS agencies,
           webhook IS NOT NULL AS webhook, email IS NOT NULL AS email
    FROM watches WHERE in_config)"""
# The batch's documents, decompressed once: `|| ''` makes a new in-memory value, where the column
# itself would be decompressed again for every watch it is tested against.
_PG_BATCH = """
b AS MATERIALIZED (
    SELECT a.id, a.search_doc || ''::tsvector AS doc, s.name AS source, a.meta->>'agency' AS agency,
           a.id = ANY(CAST(:new AS bigint[])) AS new
    FROM articles a JOIN sources s ON s.id = a.source_id WHERE a.id = ANY(CAST(:ids AS bigint[])))"""
_PG_RECORD = """
hits AS (
    INSERT INTO watch_hits (watch_id, article_id, matched_at, reason)
    SELECT w.id, b.id, :now, CASE WHEN b.new THEN 'new' ELSE 'updated' END
    FROM w JOIN {batch} b ON b.doc @@ w.q
    WHERE (b.new OR w.on_update) AND (w.sources IS NULL OR b.source = ANY(w.sources))
      AND (w.agencies IS NULL OR b.agency = ANY(w.agencies))
      AND (b.new OR NOT EXISTS (SELECT 1 FROM watch_hits x WHERE x.watch_id = w.id AND x.article_id = b.id))
    ORDER BY 1, 2
    RETURNING id, watch_id
), deliveries AS (
    INSERT INTO watch_deliveries (hit_id, watch_id, channel, status, attempts)
    SELECT h.id, h.watch_id, c.channel, 'pending', 0
    FROM hits h JOIN w ON w.id = h.watch_id
    CROSS JOIN LATERAL (VALUES ('webhook', w.webhook), ('email', w.email)) AS c(channel, wanted)
    WHERE c.wanted
)
SELECT count(*) FROM hits"""
_PG_MATCH_LOOP = text("WITH" + _PG_WATCHES + "," + _PG_BATCH + "," + _PG_RECORD.format(batch="b"))
_PG_MATCH_GIN = text("WITH" + _PG_WATCHES + "," + _PG_RECORD.format(batch="watch_batch"))
# Created once per connection; its rows go at commit. The GIN index is filled through its pending
# list and merged in one go (gin_clean_pending_list), which costs half of inserting into the tree.
# Its documents are stored uncompressed (EXTERNAL): a phrase is rechecked on the document itself,
# and decompressing it for every watch that rechecks it doubled the matching time.
_PG_GIN_TABLE = """
DO $$ BEGIN
    IF to_regclass('pg_temp.watch_batch') IS NULL THEN
        CREATE TEMPORARY TABLE watch_batch (id bigint, doc tsvector, source text, agency text, new boolean)
            ON COMMIT DELETE ROWS;
        ALTER TABLE watch_batch ALTER COLUMN doc SET STORAGE EXTERNAL;
        CREATE INDEX watch_batch_doc ON watch_batch USING gin (doc) WITH (fastupdate = on);
    END IF;
END $$"""
_PG_GIN_FILL = text("""
INSERT INTO watch_batch SELECT a.id, a.search_doc, s.name, a.meta->>'agency', a.id = ANY(CAST(:new AS bigint[]))
FROM articles a JOIN sources s ON s.id = a.source_id WHERE a.id = ANY(CAST(:ids AS bigint[]))""")


def _match_pg(conn: Connection, ids: list[int], new: list[int], now: datetime, gin: bool) -> int:
    params = {"ids": ids, "new": new, "now": now}
    if not gin:
        return conn.execute(_PG_MATCH_LOOP, params).scalar_one()
    conn.exec_driver_sql(_PG_GIN_TABLE)
    conn.execute(text("DELETE FROM watch_batch"))  # empty, unless a caller matches twice per transaction
    conn.execute(_PG_GIN_FILL, params)
    conn.execute(text("SELECT gin_clean_pending_list('watch_batch_doc'::regclass)"))
    return conn.execute(_PG_MATCH_GIN, params).scalar_one()


_SQLITE_BATCH = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.watch_batch USING fts5(doc, tokenize = 'unicode61 remove_diacritics 0')"
_SQLITE_MATCH = text("""
INSERT INTO watch_hits (watch_id, article_id, matched_at, reason)
SELECT w.id, a.id, :now, CASE WHEN a.id IN (SELECT value FROM json_each(:new)) THEN 'new' ELSE 'updated' END
FROM watches w JOIN temp.watch_batch f ON f.watch_batch MATCH w.match
JOIN articles a ON a.id = f.rowid JOIN sources s ON s.id = a.source_id
WHERE w.in_config AND (w.on_update OR a.id IN (SELECT value FROM json_each(:new)))
  AND (w.sources IS NULL OR EXISTS (SELECT 1 FROM json_each(w.sources) j WHERE j.value = s.name))
  AND (w.agencies IS NULL OR EXISTS (SELECT 1 FROM json_each(w.agencies) j
                                     WHERE j.value = json_extract(a.meta, '$.agency')))
ORDER BY 1, 2
ON CONFLICT (watch_id, article_id) DO NOTHING
RETURNING id, watch_id""")


def _match_sqlite(conn: Connection, ids: list[int], new: list[int], now: datetime) -> int:
    conn.exec_driver_sql(_SQLITE_BATCH)
    conn.execute(text("DELETE FROM temp.watch_batch"))
    conn.execute(text("INSERT INTO temp.watch_batch (rowid, doc) SELECT rowid, doc FROM articles_fts "
                      "WHERE rowid IN (SELECT value FROM json_each(:ids))"), {"ids": json.dumps(ids)})
    hits = conn.execute(_SQLITE_MATCH.bindparams(bindparam("now", type_=UTCDateTime)),
                        {"now": now, "new": json.dumps(new)}).all()
    conn.execute(text("DELETE FROM temp.watch_batch"))
    if hits:
        channels = {row.id: row for row in conn.execute(select(watches.c.id, watches.c.webhook, watches.c.email))}
        rows = [{"hit_id": hit_id, "watch_id": wid, "channel": channel, "status": "pending", "attempts": 0}
                for hit_id, wid in hits for channel, wanted in (("webhook", channels[wid].webhook),
                                                                 ("email", channels[wid].email)) if wanted]
        if rows:
            conn.execute(insert(watch_deliveries), rows)
    return len(hits)


# --- deliveries -------------------------------------------------------------------------------


def watch_ids(conn: Connection) -> dict[str, int]:
    """name -> id of every watch row."""
    return dict(conn.execute(select(watches.c.name, watches.c.id)).all())


def group_pending(conn: Connection, watch_id: int, channel: str, now: datetime, digest: int | None,
                  digest_key: str) -> int:
    """Give each pending delivery not yet in a message its message: its own (``hit-ID``), or,
    for a digest watch, ``digest_key`` for all of them once the oldest has waited ``digest``
    seconds. A message keeps its members (and so its Idempotency-Key) through every retry."""
    pending = ((watch_deliveries.c.watch_id == watch_id) & (watch_deliveries.c.channel == channel)
               & (watch_deliveries.c.status == "pending") & watch_deliveries.c.message.is_(None))
    if digest is None:
        return conn.execute(update(watch_deliveries).where(pending).values(message=_HIT_LABEL)).rowcount
    oldest = conn.execute(select(func.min(watch_hits.c.matched_at))
                          .select_from(watch_deliveries.join(watch_hits, watch_hits.c.id == watch_deliveries.c.hit_id))
                          .where(pending)).scalar()
    if oldest is None or (now - _aware(oldest)).total_seconds() < digest:
        return 0
    return conn.execute(update(watch_deliveries).where(pending).values(message=digest_key)).rowcount


_HIT_LABEL = literal_column("'hit-' || CAST(hit_id AS TEXT)")  # a hit's message when it is sent alone


def _aware(value: datetime) -> datetime:
    """SQLite's aggregate of a UTCDateTime column comes back as naive UTC (the type is not applied)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _due(watch_id: int, channel: str, now: datetime):
    return ((watch_deliveries.c.watch_id == watch_id) & (watch_deliveries.c.channel == channel)
            & (watch_deliveries.c.status == "pending") & watch_deliveries.c.message.is_not(None)
            & (watch_deliveries.c.next_attempt_at.is_(None) | (watch_deliveries.c.next_attempt_at <= now)))


def due_messages(conn: Connection, watch_id: int, channel: str, now: datetime, limit: int) -> list[str]:
    """The messages of a watch's channel that are due (never tried, or their backoff is over),
    oldest first."""
    query = (select(watch_deliveries.c.message).where(_due(watch_id, channel, now))
             .group_by(watch_deliveries.c.message).order_by(func.min(watch_deliveries.c.id)).limit(limit))
    return list(conn.execute(query).scalars())


@dataclass(frozen=True, slots=True)
class MessageClaim:
    """A message claimed for sending: its deliveries, their hits and the attempts so far."""

    message: str
    delivery_ids: list[int]
    hit_ids: list[int]
    attempts: int


def claim_message(conn: Connection, watch_id: int, channel: str, message: str, now: datetime,
                  lease_until: datetime) -> MessageClaim | None:
    """Lease a due message until ``lease_until`` (in its own transaction: commit before sending);
    None when another delivery task took it meanwhile. A task killed while sending leaves the
    lease to run out, and the message is sent again, with the same Idempotency-Key."""
    statement = (update(watch_deliveries)
                 .where(_due(watch_id, channel, now), watch_deliveries.c.message == message)
                 .values(next_attempt_at=lease_until)
                 .returning(watch_deliveries.c.id, watch_deliveries.c.hit_id, watch_deliveries.c.attempts))
    rows = conn.execute(statement).all()
    if not rows:
        return None
    return MessageClaim(message, [r.id for r in rows], sorted(r.hit_id for r in rows), max(r.attempts for r in rows))


def record_attempt(conn: Connection, delivery_ids: Sequence[int], now: datetime, error: str | None,
                   retry_at: datetime | None) -> None:
    """The outcome of one attempt: sent (``error`` None), retried at ``retry_at``, or failed for good."""
    where = watch_deliveries.c.id.in_(bindparam("ids", list(delivery_ids), expanding=True))
    if error is None:
        values: dict[str, Any] = {"status": "sent", "finished_at": now, "next_attempt_at": None, "last_error": None}
    elif retry_at is not None:
        values = {"attempts": watch_deliveries.c.attempts + 1, "next_attempt_at": retry_at, "last_error": error}
    else:
        values = {"attempts": watch_deliveries.c.attempts + 1, "status": "failed", "finished_at": now,
                  "next_attempt_at": None, "last_error": error}
    conn.execute(update(watch_deliveries).where(where).values(values))


@dataclass(frozen=True, slots=True)
class HitRow:
    """One hit with what a message says about its article."""

    hit_id: int
    article_id: int
    matched_at: datetime
    reason: str
    source: str
    url: str | None
    title: str
    summary: str | None
    body: str
    published_at: datetime | None
    agency: str | None


def _hit_query():
    return (select(watch_hits.c.id.label("hit_id"), watch_hits.c.article_id, watch_hits.c.matched_at,
                   watch_hits.c.reason, sources.c.name.label("source"), articles.c.url, articles.c.title,
                   articles.c.summary, articles.c.body, articles.c.published_at,
                   articles.c.meta["agency"].as_string().label("agency"))
            .join(articles, articles.c.id == watch_hits.c.article_id)
            .join(sources, sources.c.id == articles.c.source_id))


def hit_rows(conn: Connection, hit_ids: Sequence[int]) -> list[HitRow]:
    query = _hit_query().where(watch_hits.c.id.in_(bindparam("ids", list(hit_ids), expanding=True)))
    return [HitRow(**row) for row in conn.execute(query.order_by(watch_hits.c.id)).mappings()]


# --- reading ----------------------------------------------------------------------------------


def latest_hits(conn: Connection, name: str, limit: int) -> list[dict[str, Any]] | None:
    """A watch's newest hits, newest first, each with its deliveries' states; None: no such watch."""
    watch_id = conn.execute(select(watches.c.id).where(watches.c.name == name)).scalar()
    if watch_id is None:
        return None
    rows = [dict(r) for r in conn.execute(_hit_query().where(watch_hits.c.watch_id == watch_id)
                                          .order_by(watch_hits.c.id.desc()).limit(limit)).mappings()]
    states: dict[int, dict[str, str]] = {}
    if rows:
        query = (select(watch_deliveries.c.hit_id, watch_deliveries.c.channel, watch_deliveries.c.status)
                 .where(watch_deliveries.c.hit_id.in_(bindparam("ids", [r["hit_id"] for r in rows], expanding=True))))
        for hit_id, channel, status in conn.execute(query):
            states.setdefault(hit_id, {})[channel] = status
    for row in rows:
        row["deliveries"] = states.get(row["hit_id"], {})
    return rows


def watch_overview(conn: Connection) -> list[dict[str, Any]]:
    """Every watch with its hits and, per channel, its deliveries by status and the last error."""
    hits = {wid: (n, last) for wid, n, last in conn.execute(
        select(watch_hits.c.watch_id, func.count(), func.max(watch_hits.c.matched_at)).group_by(watch_hits.c.watch_id))}
    deliveries: dict[int, dict[str, dict[str, Any]]] = {}
    for wid, channel, status, n in conn.execute(
            select(watch_deliveries.c.watch_id, watch_deliveries.c.channel, watch_deliveries.c.status, func.count())
            .group_by(watch_deliveries.c.watch_id, watch_deliveries.c.channel, watch_deliveries.c.status)):
        deliveries.setdefault(wid, {}).setdefault(channel, {"pending": 0, "sent": 0, "failed": 0})[status] = n
    errors = _last_errors(conn)
    out = []
    for row in conn.execute(select(watches).order_by(watches.c.in_config.desc(), watches.c.name)).mappings():
        count, last = hits.get(row["id"], (0, None))
        channels = deliveries.get(row["id"], {})
        for channel, state in channels.items():
            state["last_error"] = errors.get((row["id"], channel))
        out.append({"name": row["name"], "query": row["query"], "in_config": row["in_config"], "hits": count,
                    "last_hit_at": last, "on_update": row["on_update"], "sources": row["sources"] or [],
                    "agencies": row["agencies"] or [], "webhook": row["webhook"], "email": row["email"] or [],
                    "digest": (row["settings"] or {}).get("digest"), "deliveries": channels})
    return out


def _last_errors(conn: Connection) -> dict[tuple[int, str], str]:
    """(watch id, channel) -> the error of its most recent failed attempt."""
    latest = (select(watch_deliveries.c.watch_id, watch_deliveries.c.channel, func.max(watch_deliveries.c.id).label("id"))
              .where(watch_deliveries.c.last_error.is_not(None))
              .group_by(watch_deliveries.c.watch_id, watch_deliveries.c.channel).subquery())
    query = select(latest.c.watch_id, latest.c.channel, watch_deliveries.c.last_error).join(
        watch_deliveries, watch_deliveries.c.id == latest.c.id)
    return {(wid, channel): error for wid, channel, error in conn.execute(query)}


def failing_deliveries(conn: Connection) -> list[dict[str, Any]]:
    """The channels of watches in the sources file whose most recently finished delivery failed
    (as a source is failing until a pass succeeds): watch, channel, failed count, last error."""
    finished = (select(watch_deliveries.c.watch_id, watch_deliveries.c.channel,
                       func.max(watch_deliveries.c.finished_at).label("at"))
                .where(watch_deliveries.c.finished_at.is_not(None))
                .group_by(watch_deliveries.c.watch_id, watch_deliveries.c.channel).subquery())
    query = (select(watches.c.name, finished.c.watch_id, finished.c.channel)
             .join(watches, watches.c.id == finished.c.watch_id)
             .join(watch_deliveries, (watch_deliveries.c.watch_id == finished.c.watch_id)
                   & (watch_deliveries.c.channel == finished.c.channel)
                   & (watch_deliveries.c.finished_at == finished.c.at))
             .where(watches.c.in_config, watch_deliveries.c.status == "failed").distinct())
    out = []
    errors = _last_errors(conn)
    for name, wid, channel in conn.execute(query):
        failed = conn.execute(select(func.count()).where(
            watch_deliveries.c.watch_id == wid, watch_deliveries.c.channel == channel,
            watch_deliveries.c.status == "failed")).scalar()
        out.append({"watch": name, "channel": channel, "failed": failed, "last_error": errors.get((wid, channel))})
    return sorted(out, key=lambda r: (r["watch"], r["channel"]))
