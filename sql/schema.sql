-- news-etl PostgreSQL schema, version 16.
-- GENERATED from etl/load/schema.py by `news-etl db schema > sql/schema.sql`; do not edit by hand.
-- `news-etl db upgrade` creates or upgrades a database (every command also does it on start).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE schema_migrations (
	version INTEGER NOT NULL, 
	description TEXT NOT NULL, 
	applied_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (version)
);

COMMENT ON TABLE schema_migrations IS 'One row per applied schema version; `news-etl db upgrade` applies the missing ones.';

COMMENT ON COLUMN schema_migrations.version IS 'Schema version applied (etl/load/schema.py SCHEMA_VERSION).';

COMMENT ON COLUMN schema_migrations.description IS 'What the version added.';

COMMENT ON COLUMN schema_migrations.applied_at IS 'When it was applied (UTC).';

CREATE TABLE sources (
	id SERIAL NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	url TEXT, 
	path TEXT, 
	enabled BOOLEAN DEFAULT true NOT NULL, 
	in_config BOOLEAN DEFAULT true NOT NULL, 
	settings JSONB, 
	etag TEXT, 
	last_modified TEXT, 
	last_fetch_at TIMESTAMP WITH TIME ZONE, 
	last_success_at TIMESTAMP WITH TIME ZONE, 
	last_status INTEGER, 
	consecutive_failures INTEGER DEFAULT 0 NOT NULL, 
	last_error TEXT, 
	blocked_by TEXT, 
	next_attempt_at TIMESTAMP WITH TIME ZONE, 
	items_seen BIGINT DEFAULT 0 NOT NULL, 
	lease_until TIMESTAMP WITH TIME ZONE, 
	lease_owner TEXT, 
	last_delay FLOAT, 
	database_failures INTEGER DEFAULT 0 NOT NULL, 
	crawl_next_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT sources_kind_check CHECK (kind IN ('feed', 'files', 'site')), 
	UNIQUE (name)
);

CREATE INDEX sources_due ON sources (next_attempt_at);

COMMENT ON TABLE sources IS 'One row per source, keyed by name, holding its fetch state.';

COMMENT ON COLUMN sources.id IS 'Surrogate key, referenced by articles, ingest_runs and ingest_errors.';

COMMENT ON COLUMN sources.name IS 'The name used in config/sources.toml.';

