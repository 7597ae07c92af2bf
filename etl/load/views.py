"""SQL views for the common questions (PostgreSQL), created with the schema.

Kept beside schema.py so sql/schema.sql (generated) documents them too.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from .schema import metadata

VIEWS = {
    "articles_per_source_day": """
SELECT s.name AS source,
       (a.published_at AT TIME ZONE 'Asia/Tehran')::date AS day,
       count(*) AS articles
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.published_at IS NOT NULL
GROUP BY 1, 2""",
    "latest_articles": """
SELECT a.id, s.name AS source, a.published_at,
       a.published_at AT TIME ZONE 'Asia/Tehran' AS published_tehran,
       a.published_time_known, a.title, a.url, a.cluster_id
FROM articles a JOIN sources s ON s.id = a.source_id
ORDER BY a.published_at DESC NULLS LAST, a.id DESC""",
    "cluster_members": """
SELECT a.cluster_id, a.id AS article_id, s.name AS source, a.published_at, a.title, a.url
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.cluster_id IS NOT NULL""",
    "clusters": """
SELECT a.cluster_id,
       count(*) AS articles,
       count(DISTINCT a.source_id) AS sources,
       array_agg(DISTINCT s.name ORDER BY s.name) AS source_names,
       min(a.published_at) AS first_published,
       max(a.published_at) AS last_published,
       (array_agg(a.title ORDER BY a.published_at NULLS LAST, a.id))[1] AS title
FROM articles a JOIN sources s ON s.id = a.source_id
WHERE a.cluster_id IS NOT NULL
GROUP BY a.cluster_id""",
}

# What `\dv+` in psql shows: each view says what one row is and in which time zone it counts.
COMMENTS = {
    "articles_per_source_day": "Articles per source per publication day, days counted in Asia/Tehran; "
                               "articles without a trusted date are left out.",
    "latest_articles": "Articles newest first with their source name; published_at in UTC, "
                       "published_tehran the same instant as Tehran wall-clock time.",
    "cluster_members": "One row per article in a near-duplicate cluster (wire copy carried by several outlets).",
    "clusters": "One row per near-duplicate cluster: its size, its sources, first and last publication (UTC) "
                "and the title of its first article.",
}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


for _name, _body in VIEWS.items():
    event.listen(metadata, "after_create",
                 DDL(f"CREATE VIEW {_name} AS{_body}").execute_if(dialect="postgresql"))
    event.listen(metadata, "after_create",
                 DDL(f"COMMENT ON VIEW {_name} IS {_quoted(COMMENTS[_name])}").execute_if(dialect="postgresql"))
