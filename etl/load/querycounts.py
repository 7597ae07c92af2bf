"""Matching articles per Tehran day, source and agency for the queries counted ahead (PostgreSQL):
what ``news-etl trends`` reads for a word in half the archive instead of counting half a million
articles (seconds at 1,000,000 articles whatever the plan, milliseconds from here: see
bench/analysis and README "Analysing coverage").

Counting ahead is paid on every write, so only the queries an operator names are counted
(``news-etl db precount``), the ones measurement shows too slow live. A counted query is keyed by
the text of its full-text condition (``search.match_text``), the exact condition trends and
search match with: a query whose condition changes (another folding, other stems) is another
key, and is counted live until it is counted ahead again.

Exact by construction, as ``article_day_counts`` (etl/load/daycounts.py): statement-level
triggers on ``articles`` add what a statement's new rows match and take away what its old rows
matched, in the same transaction, so a revision that changes an article's words, day, source or
agency, a deletion and a rolled-back batch all leave the counts equal to a plain count. A query
starts being counted under a SHARE lock on ``articles``: writers wait for it and it waits for
them, so no write falls between its first count and the triggers that keep it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, Connection, event, text

from .daycounts import AGENCY, DAY  # (and article_day_counts' DDL registered first, so the schema prints in one order)
from .schema import articles
from .search import exact_bitmaps, match_text, query_terms

QUERIES, COUNTS = "counted_queries", "query_day_counts"

CREATE = [
    f"""CREATE TABLE IF NOT EXISTS {QUERIES} (
    query TEXT PRIMARY KEY,
    tsquery TSQUERY NOT NULL,
    typed TEXT NOT NULL,
    counted_at TIMESTAMP WITH TIME ZONE NOT NULL
)""",
    f"COMMENT ON TABLE {QUERIES} IS 'The queries whose matching articles per day are counted ahead "
    f"({COUNTS}): news-etl db precount.'",
    f"COMMENT ON COLUMN {QUERIES}.query IS 'The to_tsquery text search matches with (etl/load/search.py match_text).'",
    f"COMMENT ON COLUMN {QUERIES}.tsquery IS 'to_tsquery(''simple'', query), what the triggers match each "
    "article with.'",
    f"COMMENT ON COLUMN {QUERIES}.typed IS 'The query as the operator typed it.'",
    f"COMMENT ON COLUMN {QUERIES}.counted_at IS 'When its counts were first filled (UTC).'",
    f"""CREATE TABLE IF NOT EXISTS {COUNTS} (
    query TEXT NOT NULL REFERENCES {QUERIES} (query) ON DELETE CASCADE,
    day DATE NOT NULL,
    source_id INTEGER NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    articles INTEGER NOT NULL,
    PRIMARY KEY (query, day, source_id, agency)
)""",
    f"COMMENT ON TABLE {COUNTS} IS 'Dated articles matching each counted query per Tehran day, source and "
    "agency, kept exact by the articles_query_day_counts_* triggers: what news-etl trends reads for them.'",
    f"COMMENT ON COLUMN {COUNTS}.query IS 'The counted query (counted_queries.query).'",
    f"COMMENT ON COLUMN {COUNTS}.day IS 'The Tehran calendar day of published_at (Asia/Tehran, with its history).'",
    f"COMMENT ON COLUMN {COUNTS}.source_id IS 'The source (sources.id).'",
    f"COMMENT ON COLUMN {COUNTS}.agency IS 'meta.agency, the agency the lead credits; empty when none.'",
    f"COMMENT ON COLUMN {COUNTS}.articles IS 'How many of its articles match (0 once all were moved, edited "
    "or deleted).'",
    f"""CREATE OR REPLACE FUNCTION query_day_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most databases count no query ahead: a write then costs one probe of an empty table.
    IF NOT EXISTS (SELECT 1 FROM {QUERIES}) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {COUNTS} AS c (query, day, source_id, agency, articles)
        SELECT q.query, {DAY.replace("published_at", "a.published_at")}, a.source_id,
               {AGENCY.replace("meta", "a.meta")}, -count(*)
        FROM gone a JOIN {QUERIES} q ON a.search_doc @@ q.tsquery WHERE a.published_at IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (query, day, source_id, agency) DO UPDATE SET articles = c.articles + EXCLUDED.articles;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {COUNTS} AS c (query, day, source_id, agency, articles)
        SELECT q.query, {DAY.replace("published_at", "a.published_at")}, a.source_id,
               {AGENCY.replace("meta", "a.meta")}, count(*)
        FROM added a JOIN {QUERIES} q ON a.search_doc @@ q.tsquery WHERE a.published_at IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (query, day, source_id, agency) DO UPDATE SET articles = c.articles + EXCLUDED.articles;
    END IF;
    RETURN NULL;
