"""The database schema: the single source of truth.

``sql/schema.sql`` is generated from these tables (``news-etl db schema``) and a test fails
when the committed file and this module disagree. Comments here become ``COMMENT ON`` in
PostgreSQL, so the schema documents itself for analysts.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    DDL, JSON, BigInteger, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer,
    LargeBinary, MetaData, PrimaryKeyConstraint, SmallInteger, String, Table, Text, UniqueConstraint,
    event, text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 16


class UTCDateTime(TypeDecorator):
    """``timestamptz`` on PostgreSQL; on SQLite a naive UTC text value. Always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} reached the database; times must be aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class SearchVector(TypeDecorator):
    """``tsvector`` on PostgreSQL. SQLite searches through the FTS5 table ``articles_fts`` instead,
    so there the column exists (one table definition) but stays NULL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(TSVECTOR() if dialect.name == "postgresql" else Text())


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigID = BigInteger().with_variant(Integer(), "sqlite")
Doc = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

SOURCE_KINDS_CHECK = "kind IN ('feed', 'files', 'site')"

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False,
           comment="Schema version applied (etl/load/schema.py SCHEMA_VERSION)."),
    Column("description", Text, nullable=False, comment="What the version added."),
    Column("applied_at", UTCDateTime, nullable=False, comment="When it was applied (UTC)."),
    comment="One row per applied schema version; `news-etl db upgrade` applies the missing ones.",
)

sources = Table(
    "sources", metadata,
    Column("id", Integer, primary_key=True,
           comment="Surrogate key, referenced by articles, ingest_runs and ingest_errors."),
    Column("name", String(64), nullable=False, unique=True, comment="The name used in config/sources.toml."),
    Column("kind", String(16), nullable=False, comment="'feed', 'files' or 'site' (crawled through its sitemaps)."),
    Column("url", Text, comment="Feed URL (kind 'feed') or site root (kind 'site')."),
    Column("path", Text, comment="Folder or file (kind 'files')."),
    Column("enabled", Boolean, nullable=False, server_default=text("true"),
           comment="False keeps the source and its articles but stops fetching it (enabled = false in the sources file)."),
    Column("in_config", Boolean, nullable=False, server_default=text("true"),
           comment="False once the source is removed from the sources file or was created by a backfill; its articles stay."),
    Column("settings", Doc, comment="The source's table from the sources file, as last seen."),
    Column("etag", Text, comment="ETag validator from the last successful fetch (conditional GET)."),
    Column("last_modified", Text, comment="Last-Modified validator from the last successful fetch."),
    Column("last_fetch_at", UTCDateTime,
           comment="When the last fetch or files pass ended, successful or not (UTC)."),
    Column("last_success_at", UTCDateTime,
           comment="When the last successful fetch or files pass ended (UTC); NULL if none yet."),
    Column("last_status", Integer, comment="HTTP status of the last fetch."),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0"),
           comment="Failed passes in a row; 0 after a success. `news-etl status` calls a source failing at 3 (--max-failures)."),
    Column("last_error", Text,
           comment="One-line reason of the last failed pass; NULL after a success (a readable but malformed feed keeps its warning)."),
    Column("blocked_by", Text,
           comment="The bot wall (its vendor: 'ArvanCloud', 'Cloudflare', ... or 'unknown') that answered the last "
                   "failed pass instead of the site; NULL after any other outcome (etl/fetch/walls.py)."),
    Column("next_attempt_at", UTCDateTime, comment="When the service will next fetch this source."),
    Column("items_seen", BigInteger, nullable=False, server_default=text("0"),
           comment="Items seen over all passes (feed entries or file records)."),
    Column("lease_until", UTCDateTime,
           comment="Claimed by a dispatcher of the procrastinate executor until then (etl/load/schedule.py); NULL or past: free."),
    Column("lease_owner", Text, comment="Who holds the lease (dispatcher name), for operators."),
    Column("last_delay", Float,
           comment="Seconds of the last healthy delay (adaptive polling), so the schedule moves between machines."),
    Column("database_failures", Integer, nullable=False, server_default=text("0"),
           comment="Passes in a row the database refused (not the source's fault: they back off, they do not count "
                   "as failures); 0 after any other outcome (etl/tasks/due.py)."),
    Column("crawl_next_at", UTCDateTime,
           comment="When the scheduled crawl of a feed source with crawl = {...} runs next (a site source's crawl "
                   "is its pass: next_attempt_at)."),
    Column("created_at", UTCDateTime, nullable=False, comment="When the source first appeared (UTC)."),
    Column("updated_at", UTCDateTime, nullable=False, comment="When its row last changed (UTC)."),
    CheckConstraint(SOURCE_KINDS_CHECK, name="sources_kind_check"),
    comment="One row per source, keyed by name, holding its fetch state.",
)

articles = Table(
    "articles", metadata,
    Column("id", BigID, primary_key=True,
           comment="Surrogate key: `news-etl show ID`; cluster_id values are ids of this table."),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False,
           comment="The source (sources.id) the article was loaded from; the natural key is unique within it."),
    Column("key", Text, nullable=False,
           comment="Natural key within the source: 'guid:…', 'url:…' (canonical URL) or 'hash:…' (normalized title and body)."),
    Column("url", Text, comment="Canonical article URL, when known."),
    Column("title", Text, nullable=False,
           comment="Cleaned title (HTML removed, Persian normalized, ZWNJ kept); derived from the first sentence when title_derived."),
    Column("title_derived", Boolean, nullable=False, server_default=text("false"),
           comment="True when the input had no title and it was taken from the first sentence."),
    Column("summary", Text, comment="Cleaned lead or abstract, when the input had one."),
    Column("body", Text, nullable=False,
           comment="Cleaned full text (Persian normalized, ZWNJ kept); the article page's text for full_text feeds."),
    Column("published_at", UTCDateTime, comment="Publication instant in UTC; NULL when unknown or not trusted."),
    Column("published_time_known", Boolean, nullable=False, server_default=text("false"),
           comment="False for a date-only value, stored as midnight of that day in Asia/Tehran."),
    Column("fetched_at", UTCDateTime, nullable=False, comment="When the article was first stored."),
    Column("updated_at", UTCDateTime, nullable=False, comment="When its content last changed (not touched by a no-op reload)."),
    Column("content_hash", String(64), nullable=False, comment="sha256 of the stored content; equal hash = nothing to write."),
    Column("meta", Doc, comment="Extra fields: agency, category, tags, date flags, origin location."),
    Column("cluster_id", BigInteger,
           comment="Near-duplicate cluster (wire copy across outlets): the id of the cluster's first article."),
    Column("search_doc", SearchVector,
           comment="to_tsvector('simple', fold_document(title, summary, body)): folded words, then each ZWNJ compound joined, then the stem of each inflected word marked with a kashida (ـخبرنگار for خبرنگاران); written by the loader (PostgreSQL)."),
    Column("raw_hash", String(32),
           comment="Hash of the input item and the cleaner version it was loaded with: a reload of the same input skips it uncleaned."),
    UniqueConstraint("source_id", "key", name="articles_source_key"),
    comment="One row per article per source.",
)
Index("sources_due", sources.c.next_attempt_at)
Index("articles_published_at", articles.c.published_at)
Index("articles_cluster", articles.c.cluster_id)
Index("articles_source_published", articles.c.source_id, articles.c.published_at)
Index("articles_source_raw_hash", articles.c.source_id, articles.c.raw_hash)
# A crawled page finds the row the feed stored for the same URL (under the feed's GUID key).
Index("articles_source_url", articles.c.source_id, articles.c.url)
# The articles that joined a near-duplicate cluster another article started (wire copies, about a
# tenth of the news): every cluster of two or more articles has one, so `stories` starts from
# these instead of grouping every article of the period (2.5 s at 1,000,000 articles).
JOINED = articles.c.cluster_id != articles.c.id
Index("articles_joined", articles.c.published_at, articles.c.cluster_id, articles.c.source_id,
      postgresql_where=JOINED, sqlite_where=JOINED)

ingest_runs = Table(
    "ingest_runs", metadata,
    Column("id", BigID, primary_key=True, comment="Run id: `news-etl errors --run ID`."),
    Column("kind", String(16), nullable=False, comment="'backfill', 'fetch', 'service' or 'crawl'."),
    Column("source_id", Integer, ForeignKey("sources.id"),
           comment="The source the run loaded into (sources.id)."),
    Column("status", String(16), nullable=False,
           comment="'running', 'ok', 'partial' (some items failed), 'failed' (the run stopped), 'aborted' (its process died mid-run)."),
    Column("started_at", UTCDateTime, nullable=False, comment="When the run started (UTC)."),
    Column("finished_at", UTCDateTime,
           comment="When it ended (UTC); NULL while running, or if the process was killed."),
    Column("seen", Integer, nullable=False, server_default=text("0"),
           comment="Items read (articles and failures)."),
    Column("new", Integer, nullable=False, server_default=text("0"),
           comment="Articles stored for the first time."),
    Column("updated", Integer, nullable=False, server_default=text("0"),
           comment="Articles whose content changed (the old version went to article_revisions)."),
    Column("unchanged", Integer, nullable=False, server_default=text("0"),
           comment="Articles already stored with the same content: nothing written."),
    Column("failed", Integer, nullable=False, server_default=text("0"),
           comment="Items that could not be loaded (see ingest_errors)."),
    Column("error", Text, comment="Why the run stopped, when it did."),
    Column("detail", Doc, comment="Inputs of the run (paths, options)."),
    comment="One row per run; counts are committed with each batch, so a killed run shows what it stored.",
)
Index("ingest_runs_source_started", ingest_runs.c.source_id, ingest_runs.c.started_at)

ingest_errors = Table(
    "ingest_errors", metadata,
    Column("id", BigID, primary_key=True, comment="Surrogate key."),
    Column("run_id", BigID, ForeignKey("ingest_runs.id"), nullable=False,
           comment="The run that met the failure (ingest_runs.id)."),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False,
           comment="The source of the failing item (sources.id)."),
    Column("location", Text, nullable=False, comment="Where the item is: 'dump.jsonl:17', 'a.zip!b.json#3', a URL."),
    Column("reason", Text, nullable=False, comment="Why the item was not loaded, one line."),
    Column("excerpt", Text, comment="The first bytes of the failing input, for inspection."),
    Column("created_at", UTCDateTime, nullable=False, comment="When the failure was recorded (UTC)."),
    comment="Items that could not be loaded, with their reason, for inspection and retry.",
)
Index("ingest_errors_run", ingest_errors.c.run_id)

article_revisions = Table(
    "article_revisions", metadata,
    Column("id", BigID, primary_key=True, comment="Surrogate key."),
    Column("article_id", BigID, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False,
           comment="The article (articles.id) this is an earlier version of."),
    Column("url", Text, comment="The article's URL in this version."),
    Column("title", Text, nullable=False, comment="Title in this version."),
    Column("summary", Text, comment="Summary in this version."),
    Column("body", Text, nullable=False, comment="Body in this version."),
    Column("published_at", UTCDateTime, comment="Publication instant in this version (UTC)."),
    Column("content_hash", String(64), nullable=False, comment="sha256 of this version's content."),
    Column("meta", Doc, comment="Extra fields of this version."),
    Column("stored_at", UTCDateTime, nullable=False, comment="When this version was stored (its updated_at)."),
    Column("replaced_at", UTCDateTime, nullable=False, comment="When a newer version replaced it."),
    comment="Earlier versions of edited articles; the current version is the row in articles.",
)
Index("article_revisions_article", article_revisions.c.article_id, article_revisions.c.replaced_at)

article_minhash = Table(
    "article_minhash", metadata,
    Column("article_id", BigID, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False,
           comment="The article (articles.id) the signature is of."),
    Column("signature", LargeBinary, nullable=False, comment="MinHash signature of the folded text (etl/clean/dedup.py)."),
    comment="Near-duplicate detection: one MinHash signature per article long enough to judge.",
)

article_lsh = Table(
    "article_lsh", metadata,
    Column("band", SmallInteger, nullable=False, comment="LSH band number (0-31)."),
    Column("bucket", BigInteger, nullable=False, comment="Hash of the signature's rows in that band."),
    # No foreign key: its per-row check cost as much as the rows themselves (32 per article);
    # the trigger ARTICLE_LSH_FORGET removes a deleted article's buckets instead.
    Column("article_id", BigID, nullable=False,
           comment="The article (articles.id) in the bucket; removed with it by the articles_forget_lsh trigger."),
    PrimaryKeyConstraint("band", "bucket", "article_id", name="article_lsh_pkey"),
    comment="LSH buckets of the MinHash signatures: a new article finds its candidates by index lookup.",
)

source_files = Table(
    "source_files", metadata,
    Column("id", BigID, primary_key=True, comment="Surrogate key."),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False,
           comment="The files source (sources.id) that loaded the file."),
    Column("path", Text, nullable=False, comment="The file's path as the service found it under the source's folder."),
    Column("size", BigInteger, nullable=False, comment="File size in bytes when it was last loaded."),
    Column("mtime", UTCDateTime, nullable=False, comment="Modification time when it was last loaded."),
    Column("sha256", String(64), nullable=False, comment="Hash of the bytes loaded; a touched file with the same hash is not reloaded."),
    Column("loaded_at", UTCDateTime, nullable=False, comment="When it was last loaded (UTC)."),
    UniqueConstraint("source_id", "path", name="source_files_source_path"),
    comment="Files a 'files' source has loaded, so the service loads only new or changed files, also after a restart.",
)

# The crawl's frontier (etl/load/frontier.py): every sitemap and article URL a crawl of a source has
# seen, with its state, so an interrupted crawl resumes without fetching anything twice.
crawl_sitemaps = Table(
    "crawl_sitemaps", metadata,
    Column("id", BigID, primary_key=True, comment="Sitemap id (crawl_pages.sitemap_id, parent_id)."),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False, comment="The crawled source (sources.id)."),
    Column("url", Text, nullable=False, comment="The sitemap's URL."),
    Column("parent_id", BigInteger, comment="The index that lists it; NULL for a sitemap found by discovery."),
    Column("position", Integer, nullable=False, server_default=text("0"), comment="Its place in the parent index."),
    Column("lastmod", UTCDateTime, comment="<lastmod> the parent index gives it."),
    Column("state", String(16), nullable=False, server_default=text("'pending'"),
           comment="'pending', 'done' (fetched and parsed) or 'failed'."),
    Column("kind", String(16), comment="'index' or 'urlset', once fetched."),
    Column("entries", Integer, comment="Sub-sitemaps or URLs it listed."),
    Column("oldest", UTCDateTime, comment="Earliest date among its entries (guides pruning of its siblings)."),
    Column("newest", UTCDateTime, comment="Latest date among its entries."),
    Column("fetched_at", UTCDateTime, comment="When it was last fetched (UTC)."),
    Column("error", Text, comment="Why the last fetch or parse failed."),
    Column("transient", Boolean, comment="Whether trying the failed sitemap again can help."),
    UniqueConstraint("source_id", "url", name="crawl_sitemaps_source_url"),
    comment="Sitemaps and sitemap indexes a crawl found, with their state.",
)

crawl_pages = Table(
    "crawl_pages", metadata,
    Column("id", BigID, primary_key=True, comment="Frontier entry id."),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False, comment="The crawled source (sources.id)."),
    Column("url", Text, nullable=False, comment="The article page's URL as the sitemap lists it."),
    Column("sitemap_id", BigInteger, comment="The sitemap that listed it."),
    Column("lastmod", UTCDateTime, comment="<lastmod> of its sitemap entry."),
    Column("date_from", UTCDateTime, comment="Start of its publication date as the sitemap says it "
           "(news:publication_date, else a date in the URL as a Tehran day)."),
    Column("date_to", UTCDateTime, comment="End (exclusive) of that date; equal to date_from for an exact time."),
    Column("state", String(16), nullable=False, server_default=text("'pending'"),
           comment="'pending', 'done' (stored), 'outside' (its page dates it outside the crawled range), 'disallowed' (robots.txt), 'failed'."),
    Column("attempts", Integer, nullable=False, server_default=text("0"), comment="Fetches tried so far."),
    Column("article_key", Text, comment="Key of the article it became (articles.key)."),
    Column("fetched_at", UTCDateTime, comment="When its page was fetched (UTC)."),
    Column("error", Text, comment="Why its fetch or extraction failed."),
    Column("transient", Boolean, comment="Whether trying the failed page again can help."),
    UniqueConstraint("source_id", "url", name="crawl_pages_source_url"),
    comment="Article URLs a crawl found in sitemaps, with their state: fetched pages are never fetched again.",
)
Index("crawl_pages_source_state", crawl_pages.c.source_id, crawl_pages.c.state, crawl_pages.c.date_from)

host_pace = Table(
    "host_pace", metadata,
    Column("host", Text, primary_key=True,
           comment="Lowercased host name of the URLs fetched (etl.fetch.addresses.url_host)."),
    Column("next_at", UTCDateTime, nullable=False,
           comment="No request to the host starts before then (per-host delay or its Retry-After), from any worker."),
    comment="The per-host minimum delay of the procrastinate executor's workers, shared through the database "
            "(etl/load/host_pace.py); the local executor keeps it in memory.",
)

sync_state = Table(
    "sync_state", metadata,
    Column("name", Text, primary_key=True, comment="What was synced: 'sources' (the sources file)."),
    Column("digest", Text, nullable=False, comment="Digest of what the sources table was last made to match."),
    Column("synced_at", UTCDateTime, nullable=False, comment="When (UTC)."),
    comment="Lets every command skip syncing an unchanged sources file (50,000 sources took seconds to compare).",
)

# Watches (etl/watches): saved searches matched against each committed batch, their hits written
# in the batch's own transaction (an outbox), and each hit's deliveries (etl/tasks/deliver.py).
watches = Table(
    "watches", metadata,
    Column("id", Integer, primary_key=True, comment="Surrogate key, referenced by watch_hits and watch_deliveries."),
    Column("name", String(64), nullable=False, unique=True, comment="The name used in the sources file's [[watches]]."),
    Column("query", Text, nullable=False, comment="The query as written, in `news-etl search`'s syntax."),
    Column("match", Text, nullable=False,
           comment="The query as this database matches it, built by etl/load/search.py: to_tsquery('simple', ...) "
                   "text on PostgreSQL, an FTS5 MATCH expression on SQLite."),
    Column("sources", Doc, comment="Only articles of these sources (a list of names); NULL: every source."),
    Column("agencies", Doc, comment="Only articles attributed to these agencies (meta.agency); NULL: any."),
    Column("on_update", Boolean, nullable=False, server_default=text("false"),
           comment="Also match articles whose content changes (an edited article that now matches)."),
    Column("webhook", Text, comment="The webhook address each hit (or digest) is posted to; NULL: none."),
    Column("email", Doc, comment="The addresses each hit (or digest) is mailed to (a list); NULL: none."),
    Column("settings", Doc, comment="The watch's table from the sources file, as last seen (no secret: only the "
                                    "name of the variable that holds it)."),
    Column("in_config", Boolean, nullable=False, server_default=text("true"),
           comment="False once the watch is removed from the sources file: it matches no more, its hits stay."),
    Column("created_at", UTCDateTime, nullable=False, comment="When the watch first appeared (UTC)."),
    Column("updated_at", UTCDateTime, nullable=False, comment="When its row last changed (UTC)."),
    comment="Saved searches declared in the sources file ([[watches]]), synced like sources.",
)

watch_hits = Table(
    "watch_hits", metadata,
    Column("id", BigID, primary_key=True, comment="Hit id, in the order hits were recorded."),
    # No foreign keys here nor in watch_deliveries: their per-row checks cost more than the rows
    # (bench/watches: 0.8 s of 1.4 s for 32,000 hits); a batch writes hits of rows it has just
    # written and watches it has just read, and the trigger WATCH_HITS_FORGET removes a deleted
    # article's hits and deliveries.
    Column("watch_id", Integer, nullable=False, comment="The watch (watches.id)."),
    Column("article_id", BigID, nullable=False,
           comment="The matching article (articles.id); removed with it by the articles_forget_watch_hits trigger."),
    Column("matched_at", UTCDateTime, nullable=False,
           comment="When the batch that stored (or changed) the article was loaded (UTC)."),
    Column("reason", String(16), nullable=False, comment="'new' (the article was added) or 'updated' (its content changed)."),
    UniqueConstraint("watch_id", "article_id", name="watch_hits_watch_article"),
    comment="The outbox: one row per (watch, article) that matched, written in the transaction that stored the "
            "article, so a killed process never loses a hit nor records one twice.",
)
Index("watch_hits_watch_id", watch_hits.c.watch_id, watch_hits.c.id)
Index("watch_hits_article", watch_hits.c.article_id)

watch_deliveries = Table(
    "watch_deliveries", metadata,
    Column("id", BigID, primary_key=True, comment="Surrogate key."),
    Column("hit_id", BigInteger, nullable=False, comment="The hit to deliver (watch_hits.id)."),
    Column("watch_id", Integer, nullable=False, comment="The hit's watch (watches.id)."),
    Column("channel", String(16), nullable=False, comment="'webhook' or 'email'."),
    Column("status", String(16), nullable=False, server_default=text("'pending'"),
           comment="'pending' (not delivered yet), 'sent' (the receiver accepted it), 'failed' (every attempt failed)."),
    Column("attempts", Integer, nullable=False, server_default=text("0"), comment="Attempts that failed so far."),
    Column("next_attempt_at", UTCDateTime,
           comment="Not tried before then: a retry's backoff, or the lease of the delivery task that is sending it."),
    Column("message", Text,
           comment="The digest this hit was grouped into (its Idempotency-Key); NULL for a hit sent alone."),
    Column("last_error", Text, comment="Why the last attempt failed, one line."),
    Column("finished_at", UTCDateTime, comment="When it was sent, or given up as failed (UTC)."),
    UniqueConstraint("hit_id", "channel", name="watch_deliveries_hit_channel"),
    comment="Each hit's delivery per channel, at least once, with retries (etl/tasks/deliver.py).",
)
Index("watch_deliveries_due", watch_deliveries.c.watch_id, watch_deliveries.c.channel, watch_deliveries.c.status)

# PostgreSQL search: a GIN index over the tsvector, trigrams on titles for partial words.
event.listen(metadata, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
for _ddl in (
    "CREATE INDEX articles_search ON articles USING gin (search_doc)",
    "CREATE INDEX articles_title_trgm ON articles USING gin (title gin_trgm_ops)",
):
    event.listen(articles, "after_create", DDL(_ddl).execute_if(dialect="postgresql"))
# SQLite search: FTS5 over the same folded text, keyed by the article id.
event.listen(articles, "after_create", DDL(
    "CREATE VIRTUAL TABLE articles_fts USING fts5(doc, tokenize = 'unicode61 remove_diacritics 0')"
).execute_if(dialect="sqlite"))

# Long text compresses and decompresses faster with lz4 than with the default pglz (PostgreSQL 14+).
def _lz4_available(ddl, target, bind, **_kw) -> bool:
    version = getattr(bind.dialect, "server_version_info", None)
    return version is None or version >= (14,)  # None: generating sql/schema.sql for PostgreSQL 14+


for _column in ("body", "summary", "search_doc"):
    event.listen(
        articles, "after_create",
        DDL(f"ALTER TABLE articles ALTER COLUMN {_column} SET COMPRESSION lz4")
        .execute_if(dialect="postgresql", callable_=_lz4_available),
    )

# Search reads the tsvector of every candidate it checks or ranks. Left to the default, a
# tsvector over 2 kB goes to the TOAST table, so each read is an index probe and two chunk
# fetches; kept in the row (compressed, moved out only if the row would exceed a page) it is
# read with the row's own page.
SEARCH_DOC_INLINE = "ALTER TABLE articles ALTER COLUMN search_doc SET STORAGE MAIN"
event.listen(articles, "after_create", DDL(SEARCH_DOC_INLINE).execute_if(dialect="postgresql"))

# What ON DELETE CASCADE did for article_lsh, once per statement: a deleted article takes its
# buckets along. (The loader removes an edited article's buckets itself, by primary key.)
ARTICLE_LSH_FORGET = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION article_lsh_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM article_lsh l USING gone g WHERE l.article_id = g.id;
    RETURN NULL;
END $$""",
        "CREATE TRIGGER articles_forget_lsh AFTER DELETE ON articles REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION article_lsh_forget()",
    ],
    "sqlite": [
        "CREATE TRIGGER articles_forget_lsh AFTER DELETE ON articles "
        "BEGIN DELETE FROM article_lsh WHERE article_id = OLD.id; END",
    ],
}
for _dialect, _statements in ARTICLE_LSH_FORGET.items():
    for _ddl in _statements:
        event.listen(metadata, "after_create", DDL(_ddl).execute_if(dialect=_dialect))

