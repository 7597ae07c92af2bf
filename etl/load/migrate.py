"""Schema creation and upgrades that never drop data.

A new database gets the current schema from ``etl.load.schema`` in one go and is stamped with
``SCHEMA_VERSION``. An existing one gets each later step in ``STEPS`` applied in order, inside one
transaction (PostgreSQL DDL is transactional, so a failed upgrade leaves the old schema intact).
Steps only add: new tables, new nullable columns, new indexes, backfilled values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import Connection, Engine, create_mock_engine, inspect, insert, select, text

from ..clean.jsonsafe import NotJSON, storable
from . import views  # noqa: F401  (registers the views with the schema)
from .daycounts import add_day_counts
from .querycounts import add_query_counts
from .reindex import rebuild_search_docs
from .schema import (ARTICLE_LSH_FORGET, LSH_UNLOGGED, SCHEMA_VERSION, SEARCH_DOC_INLINE, SOURCE_KINDS_CHECK, WATCH_HITS_FORGET,
                     article_lsh, articles, crawl_pages, crawl_sitemaps, host_pace, metadata, schema_migrations, sync_state,
                     watch_deliveries, watch_hits, watches)


def _add_crawl_frontier(conn: Connection) -> None:
    """Version 3: the crawl's frontier tables, and 'site' as a source kind (a wider CHECK)."""
    crawl_sitemaps.create(conn)
    crawl_pages.create(conn)
    conn.execute(text("CREATE INDEX articles_source_url ON articles (source_id, url)"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE sources DROP CONSTRAINT sources_kind_check, "
                          f"ADD CONSTRAINT sources_kind_check CHECK ({SOURCE_KINDS_CHECK})"))
        return
    # SQLite cannot alter a CHECK constraint; its documented way to relax one (the stored rows
    # do not change) is to edit the table's SQL in sqlite_schema and bump schema_version.
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_schema SET sql = replace(sql, \"kind IN ('feed', 'files')\", ?) "
        "WHERE type = 'table' AND name = 'sources'", (SOURCE_KINDS_CHECK,))
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _search_docs_with_joined_compounds(conn: Connection) -> None:
    """Version 4: search documents index each ZWNJ compound joined too (``حرفهایشان`` finds
    حرف‌هایشان), so every stored one is rebuilt; on PostgreSQL they are kept in the row."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(SEARCH_DOC_INLINE))
        if conn.dialect.server_version_info >= (14,):
            conn.execute(text("ALTER TABLE articles ALTER COLUMN search_doc SET COMPRESSION lz4"))
    rebuild_search_docs(conn)


def _add_raw_hash(conn: Connection) -> None:
    """articles.raw_hash: rows loaded before it have NULL and get it on their next reload."""
    conn.execute(text("ALTER TABLE articles ADD COLUMN raw_hash VARCHAR(32)"))
    conn.execute(text("CREATE INDEX articles_source_raw_hash ON articles (source_id, raw_hash)"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("COMMENT ON COLUMN articles.raw_hash IS " + _quote(_column_comment("articles", "raw_hash"))))


def _column_comment(table: str, column: str) -> str:
    return metadata.tables[table].c[column].comment or ""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _add_source_leases(conn: Connection) -> None:
    """Version 5: the schedule in the database for the procrastinate executor (issue 10):
    sources.lease_until / lease_owner (who claimed a due source) and last_delay (adaptive polling)."""
    conn.execute(text("ALTER TABLE sources ADD COLUMN lease_until " +
                      ("TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME")))
    conn.execute(text("ALTER TABLE sources ADD COLUMN lease_owner TEXT"))
    conn.execute(text("ALTER TABLE sources ADD COLUMN last_delay FLOAT"))
    conn.execute(text("CREATE INDEX sources_due ON sources (next_attempt_at)"))
    if conn.dialect.name == "postgresql":
        for column in ("lease_until", "lease_owner", "last_delay"):
            conn.execute(text(f"COMMENT ON COLUMN sources.{column} IS " + _quote(_column_comment("sources", column))))


def _lsh_without_foreign_key(conn: Connection) -> None:
    """Version 6: article_lsh loses its foreign key (checked once per bucket row, 32 per article,
    it cost a backfill as much as writing the rows); a trigger on articles does its cascade."""
    # A trigger of the same name (a test rebuilding an older state, a rerun by hand) goes first;
    # on SQLite it must, or renaming the table below would rewrite its body.
    conn.execute(text("DROP TRIGGER IF EXISTS articles_forget_lsh"
                      + (" ON articles" if conn.dialect.name == "postgresql" else "")))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE article_lsh DROP CONSTRAINT IF EXISTS article_lsh_article_id_fkey"))
        conn.execute(text("COMMENT ON COLUMN article_lsh.article_id IS "
                          + _quote(_column_comment("article_lsh", "article_id"))))
    else:
        # SQLite cannot drop a constraint: the table is rebuilt (its documented way), rows kept.
        conn.execute(text("ALTER TABLE article_lsh RENAME TO article_lsh_old"))
        article_lsh.create(conn)
        conn.execute(text("INSERT INTO article_lsh (band, bucket, article_id) "
                          "SELECT band, bucket, article_id FROM article_lsh_old"))
        conn.execute(text("DROP TABLE article_lsh_old"))
    for statement in ARTICLE_LSH_FORGET[conn.dialect.name]:
        conn.execute(text(statement))


def _add_host_pace(conn: Connection) -> None:
    """Version 7: host_pace, the per-host minimum delay shared by the procrastinate executor's workers."""
    host_pace.create(conn)