COMMENT ON COLUMN sources.kind IS '''feed'', ''files'' or ''site'' (crawled through its sitemaps).';

COMMENT ON COLUMN sources.url IS 'Feed URL (kind ''feed'') or site root (kind ''site'').';

COMMENT ON COLUMN sources.path IS 'Folder or file (kind ''files'').';

COMMENT ON COLUMN sources.enabled IS 'False keeps the source and its articles but stops fetching it (enabled = false in the sources file).';

COMMENT ON COLUMN sources.in_config IS 'False once the source is removed from the sources file or was created by a backfill; its articles stay.';

COMMENT ON COLUMN sources.settings IS 'The source''s table from the sources file, as last seen.';

COMMENT ON COLUMN sources.etag IS 'ETag validator from the last successful fetch (conditional GET).';

COMMENT ON COLUMN sources.last_modified IS 'Last-Modified validator from the last successful fetch.';

COMMENT ON COLUMN sources.last_fetch_at IS 'When the last fetch or files pass ended, successful or not (UTC).';

COMMENT ON COLUMN sources.last_success_at IS 'When the last successful fetch or files pass ended (UTC); NULL if none yet.';

COMMENT ON COLUMN sources.last_status IS 'HTTP status of the last fetch.';

COMMENT ON COLUMN sources.consecutive_failures IS 'Failed passes in a row; 0 after a success. `news-etl status` calls a source failing at 3 (--max-failures).';

COMMENT ON COLUMN sources.last_error IS 'One-line reason of the last failed pass; NULL after a success (a readable but malformed feed keeps its warning).';

COMMENT ON COLUMN sources.blocked_by IS 'The bot wall (its vendor: ''ArvanCloud'', ''Cloudflare'', ... or ''unknown'') that answered the last failed pass instead of the site; NULL after any other outcome (etl/fetch/walls.py).';

COMMENT ON COLUMN sources.next_attempt_at IS 'When the service will next fetch this source.';

COMMENT ON COLUMN sources.items_seen IS 'Items seen over all passes (feed entries or file records).';

COMMENT ON COLUMN sources.lease_until IS 'Claimed by a dispatcher of the procrastinate executor until then (etl/load/schedule.py); NULL or past: free.';

COMMENT ON COLUMN sources.lease_owner IS 'Who holds the lease (dispatcher name), for operators.';

COMMENT ON COLUMN sources.last_delay IS 'Seconds of the last healthy delay (adaptive polling), so the schedule moves between machines.';

COMMENT ON COLUMN sources.database_failures IS 'Passes in a row the database refused (not the source''s fault: they back off, they do not count as failures); 0 after any other outcome (etl/tasks/due.py).';

COMMENT ON COLUMN sources.crawl_next_at IS 'When the scheduled crawl of a feed source with crawl = {...} runs next (a site source''s crawl is its pass: next_attempt_at).';

COMMENT ON COLUMN sources.created_at IS 'When the source first appeared (UTC).';

COMMENT ON COLUMN sources.updated_at IS 'When its row last changed (UTC).';

CREATE TABLE article_lsh (
	band SMALLINT NOT NULL, 
	bucket BIGINT NOT NULL, 
	article_id BIGINT NOT NULL, 
	CONSTRAINT article_lsh_pkey PRIMARY KEY (band, bucket, article_id)
);

COMMENT ON TABLE article_lsh IS 'LSH buckets of the MinHash signatures: a new article finds its candidates by index lookup.';

COMMENT ON COLUMN article_lsh.band IS 'LSH band number (0-31).';

COMMENT ON COLUMN article_lsh.bucket IS 'Hash of the signature''s rows in that band.';

COMMENT ON COLUMN article_lsh.article_id IS 'The article (articles.id) in the bucket; removed with it by the articles_forget_lsh trigger.';

CREATE TABLE host_pace (
	host TEXT NOT NULL, 
	next_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (host)
);

COMMENT ON TABLE host_pace IS 'The per-host minimum delay of the procrastinate executor''s workers, shared through the database (etl/load/host_pace.py); the local executor keeps it in memory.';

COMMENT ON COLUMN host_pace.host IS 'Lowercased host name of the URLs fetched (etl.fetch.addresses.url_host).';

COMMENT ON COLUMN host_pace.next_at IS 'No request to the host starts before then (per-host delay or its Retry-After), from any worker.';

CREATE TABLE sync_state (
	name TEXT NOT NULL, 
	digest TEXT NOT NULL, 
	synced_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (name)
);

COMMENT ON TABLE sync_state IS 'Lets every command skip syncing an unchanged sources file (50,000 sources took seconds to compare).';

COMMENT ON COLUMN sync_state.name IS 'What was synced: ''sources'' (the sources file).';

COMMENT ON COLUMN sync_state.digest IS 'Digest of what the sources table was last made to match.';

COMMENT ON COLUMN sync_state.synced_at IS 'When (UTC).';

CREATE TABLE watches (
	id SERIAL NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	query TEXT NOT NULL, 
	match TEXT NOT NULL, 
	sources JSONB, 
	agencies JSONB, 
	on_update BOOLEAN DEFAULT false NOT NULL, 
	webhook TEXT, 
	email JSONB, 
	settings JSONB, 
	in_config BOOLEAN DEFAULT true NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

COMMENT ON TABLE watches IS 'Saved searches declared in the sources file ([[watches]]), synced like sources.';

COMMENT ON COLUMN watches.id IS 'Surrogate key, referenced by watch_hits and watch_deliveries.';

COMMENT ON COLUMN watches.name IS 'The name used in the sources file''s [[watches]].';

COMMENT ON COLUMN watches.query IS 'The query as written, in `news-etl search`''s syntax.';

COMMENT ON COLUMN watches.match IS 'The query as this database matches it, built by etl/load/search.py: to_tsquery(''simple'', ...) text on PostgreSQL, an FTS5 MATCH expression on SQLite.';

COMMENT ON COLUMN watches.sources IS 'Only articles of these sources (a list of names); NULL: every source.';

COMMENT ON COLUMN watches.agencies IS 'Only articles attributed to these agencies (meta.agency); NULL: any.';

COMMENT ON COLUMN watches.on_update IS 'Also match articles whose content changes (an edited article that now matches).';

COMMENT ON COLUMN watches.webhook IS 'The webhook address each hit (or digest) is posted to; NULL: none.';

COMMENT ON COLUMN watches.email IS 'The addresses each hit (or digest) is mailed to (a list); NULL: none.';

COMMENT ON COLUMN watches.settings IS 'The watch''s table from the sources file, as last seen (no secret: only the name of the variable that holds it).';

COMMENT ON COLUMN watches.in_config IS 'False once the watch is removed from the sources file: it matches no more, its hits stay.';

COMMENT ON COLUMN watches.created_at IS 'When the watch first appeared (UTC).';

COMMENT ON COLUMN watches.updated_at IS 'When its row last changed (UTC).';

CREATE TABLE watch_hits (
	id BIGSERIAL NOT NULL, 
	watch_id INTEGER NOT NULL, 
	article_id BIGINT NOT NULL, 
	matched_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	reason VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT watch_hits_watch_article UNIQUE (watch_id, article_id)
);

CREATE INDEX watch_hits_article ON watch_hits (article_id);

CREATE INDEX watch_hits_watch_id ON watch_hits (watch_id, id);

COMMENT ON TABLE watch_hits IS 'The outbox: one row per (watch, article) that matched, written in the transaction that stored the article, so a killed process never loses a hit nor records one twice.';

COMMENT ON COLUMN watch_hits.id IS 'Hit id, in the order hits were recorded.';

COMMENT ON COLUMN watch_hits.watch_id IS 'The watch (watches.id).';

COMMENT ON COLUMN watch_hits.article_id IS 'The matching article (articles.id); removed with it by the articles_forget_watch_hits trigger.';

COMMENT ON COLUMN watch_hits.matched_at IS 'When the batch that stored (or changed) the article was loaded (UTC).';

COMMENT ON COLUMN watch_hits.reason IS '''new'' (the article was added) or ''updated'' (its content changed).';