END $$""",
]
TRIGGERS = {
    "insert": "AFTER INSERT ON articles REFERENCING NEW TABLE AS added",
    "update": "AFTER UPDATE ON articles REFERENCING OLD TABLE AS gone NEW TABLE AS added",
    "delete": "AFTER DELETE ON articles REFERENCING OLD TABLE AS gone",
}
CREATE += [f"CREATE TRIGGER articles_query_day_counts_{op} {when} FOR EACH STATEMENT "
           "EXECUTE FUNCTION query_day_counts_apply()" for op, when in TRIGGERS.items()]


for _ddl in CREATE:
    event.listen(articles, "after_create", DDL(_ddl.replace("%", "%%")).execute_if(dialect="postgresql"))
del _ddl


def add_query_counts(conn: Connection) -> None:
    """Schema step 14: the two tables (kept when there: the counted queries are an operator's
    choice), the function and its triggers (replaced)."""
    if conn.dialect.name != "postgresql":
        return
    for op in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS articles_query_day_counts_{op} ON articles")
    for statement in CREATE:
        conn.exec_driver_sql(statement)


def query_key(query: str) -> str:
    """What a query's counts are stored under: its full-text condition as search matches it
    (``search.match_text``); QueryError as search raises it."""
    return match_text(query_terms(query), "postgresql")


def count_ahead(conn: Connection, query: str, now: datetime) -> bool:
    """Start counting ``query`` ahead: its row and its counts over every stored article, in the
    caller's transaction. False when it is counted already."""
    key = query_key(query)
    conn.execute(text("LOCK TABLE articles IN SHARE MODE"))
    added = conn.execute(text(f"INSERT INTO {QUERIES} (query, tsquery, typed, counted_at) "
                              "VALUES (:q, to_tsquery('simple', :q), :typed, :now) ON CONFLICT DO NOTHING "
                              "RETURNING query"), {"q": key, "typed": query, "now": now}).first()
    if added is None:
        return False
    with exact_bitmaps(conn):
        conn.execute(text(f"INSERT INTO {COUNTS} (query, day, source_id, agency, articles) "
                          f"SELECT :q, {DAY}, source_id, {AGENCY}, count(*) FROM articles "
                          "WHERE published_at IS NOT NULL AND search_doc @@ to_tsquery('simple', :q) GROUP BY 2, 3, 4"),
                     {"q": key})
    return True


def forget(conn: Connection, query: str) -> bool:
    """Stop counting ``query`` ahead (its counts go with it); False when it was not counted."""
    key = query_key(query)
    # Under the same lock as count_ahead: a writer whose trigger read the query before it was
    # deleted would otherwise fail its whole batch on the foreign key of the counts it adds.
    conn.execute(text("LOCK TABLE articles IN SHARE MODE"))
    return conn.execute(text(f"DELETE FROM {QUERIES} WHERE query = :q"), {"q": key}).rowcount > 0


def counted_queries(conn: Connection) -> list[dict]:
    """The queries counted ahead and their dated matching articles:
    ``[{"query": "فارس", "key": "('فارس' | 'ـفارس')", "articles": 511420, "counted_at": datetime}]``."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(text(f"SELECT q.typed AS query, q.query AS key, coalesce(sum(c.articles), 0) AS articles, "
                             f"q.counted_at FROM {QUERIES} q LEFT JOIN {COUNTS} c ON c.query = q.query "
                             "GROUP BY q.typed, q.query, q.counted_at ORDER BY q.typed")).mappings()
    return [dict(r) | {"articles": int(r["articles"])} for r in rows]


def is_counted(conn: Connection, key: str) -> bool:
    return conn.execute(text(f"SELECT 1 FROM {QUERIES} WHERE query = :q"), {"q": key}).first() is not None