def _add_due_state(conn: Connection) -> None:
    """Version 8 (issue 22): one due policy for every kind on both executors: sources.database_failures
    and crawl_next_at (a feed's scheduled crawl on the queue); sync_state (skip an unchanged sources file)."""
    conn.execute(text("ALTER TABLE sources ADD COLUMN database_failures INTEGER NOT NULL DEFAULT 0"))
    conn.execute(text("ALTER TABLE sources ADD COLUMN crawl_next_at " +
                      ("TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME")))
    sync_state.create(conn)
    if conn.dialect.name == "postgresql":
        for column in ("database_failures", "crawl_next_at"):
            conn.execute(text(f"COMMENT ON COLUMN sources.{column} IS " + _quote(_column_comment("sources", column))))


def _meta_as_valid_json(conn: Connection) -> None:
    """Version 9: on SQLite, ``meta`` that an older news-etl wrote with ``NaN`` or ``Infinity`` in
    it (from ``1e999999`` in an input's extra field) becomes valid JSON, those numbers as text: until
    then every export of the database, that article's ``show`` and its web page failed. PostgreSQL's
    jsonb never accepted such a row, so there is nothing to repair there."""
    if conn.dialect.name != "sqlite":
        return
    for table in ("articles", "article_revisions"):
        broken = conn.exec_driver_sql(f"SELECT id, meta FROM {table} WHERE meta IS NOT NULL AND NOT json_valid(meta)")
        for row_id, raw in broken.all():
            conn.exec_driver_sql(f"UPDATE {table} SET meta = ? WHERE id = ?", (_repaired_meta(raw), row_id))


def _repaired_meta(raw: str) -> str:
    """``'{"x": Infinity}'`` -> ``'{"x": "inf"}'``; text that is no JSON at all is kept as ``meta_raw``."""
    try:
        meta = json.loads(raw)
        value = storable(meta if isinstance(meta, dict) else {"meta": meta})
    except (ValueError, NotJSON):
        value = {"meta_raw": raw[:2000]}
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _add_watches(conn: Connection) -> None:
    """Version 11 (issue 25): watches, their watch_hits outbox and watch_deliveries (each created
    unless it is there: the step may run again over a database whose later history was rolled back)."""
    for table in (watches, watch_hits, watch_deliveries):
        table.create(conn, checkfirst=True)
    on = " ON articles" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"DROP TRIGGER IF EXISTS articles_forget_watch_hits{on}"))  # a half-removed earlier try
    for statement in WATCH_HITS_FORGET[conn.dialect.name]:
        conn.execute(text(statement))