CREATE TABLE watch_deliveries (
	id BIGSERIAL NOT NULL, 
	hit_id BIGINT NOT NULL, 
	watch_id INTEGER NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	next_attempt_at TIMESTAMP WITH TIME ZONE, 
	message TEXT, 
	last_error TEXT, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT watch_deliveries_hit_channel UNIQUE (hit_id, channel)
);

CREATE INDEX watch_deliveries_due ON watch_deliveries (watch_id, channel, status);

COMMENT ON TABLE watch_deliveries IS 'Each hit''s delivery per channel, at least once, with retries (etl/tasks/deliver.py).';

COMMENT ON COLUMN watch_deliveries.id IS 'Surrogate key.';

COMMENT ON COLUMN watch_deliveries.hit_id IS 'The hit to deliver (watch_hits.id).';

COMMENT ON COLUMN watch_deliveries.watch_id IS 'The hit''s watch (watches.id).';

COMMENT ON COLUMN watch_deliveries.channel IS '''webhook'' or ''email''.';

COMMENT ON COLUMN watch_deliveries.status IS '''pending'' (not delivered yet), ''sent'' (the receiver accepted it), ''failed'' (every attempt failed).';

COMMENT ON COLUMN watch_deliveries.attempts IS 'Attempts that failed so far.';

COMMENT ON COLUMN watch_deliveries.next_attempt_at IS 'Not tried before then: a retry''s backoff, or the lease of the delivery task that is sending it.';

COMMENT ON COLUMN watch_deliveries.message IS 'The digest this hit was grouped into (its Idempotency-Key); NULL for a hit sent alone.';

COMMENT ON COLUMN watch_deliveries.last_error IS 'Why the last attempt failed, one line.';

COMMENT ON COLUMN watch_deliveries.finished_at IS 'When it was sent, or given up as failed (UTC).';

