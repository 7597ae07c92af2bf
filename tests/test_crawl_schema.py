"""Schema step 3 (the crawl frontier, after step 2: raw hashes) upgrades a version-1 database in place, keeping its rows."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from conftest import NOW
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.schema import SCHEMA_VERSION, metadata

SOURCE = ("INSERT INTO sources (name, kind, url, enabled, in_config, items_seen, consecutive_failures, "
          "created_at, updated_at) VALUES (:name, :kind, 'https://x.ir/', true, true, 0, 0, '2026-01-01', '2026-01-01')")


LSH_V1 = ("CREATE TABLE article_lsh (band SMALLINT NOT NULL, bucket BIGINT NOT NULL, article_id BIGINT NOT NULL, "
          "CONSTRAINT article_lsh_pkey PRIMARY KEY (band, bucket, article_id), "
          "FOREIGN KEY(article_id) REFERENCES articles (id) ON DELETE CASCADE)")


ARTICLE = ("INSERT INTO articles (id, source_id, key, title, title_derived, body, published_time_known, fetched_at, "
           "updated_at, content_hash) VALUES ({id}, 1, 'k{id}', 't', false, 'b', false, '2026-01-01', '2026-01-01', 'h')")


def version_1(engine) -> None:
    """What version 1 created: every table but the frontier (and step 7's host_pace, step 8's
    sync_state, step 11's watch tables), sources.kind limited to feed/files."""
    later = ("host_pace", "sync_state", "watches", "watch_hits", "watch_deliveries")
    with engine.begin() as conn:
        metadata.create_all(conn, tables=[t for t in metadata.sorted_tables
                                          if not t.name.startswith("crawl_") and t.name not in later])
        conn.execute(text("DROP TRIGGER articles_forget_watch_hits"  # step 11's, made with the metadata
                          + (" ON articles" if conn.dialect.name == "postgresql" else "")))
        conn.execute(text("DROP INDEX articles_source_url"))
        conn.execute(text("DROP INDEX articles_source_raw_hash"))  # step 2 adds raw_hash
        conn.execute(text("ALTER TABLE articles DROP COLUMN raw_hash"))
        conn.execute(text("DROP INDEX sources_due"))  # step 5 adds the source leases
        for column in ("lease_until", "lease_owner", "last_delay", "database_failures", "crawl_next_at",
                       "blocked_by"):
            conn.execute(text(f"ALTER TABLE sources DROP COLUMN {column}"))  # steps 5, 8 and 13
        # Step 6: article_lsh had a foreign key (cascading deletes) and no trigger.
        conn.execute(text("DROP TRIGGER IF EXISTS articles_forget_lsh"
                          + (" ON articles" if conn.dialect.name == "postgresql" else "")))
        conn.execute(text("DROP TABLE article_lsh"))
        conn.execute(text(LSH_V1))
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP FUNCTION article_lsh_forget()"))
            conn.execute(text("ALTER TABLE sources DROP CONSTRAINT sources_kind_check, "
                              "ADD CONSTRAINT sources_kind_check CHECK (kind IN ('feed', 'files'))"))
        else:
            version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
            conn.exec_driver_sql("PRAGMA writable_schema = ON")
            conn.exec_driver_sql("UPDATE sqlite_schema SET sql = replace(sql, \"'files', 'site'\", \"'files'\") "
                                 "WHERE name = 'sources'")
            conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
            conn.exec_driver_sql("PRAGMA writable_schema = OFF")
        conn.execute(text("INSERT INTO schema_migrations VALUES (1, 'initial schema', '2026-01-01')"))
        conn.execute(text(SOURCE), {"name": "mehr", "kind": "feed"})
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(text(SOURCE), {"name": "early", "kind": "site"})


def test_steps_2_and_3_add_raw_hashes_the_frontier_and_the_site_kind(empty_db_url):
    engine = make_engine(empty_db_url)
    version_1(engine)
    result = upgrade(engine, NOW)
    assert (result.from_version, result.to_version) == (1, SCHEMA_VERSION)
    with engine.begin() as conn:
        conn.execute(text(SOURCE), {"name": "tasnim", "kind": "site"})
        assert conn.execute(text("SELECT name FROM sources ORDER BY id")).scalars().all() == ["mehr", "tasnim"]
        assert conn.execute(text("SELECT count(*) FROM crawl_sitemaps")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM crawl_pages")).scalar() == 0
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(text(SOURCE), {"name": "bogus", "kind": "ftp"})
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert upgrade(engine, NOW).changed is False
    engine.dispose()


def test_step_6_drops_the_bucket_foreign_key_keeps_the_rows_and_deletes_cascade_by_trigger(empty_db_url):
    engine = make_engine(empty_db_url)
    version_1(engine)
    with engine.begin() as conn:
        conn.execute(text(ARTICLE.format(id=1)))
        conn.execute(text(ARTICLE.format(id=2)))
        conn.execute(text("INSERT INTO article_lsh VALUES (0, 11, 1), (1, 12, 1), (0, 11, 2)"))
    upgrade(engine, NOW)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM article_lsh")).scalar() == 3
        assert inspect(conn).get_foreign_keys("article_lsh") == []
        conn.execute(text("DELETE FROM articles WHERE id = 1"))
        assert conn.execute(text("SELECT article_id FROM article_lsh")).scalars().all() == [2]
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
