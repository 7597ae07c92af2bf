-- Example queries against the news-etl schema (PostgreSQL). Each statement is run by
-- tests/test_schema.py, so they keep working as the schema evolves.
-- Times are stored in UTC, and `AT TIME ZONE 'Asia/Tehran'` shows Tehran wall-clock time.

-- Latest 20 articles with their source, in Tehran time.
SELECT a.id, s.name AS source, a.published_at AT TIME ZONE 'Asia/Tehran' AS published_tehran, a.title, a.url
FROM articles a JOIN sources s ON s.id = a.source_id
ORDER BY a.published_at DESC NULLS LAST, a.id DESC
LIMIT 20;

-- Articles per source per Tehran day (date-only values count on their own day).
SELECT s.name AS source, (a.published_at AT TIME ZONE 'Asia/Tehran')::date AS day, count(*) AS articles
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.published_at IS NOT NULL
GROUP BY 1, 2
ORDER BY 2 DESC, 1;

-- Articles whose date could not be trusted (unparsed or in the future), with what the input said.
SELECT a.id, s.name AS source, a.meta->>'date_flag' AS flag,
       coalesce(a.meta->>'published_raw', a.meta->>'published_claimed') AS claimed, a.title
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.meta ? 'date_flag';

-- Articles by the agency named in their lead ("به گزارش خبرگزاری مهر، ...").
SELECT a.meta->>'agency' AS agency, count(*) AS articles
FROM articles a
WHERE a.meta ? 'agency'
GROUP BY 1
ORDER BY 2 DESC;

-- Recent runs and what they did.
SELECT r.id, r.kind, s.name AS source, r.status, r.started_at, r.finished_at - r.started_at AS took,
       r.seen, r.new, r.updated, r.unchanged, r.failed, r.error
FROM ingest_runs r LEFT JOIN sources s ON s.id = r.source_id
ORDER BY r.id DESC
LIMIT 20;

-- What failed in the latest run, and where (file:line, archive!member#item, URL).
SELECT e.location, e.reason, left(e.excerpt, 80) AS excerpt
FROM ingest_errors e
WHERE e.run_id = (SELECT max(id) FROM ingest_runs)
ORDER BY e.id;

-- Sources that are failing, with their last error.
SELECT name, kind, consecutive_failures, last_status, last_error, last_success_at
FROM sources
WHERE consecutive_failures > 0
ORDER BY consecutive_failures DESC;

-- Articles edited after they were first stored (updated_at moves only when content changes).
SELECT a.id, s.name AS source, a.fetched_at, a.updated_at, a.title
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.updated_at > a.fetched_at
ORDER BY a.updated_at DESC
LIMIT 20;

-- Articles per source per Tehran day, from the view.
SELECT * FROM articles_per_source_day ORDER BY day DESC, source LIMIT 50;

-- Stories carried by several outlets (near-duplicate clusters), largest first.
SELECT cluster_id, articles, sources, source_names, first_published, title
FROM clusters
WHERE sources >= 2
ORDER BY sources DESC, articles DESC
LIMIT 20;

-- The members of one cluster (here: the largest).
SELECT * FROM cluster_members
WHERE cluster_id = (SELECT cluster_id FROM clusters ORDER BY articles DESC LIMIT 1)
ORDER BY published_at;

-- Full-text search in SQL. Fold the query as news-etl does (ZWNJ to a space, Arabic yeh/kaf to
-- Persian, digits to ASCII): 'می‌شود' is searched as the phrase 'می شود'.
SELECT id, title, ts_rank_cd(search_doc, q) AS rank
FROM articles, phraseto_tsquery('simple', 'می شود') AS q
WHERE search_doc @@ q
ORDER BY rank DESC
LIMIT 10;

-- Edited articles and how many earlier versions each has.
SELECT a.id, a.title, count(r.id) AS revisions, max(r.replaced_at) AS last_edit
FROM articles a JOIN article_revisions r ON r.article_id = a.id
GROUP BY a.id, a.title
ORDER BY last_edit DESC
LIMIT 20;