def _add_blocked_by(conn: Connection) -> None:
    """Version 12 (issue 26): sources.blocked_by, the bot wall that answered a source's last failed pass
    (unless it is there: the step may run again over a database whose later history was rolled back)."""
    if "blocked_by" in {c["name"] for c in inspect(conn).get_columns("sources")}:
        return
    conn.execute(text("ALTER TABLE sources ADD COLUMN blocked_by TEXT"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("COMMENT ON COLUMN sources.blocked_by IS " + _quote(_column_comment("sources", "blocked_by"))))


def _search_docs_with_stems(conn: Connection) -> None:
    """Version 13 (issue 23): search documents also index the stem of each inflected word, marked (``ـخبرنگار``
    for خبرنگاران: etl/clean/stem.py), so a search for a word finds its other forms; every stored
    document is rebuilt (titles, bodies, hashes and ``updated_at`` untouched)."""
    rebuild_search_docs(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("COMMENT ON COLUMN articles.search_doc IS " + _quote(_column_comment("articles", "search_doc"))))


def _add_joined_index(conn: Connection) -> None:
    """Version 15 (issue 27): articles_joined, the articles that joined a cluster another one started
    (unless it is there: the step may run again over a database whose later history was rolled back)."""
    index = next(i for i in articles.indexes if i.name == "articles_joined")
    index.create(conn, checkfirst=True)


def _lsh_unlogged(conn: Connection) -> None:
    """Version 16 (issue 27): PostgreSQL writes no WAL for article_lsh (derived data, rebuilt after a
    server crash: etl/load/lshstate.py), and article_lsh_complete marks it complete. The table is
    rewritten once (about a minute per million articles)."""
    if conn.dialect.name != "postgresql":
        return
    for statement in LSH_UNLOGGED:
        conn.execute(text(statement))


STEPS: dict[int, tuple[str, Callable[[Connection], None]]] = {
    2: ("articles.raw_hash: reloads skip unchanged input before cleaning", _add_raw_hash),
    3: ("crawl frontier: crawl_sitemaps, crawl_pages; source kind 'site'; articles_source_url", _add_crawl_frontier),
    4: ("search documents rebuilt: ZWNJ compounds also indexed joined", _search_docs_with_joined_compounds),
    5: ("source leases: sources.lease_until, lease_owner, last_delay; sources_due", _add_source_leases),
    6: ("article_lsh without a foreign key; the articles_forget_lsh trigger removes buckets", _lsh_without_foreign_key),
    7: ("host_pace: per-host minimum delay shared across workers", _add_host_pace),
    8: ("due state: sources.database_failures, crawl_next_at; sync_state", _add_due_state),
    9: ("meta as valid JSON: NaN and Infinity written by older versions become text (SQLite)", _meta_as_valid_json),
    10: ("article_day_counts: articles per Tehran day, source and agency, kept by triggers (PostgreSQL)",
        add_day_counts),
    11: ("watches: watches, watch_hits (the outbox), watch_deliveries", _add_watches),
    12: ("sources.blocked_by: the bot wall that answered a source's last failed pass", _add_blocked_by),
    13: ("search documents rebuilt: the stems of inflected words also indexed", _search_docs_with_stems),
    14: ("counted_queries, query_day_counts: matching articles per day of the queries counted ahead, kept by "
         "triggers (PostgreSQL)", add_query_counts),
    15: ("articles_joined: the articles that joined a near-duplicate cluster (stories reads them)", _add_joined_index),
    16: ("article_lsh unlogged, article_lsh_complete: no WAL for the LSH buckets, rebuilt after a server crash "
         "(PostgreSQL)", _lsh_unlogged),
}
DESCRIPTION = {1: "initial schema: sources, articles, ingest_runs, ingest_errors"}


class SchemaError(RuntimeError):
    """The database's schema cannot be used or upgraded by this version of news-etl."""


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    from_version: int | None  # None: the database was empty
    to_version: int

    @property
    def changed(self) -> bool:
        return self.from_version != self.to_version


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_migrations"):
        return None
    return conn.execute(select(schema_migrations.c.version).order_by(schema_migrations.c.version.desc())).scalar()


def upgrade(engine: Engine, now: datetime) -> UpgradeResult:
    """Bring the database to ``SCHEMA_VERSION``; a no-op when it is there already."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting at once must not both create the schema.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('news-etl schema'))"))
        version = current_version(conn)
        if version is None:
            _create(conn, now)
        elif version > SCHEMA_VERSION:
            raise SchemaError(
                f"database schema version {version} is newer than this news-etl "
                f"(knows up to {SCHEMA_VERSION}); upgrade news-etl"
            )
        else:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                description, apply = STEPS[step]
                apply(conn)
                _stamp(conn, step, description, now)
        return UpgradeResult(version, SCHEMA_VERSION)


def _create(conn: Connection, now: datetime) -> None:
    ours = [t.name for t in metadata.sorted_tables if inspect(conn).has_table(t.name)]
    if ours:
        raise SchemaError(
            f"database already has table(s) {', '.join(ours)} but no schema_migrations; "
            "refusing to guess their version (use an empty database)"
        )
    metadata.create_all(conn)
    for step in range(1, SCHEMA_VERSION + 1):
        _stamp(conn, step, DESCRIPTION.get(step) or STEPS[step][0], now)


def _stamp(conn: Connection, version: int, description: str, now: datetime) -> None:
    conn.execute(insert(schema_migrations).values(version=version, description=description, applied_at=now))


def schema_ddl() -> str:
    """The PostgreSQL DDL of the current schema, as committed in ``sql/schema.sql``."""
    statements: list[str] = []
    mock = create_mock_engine(
        "postgresql+psycopg://", lambda sql, *a, **kw: statements.append(str(sql.compile(dialect=mock.dialect)).strip())
    )
    metadata.create_all(mock, checkfirst=False)
    statements = _sort_index_runs(statements)
    header = (
        "-- news-etl PostgreSQL schema, version %d.\n"
        "-- GENERATED from etl/load/schema.py by `news-etl db schema > sql/schema.sql`; do not edit by hand.\n"
        "-- `news-etl db upgrade` creates or upgrades a database (every command also does it on start).\n"
        % SCHEMA_VERSION
    )
    return header + "\n" + "".join(s + ";\n\n" for s in statements).rstrip() + "\n"


def _sort_index_runs(statements: list[str]) -> list[str]:
    # A table's indexes are a set, created in hash order; sort each run of them so the
    # generated file is the same on every machine.
    out: list[str] = []
    run: list[str] = []
    for statement in statements + [""]:
        if statement.startswith("CREATE INDEX") or statement.startswith("CREATE UNIQUE INDEX"):
            run.append(statement)
            continue
        out.extend(sorted(run))
        run = []
        if statement:
            out.append(statement)
    return out