CREATE TABLE articles (
	id BIGSERIAL NOT NULL, 
	source_id INTEGER NOT NULL, 
	key TEXT NOT NULL, 
	url TEXT, 
	title TEXT NOT NULL, 
	title_derived BOOLEAN DEFAULT false NOT NULL, 
	summary TEXT, 
	body TEXT NOT NULL, 
	published_at TIMESTAMP WITH TIME ZONE, 
	published_time_known BOOLEAN DEFAULT false NOT NULL, 
	fetched_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	meta JSONB, 
	cluster_id BIGINT, 
	search_doc TSVECTOR, 
	raw_hash VARCHAR(32), 
	PRIMARY KEY (id), 
	CONSTRAINT articles_source_key UNIQUE (source_id, key), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

CREATE INDEX articles_cluster ON articles (cluster_id);

CREATE INDEX articles_joined ON articles (published_at, cluster_id, source_id) WHERE cluster_id != id;

CREATE INDEX articles_published_at ON articles (published_at);

CREATE INDEX articles_source_published ON articles (source_id, published_at);

CREATE INDEX articles_source_raw_hash ON articles (source_id, raw_hash);

CREATE INDEX articles_source_url ON articles (source_id, url);

COMMENT ON TABLE articles IS 'One row per article per source.';

COMMENT ON COLUMN articles.id IS 'Surrogate key: `news-etl show ID`; cluster_id values are ids of this table.';

COMMENT ON COLUMN articles.source_id IS 'The source (sources.id) the article was loaded from; the natural key is unique within it.';

COMMENT ON COLUMN articles.key IS 'Natural key within the source: ''guid:…'', ''url:…'' (canonical URL) or ''hash:…'' (normalized title and body).';

COMMENT ON COLUMN articles.url IS 'Canonical article URL, when known.';

COMMENT ON COLUMN articles.title IS 'Cleaned title (HTML removed, Persian normalized, ZWNJ kept); derived from the first sentence when title_derived.';

COMMENT ON COLUMN articles.title_derived IS 'True when the input had no title and it was taken from the first sentence.';

COMMENT ON COLUMN articles.summary IS 'Cleaned lead or abstract, when the input had one.';

COMMENT ON COLUMN articles.body IS 'Cleaned full text (Persian normalized, ZWNJ kept); the article page''s text for full_text feeds.';

COMMENT ON COLUMN articles.published_at IS 'Publication instant in UTC; NULL when unknown or not trusted.';

COMMENT ON COLUMN articles.published_time_known IS 'False for a date-only value, stored as midnight of that day in Asia/Tehran.';

COMMENT ON COLUMN articles.fetched_at IS 'When the article was first stored.';

COMMENT ON COLUMN articles.updated_at IS 'When its content last changed (not touched by a no-op reload).';

COMMENT ON COLUMN articles.content_hash IS 'sha256 of the stored content; equal hash = nothing to write.';

COMMENT ON COLUMN articles.meta IS 'Extra fields: agency, category, tags, date flags, origin location.';

COMMENT ON COLUMN articles.cluster_id IS 'Near-duplicate cluster (wire copy across outlets): the id of the cluster''s first article.';

COMMENT ON COLUMN articles.search_doc IS 'to_tsvector(''simple'', fold_document(title, summary, body)): folded words, then each ZWNJ compound joined, then the stem of each inflected word marked with a kashida (ـخبرنگار for خبرنگاران); written by the loader (PostgreSQL).';

COMMENT ON COLUMN articles.raw_hash IS 'Hash of the input item and the cleaner version it was loaded with: a reload of the same input skips it uncleaned.';

CREATE INDEX articles_search ON articles USING gin (search_doc);

CREATE INDEX articles_title_trgm ON articles USING gin (title gin_trgm_ops);

ALTER TABLE articles ALTER COLUMN body SET COMPRESSION lz4;

ALTER TABLE articles ALTER COLUMN summary SET COMPRESSION lz4;

ALTER TABLE articles ALTER COLUMN search_doc SET COMPRESSION lz4;

ALTER TABLE articles ALTER COLUMN search_doc SET STORAGE MAIN;

CREATE TABLE article_day_counts (
    day DATE NOT NULL,
    source_id INTEGER NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    articles INTEGER NOT NULL,
    PRIMARY KEY (day, source_id, agency)
);

COMMENT ON TABLE article_day_counts IS 'Dated articles per Tehran day, source and agency, kept exact by the articles_day_counts_* triggers: the totals of news-etl trends.';

COMMENT ON COLUMN article_day_counts.day IS 'The Tehran calendar day of published_at (Asia/Tehran, with its history).';

COMMENT ON COLUMN article_day_counts.source_id IS 'The source (sources.id).';

COMMENT ON COLUMN article_day_counts.agency IS 'meta.agency, the agency the lead credits; empty when none.';

COMMENT ON COLUMN article_day_counts.articles IS 'How many articles (0 once all were moved or deleted).';

CREATE OR REPLACE FUNCTION article_day_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO article_day_counts AS c (day, source_id, agency, articles)
        SELECT (published_at AT TIME ZONE 'Asia/Tehran')::date, source_id, coalesce(meta->>'agency', ''), -count(*) FROM gone WHERE published_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, source_id, agency) DO UPDATE SET articles = c.articles + EXCLUDED.articles;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO article_day_counts AS c (day, source_id, agency, articles)
        SELECT (published_at AT TIME ZONE 'Asia/Tehran')::date, source_id, coalesce(meta->>'agency', ''), count(*) FROM added WHERE published_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, source_id, agency) DO UPDATE SET articles = c.articles + EXCLUDED.articles;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_day_counts_insert AFTER INSERT ON articles REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION article_day_counts_apply();

CREATE TRIGGER articles_day_counts_update AFTER UPDATE ON articles REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION article_day_counts_apply();

CREATE TRIGGER articles_day_counts_delete AFTER DELETE ON articles REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION article_day_counts_apply();

