-- news-etl PostgreSQL schema, version 2.
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
	next_attempt_at TIMESTAMP WITH TIME ZONE, 
	items_seen BIGINT DEFAULT 0 NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT sources_kind_check CHECK (kind IN ('feed', 'files')), 
	UNIQUE (name)
);

COMMENT ON TABLE sources IS 'One row per source, keyed by name, holding its fetch state.';

COMMENT ON COLUMN sources.name IS 'The name used in config/sources.toml.';

COMMENT ON COLUMN sources.kind IS '''feed'' or ''files''.';

COMMENT ON COLUMN sources.url IS 'Feed URL (kind ''feed'').';

COMMENT ON COLUMN sources.path IS 'Folder or file (kind ''files'').';

COMMENT ON COLUMN sources.in_config IS 'False once the source is removed from the sources file or was created by a backfill; its articles stay.';

COMMENT ON COLUMN sources.settings IS 'The source''s table from the sources file, as last seen.';

COMMENT ON COLUMN sources.etag IS 'ETag validator from the last successful fetch (conditional GET).';

COMMENT ON COLUMN sources.last_modified IS 'Last-Modified validator from the last successful fetch.';

COMMENT ON COLUMN sources.last_status IS 'HTTP status of the last fetch.';

COMMENT ON COLUMN sources.next_attempt_at IS 'When the service will next fetch this source.';

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
	PRIMARY KEY (id), 
	CONSTRAINT articles_source_key UNIQUE (source_id, key), 
	FOREIGN KEY(source_id) REFERENCES sources (id)
);

CREATE INDEX articles_cluster ON articles (cluster_id);

CREATE INDEX articles_published_at ON articles (published_at);

CREATE INDEX articles_source_published ON articles (source_id, published_at);

COMMENT ON TABLE articles IS 'One row per article per source.';

COMMENT ON COLUMN articles.key IS 'Natural key within the source: ''guid:…'', ''url:…'' (canonical URL) or ''hash:…'' (normalized title and body).';

COMMENT ON COLUMN articles.url IS 'Canonical article URL, when known.';

COMMENT ON COLUMN articles.title_derived IS 'True when the input had no title and it was taken from the first sentence.';

COMMENT ON COLUMN articles.published_at IS 'Publication instant in UTC; NULL when unknown or not trusted.';

COMMENT ON COLUMN articles.published_time_known IS 'False for a date-only value, stored as midnight of that day in Asia/Tehran.';

COMMENT ON COLUMN articles.fetched_at IS 'When the article was first stored.';

COMMENT ON COLUMN articles.updated_at IS 'When its content last changed (not touched by a no-op reload).';

COMMENT ON COLUMN articles.content_hash IS 'sha256 of the stored content; equal hash = nothing to write.';

COMMENT ON COLUMN articles.meta IS 'Extra fields: agency, category, tags, date flags, origin location.';

COMMENT ON COLUMN articles.cluster_id IS 'Near-duplicate cluster (wire copy across outlets): the id of the cluster''s first article.';

COMMENT ON COLUMN articles.search_doc IS 'to_tsvector(''simple'', fold_document(title, summary, body)): folded words, then each ZWNJ compound joined; written by the loader (PostgreSQL).';

CREATE INDEX articles_search ON articles USING gin (search_doc);

CREATE INDEX articles_title_trgm ON articles USING gin (title gin_trgm_ops);

ALTER TABLE articles ALTER COLUMN body SET COMPRESSION lz4;

ALTER TABLE articles ALTER COLUMN summary SET COMPRESSION lz4;

ALTER TABLE articles ALTER COLUMN search_doc SET COMPRESSION lz4;

ALTER TABLE articles ALTER COLUMN search_doc SET STORAGE MAIN;

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

COMMENT ON COLUMN ingest_runs.kind IS '''backfill'', ''fetch'' or ''service''.';

COMMENT ON COLUMN ingest_runs.status IS '''running'', ''ok'', ''partial'' (some items failed), ''failed'' (the run stopped).';

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

COMMENT ON COLUMN source_files.path IS 'The file''s path as the service found it under the source''s folder.';

COMMENT ON COLUMN source_files.mtime IS 'Modification time when it was last loaded.';

COMMENT ON COLUMN source_files.sha256 IS 'Hash of the bytes loaded; a touched file with the same hash is not reloaded.';

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

COMMENT ON COLUMN ingest_errors.location IS 'Where the item is: ''dump.jsonl:17'', ''a.zip!b.json#3'', a URL.';

COMMENT ON COLUMN ingest_errors.excerpt IS 'The first bytes of the failing input, for inspection.';

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

COMMENT ON COLUMN article_revisions.stored_at IS 'When this version was stored (its updated_at).';

COMMENT ON COLUMN article_revisions.replaced_at IS 'When a newer version replaced it.';

CREATE TABLE article_minhash (
	article_id BIGINT NOT NULL, 
	signature BYTEA NOT NULL, 
	PRIMARY KEY (article_id), 
	FOREIGN KEY(article_id) REFERENCES articles (id) ON DELETE CASCADE
);

COMMENT ON TABLE article_minhash IS 'Near-duplicate detection: one MinHash signature per article long enough to judge.';

COMMENT ON COLUMN article_minhash.signature IS 'MinHash signature of the folded text (etl/clean/dedup.py).';

CREATE TABLE article_lsh (
	band SMALLINT NOT NULL, 
	bucket BIGINT NOT NULL, 
	article_id BIGINT NOT NULL, 
	CONSTRAINT article_lsh_pkey PRIMARY KEY (band, bucket, article_id), 
	FOREIGN KEY(article_id) REFERENCES articles (id) ON DELETE CASCADE
);

COMMENT ON TABLE article_lsh IS 'LSH buckets of the MinHash signatures: a new article finds its candidates by index lookup.';

CREATE VIEW articles_per_source_day AS
SELECT s.name AS source,
       (a.published_at AT TIME ZONE 'Asia/Tehran')::date AS day,
       count(*) AS articles
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.published_at IS NOT NULL
GROUP BY 1, 2;

CREATE VIEW latest_articles AS
SELECT a.id, s.name AS source, a.published_at,
       a.published_at AT TIME ZONE 'Asia/Tehran' AS published_tehran,
       a.published_time_known, a.title, a.url, a.cluster_id
FROM articles a JOIN sources s ON s.id = a.source_id
ORDER BY a.published_at DESC NULLS LAST, a.id DESC;

CREATE VIEW cluster_members AS
SELECT a.cluster_id, a.id AS article_id, s.name AS source, a.published_at, a.title, a.url
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.cluster_id IS NOT NULL;

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