# PostgreSQL writes no WAL for the LSH buckets (derived from article_minhash, rebuilt after a
# server crash): etl/load/lshstate.py says why and how. The marker table says they are complete;
# a crash empties it with them. Creating or converting: they are complete (none yet, or all).
LSH_MARKER = "article_lsh_complete"
LSH_UNLOGGED = [
    "ALTER TABLE article_lsh SET UNLOGGED",
    f"CREATE UNLOGGED TABLE IF NOT EXISTS {LSH_MARKER} (complete boolean PRIMARY KEY CHECK (complete))",
    f"COMMENT ON TABLE {LSH_MARKER} IS 'One row while article_lsh holds the buckets of every stored signature; "
    "emptied with it by a server crash (both are unlogged), then the next writer rebuilds them.'",
    f"COMMENT ON COLUMN {LSH_MARKER}.complete IS 'Always true: the row itself is the mark.'",
    f"INSERT INTO {LSH_MARKER} VALUES (true) ON CONFLICT DO NOTHING",
]
for _ddl in LSH_UNLOGGED:
    event.listen(metadata, "after_create", DDL(_ddl).execute_if(dialect="postgresql"))

# What ON DELETE CASCADE would do for watch_hits and watch_deliveries, once per statement: a
# deleted article takes its hits and their deliveries along.
WATCH_HITS_FORGET = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION watch_hits_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watch_deliveries d USING watch_hits h, gone g WHERE d.hit_id = h.id AND h.article_id = g.id;
    DELETE FROM watch_hits h USING gone g WHERE h.article_id = g.id;
    RETURN NULL;
END $$""",
        "CREATE TRIGGER articles_forget_watch_hits AFTER DELETE ON articles REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION watch_hits_forget()",
    ],
    "sqlite": [
        "CREATE TRIGGER articles_forget_watch_hits AFTER DELETE ON articles BEGIN "
        "DELETE FROM watch_deliveries WHERE hit_id IN (SELECT id FROM watch_hits WHERE article_id = OLD.id); "
        "DELETE FROM watch_hits WHERE article_id = OLD.id; END",
    ],
}
for _dialect, _statements in WATCH_HITS_FORGET.items():
    for _ddl in _statements:
        event.listen(metadata, "after_create", DDL(_ddl).execute_if(dialect=_dialect))