CREATE TABLE IF NOT EXISTS counted_queries (
    query TEXT PRIMARY KEY,
    tsquery TSQUERY NOT NULL,
    typed TEXT NOT NULL,
    counted_at TIMESTAMP WITH TIME ZONE NOT NULL
);

COMMENT ON TABLE counted_queries IS 'The queries whose matching articles per day are counted ahead (query_day_counts): news-etl db precount.';

COMMENT ON COLUMN counted_queries.query IS 'The to_tsquery text search matches with (etl/load/search.py match_text).';

COMMENT ON COLUMN counted_queries.tsquery IS 'to_tsquery(''simple'', query), what the triggers match each article with.';

COMMENT ON COLUMN counted_queries.typed IS 'The query as the operator typed it.';

COMMENT ON COLUMN counted_queries.counted_at IS 'When its counts were first filled (UTC).';

CREATE TABLE IF NOT EXISTS query_day_counts (
    query TEXT NOT NULL REFERENCES counted_queries (query) ON DELETE CASCADE,
    day DATE NOT NULL,
    source_id INTEGER NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    articles INTEGER NOT NULL,
    PRIMARY KEY (query, day, source_id, agency)
);

COMMENT ON TABLE query_day_counts IS 'Dated articles matching each counted query per Tehran day, source and agency, kept exact by the articles_query_day_counts_* triggers: what news-etl trends reads for them.';

COMMENT ON COLUMN query_day_counts.query IS 'The counted query (counted_queries.query).';

COMMENT ON COLUMN query_day_counts.day IS 'The Tehran calendar day of published_at (Asia/Tehran, with its history).';

COMMENT ON COLUMN query_day_counts.source_id IS 'The source (sources.id).';

COMMENT ON COLUMN query_day_counts.agency IS 'meta.agency, the agency the lead credits; empty when none.';

COMMENT ON COLUMN query_day_counts.articles IS 'How many of its articles match (0 once all were moved, edited or deleted).';

CREATE OR REPLACE FUNCTION query_day_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most databases count no query ahead: a write then costs one probe of an empty table.
    IF NOT EXISTS (SELECT 1 FROM counted_queries) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO query_day_counts AS c (query, day, source_id, agency, articles)
        SELECT q.query, (a.published_at AT TIME ZONE 'Asia/Tehran')::date, a.source_id,
               coalesce(a.meta->>'agency', ''), -count(*)
        FROM gone a JOIN counted_queries q ON a.search_doc @@ q.tsquery WHERE a.published_at IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (query, day, source_id, agency) DO UPDATE SET articles = c.articles + EXCLUDED.articles;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO query_day_counts AS c (query, day, source_id, agency, articles)
        SELECT q.query, (a.published_at AT TIME ZONE 'Asia/Tehran')::date, a.source_id,
               coalesce(a.meta->>'agency', ''), count(*)
        FROM added a JOIN counted_queries q ON a.search_doc @@ q.tsquery WHERE a.published_at IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (query, day, source_id, agency) DO UPDATE SET articles = c.articles + EXCLUDED.articles;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_query_day_counts_insert AFTER INSERT ON articles REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION query_day_counts_apply();

CREATE TRIGGER articles_query_day_counts_update AFTER UPDATE ON articles REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION query_day_counts_apply();

CREATE TRIGGER articles_query_day_counts_delete AFTER DELETE ON articles REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION query_day_counts_apply();

CREATE TABLE ingest_runs (
	id BIGSERIAL NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	source_id INTEGER, 
	status VARCHAR(16) NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	seen INTEGER DEFAULT 0 NOT NULL, 
	"new" INTEGER DEFAULT 0 NOT NULL, 
	updated INTEGER DEFAULT 0 NOT NULL, 
	unchanged INTEGER DEFAULT 0 NOT NULL, 
	failed INTEGER DEFAULT 0 NOT NULL, 
	error TEXT, 
	detail JSONB, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

CREATE INDEX ingest_runs_source_started ON ingest_runs (source_id, started_at);

COMMENT ON TABLE ingest_runs IS 'One row per run; counts are committed with each batch, so a killed run shows what it stored.';

COMMENT ON COLUMN ingest_runs.id IS 'Run id: `news-etl errors --run ID`.';

COMMENT ON COLUMN ingest_runs.kind IS '''backfill'', ''fetch'', ''service'' or ''crawl''.';

COMMENT ON COLUMN ingest_runs.source_id IS 'The source the run loaded into (sources.id).';

COMMENT ON COLUMN ingest_runs.status IS '''running'', ''ok'', ''partial'' (some items failed), ''failed'' (the run stopped), ''aborted'' (its process died mid-run).';

COMMENT ON COLUMN ingest_runs.started_at IS 'When the run started (UTC).';

COMMENT ON COLUMN ingest_runs.finished_at IS 'When it ended (UTC); NULL while running, or if the process was killed.';

COMMENT ON COLUMN ingest_runs.seen IS 'Items read (articles and failures).';

COMMENT ON COLUMN ingest_runs."new" IS 'Articles stored for the first time.';

COMMENT ON COLUMN ingest_runs.updated IS 'Articles whose content changed (the old version went to article_revisions).';

COMMENT ON COLUMN ingest_runs.unchanged IS 'Articles already stored with the same content: nothing written.';

COMMENT ON COLUMN ingest_runs.failed IS 'Items that could not be loaded (see ingest_errors).';

COMMENT ON COLUMN ingest_runs.error IS 'Why the run stopped, when it did.';

COMMENT ON COLUMN ingest_runs.detail IS 'Inputs of the run (paths, options).';

CREATE TABLE source_files (
	id BIGSERIAL NOT NULL, 
	source_id INTEGER NOT NULL, 
	path TEXT NOT NULL, 
	size BIGINT NOT NULL, 
	mtime TIMESTAMP WITH TIME ZONE NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	loaded_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT source_files_source_path UNIQUE (source_id, path), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

COMMENT ON TABLE source_files IS 'Files a ''files'' source has loaded, so the service loads only new or changed files, also after a restart.';

COMMENT ON COLUMN source_files.id IS 'Surrogate key.';

COMMENT ON COLUMN source_files.source_id IS 'The files source (sources.id) that loaded the file.';

COMMENT ON COLUMN source_files.path IS 'The file''s path as the service found it under the source''s folder.';

COMMENT ON COLUMN source_files.size IS 'File size in bytes when it was last loaded.';

COMMENT ON COLUMN source_files.mtime IS 'Modification time when it was last loaded.';

COMMENT ON COLUMN source_files.sha256 IS 'Hash of the bytes loaded; a touched file with the same hash is not reloaded.';

COMMENT ON COLUMN source_files.loaded_at IS 'When it was last loaded (UTC).';

CREATE TABLE crawl_sitemaps (
	id BIGSERIAL NOT NULL, 
	source_id INTEGER NOT NULL, 
	url TEXT NOT NULL, 
	parent_id BIGINT, 
	position INTEGER DEFAULT 0 NOT NULL, 
	lastmod TIMESTAMP WITH TIME ZONE, 
	state VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	kind VARCHAR(16), 
	entries INTEGER, 
	oldest TIMESTAMP WITH TIME ZONE, 
	newest TIMESTAMP WITH TIME ZONE, 
	fetched_at TIMESTAMP WITH TIME ZONE, 
	error TEXT, 
	transient BOOLEAN, 
	PRIMARY KEY (id), 
	CONSTRAINT crawl_sitemaps_source_url UNIQUE (source_id, url), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

COMMENT ON TABLE crawl_sitemaps IS 'Sitemaps and sitemap indexes a crawl found, with their state.';

COMMENT ON COLUMN crawl_sitemaps.id IS 'Sitemap id (crawl_pages.sitemap_id, parent_id).';

COMMENT ON COLUMN crawl_sitemaps.source_id IS 'The crawled source (sources.id).';

COMMENT ON COLUMN crawl_sitemaps.url IS 'The sitemap''s URL.';

COMMENT ON COLUMN crawl_sitemaps.parent_id IS 'The index that lists it; NULL for a sitemap found by discovery.';

COMMENT ON COLUMN crawl_sitemaps.position IS 'Its place in the parent index.';

COMMENT ON COLUMN crawl_sitemaps.lastmod IS '<lastmod> the parent index gives it.';

COMMENT ON COLUMN crawl_sitemaps.state IS '''pending'', ''done'' (fetched and parsed) or ''failed''.';

COMMENT ON COLUMN crawl_sitemaps.kind IS '''index'' or ''urlset'', once fetched.';

COMMENT ON COLUMN crawl_sitemaps.entries IS 'Sub-sitemaps or URLs it listed.';

COMMENT ON COLUMN crawl_sitemaps.oldest IS 'Earliest date among its entries (guides pruning of its siblings).';

COMMENT ON COLUMN crawl_sitemaps.newest IS 'Latest date among its entries.';

COMMENT ON COLUMN crawl_sitemaps.fetched_at IS 'When it was last fetched (UTC).';

COMMENT ON COLUMN crawl_sitemaps.error IS 'Why the last fetch or parse failed.';

COMMENT ON COLUMN crawl_sitemaps.transient IS 'Whether trying the failed sitemap again can help.';

CREATE TABLE crawl_pages (
	id BIGSERIAL NOT NULL, 
	source_id INTEGER NOT NULL, 
	url TEXT NOT NULL, 
	sitemap_id BIGINT, 
	lastmod TIMESTAMP WITH TIME ZONE, 
	date_from TIMESTAMP WITH TIME ZONE, 
	date_to TIMESTAMP WITH TIME ZONE, 
	state VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	article_key TEXT, 
	fetched_at TIMESTAMP WITH TIME ZONE, 
	error TEXT, 
	transient BOOLEAN, 
	PRIMARY KEY (id), 
	CONSTRAINT crawl_pages_source_url UNIQUE (source_id, url), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

CREATE INDEX crawl_pages_source_state ON crawl_pages (source_id, state, date_from);

COMMENT ON TABLE crawl_pages IS 'Article URLs a crawl found in sitemaps, with their state: fetched pages are never fetched again.';

COMMENT ON COLUMN crawl_pages.id IS 'Frontier entry id.';

COMMENT ON COLUMN crawl_pages.source_id IS 'The crawled source (sources.id).';

COMMENT ON COLUMN crawl_pages.url IS 'The article page''s URL as the sitemap lists it.';

COMMENT ON COLUMN crawl_pages.sitemap_id IS 'The sitemap that listed it.';

COMMENT ON COLUMN crawl_pages.lastmod IS '<lastmod> of its sitemap entry.';

COMMENT ON COLUMN crawl_pages.date_from IS 'Start of its publication date as the sitemap says it (news:publication_date, else a date in the URL as a Tehran day).';

COMMENT ON COLUMN crawl_pages.date_to IS 'End (exclusive) of that date; equal to date_from for an exact time.';

COMMENT ON COLUMN crawl_pages.state IS '''pending'', ''done'' (stored), ''outside'' (its page dates it outside the crawled range), ''disallowed'' (robots.txt), ''failed''.';

COMMENT ON COLUMN crawl_pages.attempts IS 'Fetches tried so far.';

COMMENT ON COLUMN crawl_pages.article_key IS 'Key of the article it became (articles.key).';

COMMENT ON COLUMN crawl_pages.fetched_at IS 'When its page was fetched (UTC).';

COMMENT ON COLUMN crawl_pages.error IS 'Why its fetch or extraction failed.';

COMMENT ON COLUMN crawl_pages.transient IS 'Whether trying the failed page again can help.';

CREATE TABLE ingest_errors (
	id BIGSERIAL NOT NULL, 
	run_id BIGINT NOT NULL, 
	source_id INTEGER NOT NULL, 
	location TEXT NOT NULL, 
	reason TEXT NOT NULL, 
	excerpt TEXT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES ingest_runs (id), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

CREATE INDEX ingest_errors_run ON ingest_errors (run_id);

COMMENT ON TABLE ingest_errors IS 'Items that could not be loaded, with their reason, for inspection and retry.';

COMMENT ON COLUMN ingest_errors.id IS 'Surrogate key.';

COMMENT ON COLUMN ingest_errors.run_id IS 'The run that met the failure (ingest_runs.id).';

COMMENT ON COLUMN ingest_errors.source_id IS 'The source of the failing item (sources.id).';

COMMENT ON COLUMN ingest_errors.location IS 'Where the item is: ''dump.jsonl:17'', ''a.zip!b.json#3'', a URL.';

COMMENT ON COLUMN ingest_errors.reason IS 'Why the item was not loaded, one line.';

COMMENT ON COLUMN ingest_errors.excerpt IS 'The first bytes of the failing input, for inspection.';

COMMENT ON COLUMN ingest_errors.created_at IS 'When the failure was recorded (UTC).';

CREATE TABLE article_revisions (
	id BIGSERIAL NOT NULL, 
	article_id BIGINT NOT NULL, 
	url TEXT, 
	title TEXT NOT NULL, 
	summary TEXT, 
	body TEXT NOT NULL, 
	published_at TIMESTAMP WITH TIME ZONE, 
	content_hash VARCHAR(64) NOT NULL, 
	meta JSONB, 
	stored_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	replaced_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(article_id) REFERENCES articles (id) ON DELETE CASCADE
);

CREATE INDEX article_revisions_article ON article_revisions (article_id, replaced_at);

COMMENT ON TABLE article_revisions IS 'Earlier versions of edited articles; the current version is the row in articles.';

COMMENT ON COLUMN article_revisions.id IS 'Surrogate key.';

COMMENT ON COLUMN article_revisions.article_id IS 'The article (articles.id) this is an earlier version of.';

COMMENT ON COLUMN article_revisions.url IS 'The article''s URL in this version.';

COMMENT ON COLUMN article_revisions.title IS 'Title in this version.';

COMMENT ON COLUMN article_revisions.summary IS 'Summary in this version.';

COMMENT ON COLUMN article_revisions.body IS 'Body in this version.';

COMMENT ON COLUMN article_revisions.published_at IS 'Publication instant in this version (UTC).';

COMMENT ON COLUMN article_revisions.content_hash IS 'sha256 of this version''s content.';

COMMENT ON COLUMN article_revisions.meta IS 'Extra fields of this version.';

COMMENT ON COLUMN article_revisions.stored_at IS 'When this version was stored (its updated_at).';

COMMENT ON COLUMN article_revisions.replaced_at IS 'When a newer version replaced it.';

CREATE TABLE article_minhash (
	article_id BIGINT NOT NULL, 
	signature BYTEA NOT NULL, 
	PRIMARY KEY (article_id), 
	FOREIGN KEY(article_id) REFERENCES articles (id) ON DELETE CASCADE
);

COMMENT ON TABLE article_minhash IS 'Near-duplicate detection: one MinHash signature per article long enough to judge.';

COMMENT ON COLUMN article_minhash.article_id IS 'The article (articles.id) the signature is of.';

COMMENT ON COLUMN article_minhash.signature IS 'MinHash signature of the folded text (etl/clean/dedup.py).';

CREATE OR REPLACE FUNCTION article_lsh_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM article_lsh l USING gone g WHERE l.article_id = g.id;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_forget_lsh AFTER DELETE ON articles REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION article_lsh_forget();

ALTER TABLE article_lsh SET UNLOGGED;

CREATE UNLOGGED TABLE IF NOT EXISTS article_lsh_complete (complete boolean PRIMARY KEY CHECK (complete));

COMMENT ON TABLE article_lsh_complete IS 'One row while article_lsh holds the buckets of every stored signature; emptied with it by a server crash (both are unlogged), then the next writer rebuilds them.';

COMMENT ON COLUMN article_lsh_complete.complete IS 'Always true: the row itself is the mark.';

INSERT INTO article_lsh_complete VALUES (true) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION watch_hits_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watch_deliveries d USING watch_hits h, gone g WHERE d.hit_id = h.id AND h.article_id = g.id;
    DELETE FROM watch_hits h USING gone g WHERE h.article_id = g.id;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_forget_watch_hits AFTER DELETE ON articles REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION watch_hits_forget();

CREATE VIEW articles_per_source_day AS
SELECT s.name AS source,
       (a.published_at AT TIME ZONE 'Asia/Tehran')::date AS day,
       count(*) AS articles
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.published_at IS NOT NULL
GROUP BY 1, 2;

COMMENT ON VIEW articles_per_source_day IS 'Articles per source per publication day, days counted in Asia/Tehran; articles without a trusted date are left out.';

CREATE VIEW latest_articles AS
SELECT a.id, s.name AS source, a.published_at,
       a.published_at AT TIME ZONE 'Asia/Tehran' AS published_tehran,
       a.published_time_known, a.title, a.url, a.cluster_id
FROM articles a JOIN sources s ON s.id = a.source_id
ORDER BY a.published_at DESC NULLS LAST, a.id DESC;

COMMENT ON VIEW latest_articles IS 'Articles newest first with their source name; published_at in UTC, published_tehran the same instant as Tehran wall-clock time.';

CREATE VIEW cluster_members AS
SELECT a.cluster_id, a.id AS article_id, s.name AS source, a.published_at, a.title, a.url
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.cluster_id IS NOT NULL;

COMMENT ON VIEW cluster_members IS 'One row per article in a near-duplicate cluster (wire copy carried by several outlets).';

CREATE VIEW clusters AS
SELECT a.cluster_id,
       count(*) AS articles,
       count(DISTINCT a.source_id) AS sources,
       array_agg(DISTINCT s.name ORDER BY s.name) AS source_names,
       min(a.published_at) AS first_published,
       max(a.published_at) AS last_published,
       (array_agg(a.title ORDER BY a.published_at NULLS LAST, a.id))[1] AS title
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.cluster_id IS NOT NULL
GROUP BY a.cluster_id;

COMMENT ON VIEW clusters IS 'One row per near-duplicate cluster: its size, its sources, first and last publication (UTC) and the title of its first article.';
