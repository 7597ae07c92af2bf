"""The schema has one source of truth, upgrades keep data, and the documented SQL runs."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from conftest import DATA, NOW, REPO
from etl.config import Source
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context
from etl.load import migrate
from etl.load.db import make_engine
from etl.load.migrate import SchemaError, current_version, schema_ddl, upgrade
from etl.load.schema import SCHEMA_VERSION


def test_committed_schema_sql_is_generated_from_the_code():
    committed = (REPO / "sql" / "schema.sql").read_text(encoding="utf-8")
    assert committed == schema_ddl(), "sql/schema.sql is stale: run `news-etl db schema > sql/schema.sql`"


def test_generated_schema_builds_the_same_tables_as_the_code(pg_url, pg_engine):
    """Apply sql/schema.sql to an empty database and compare its catalog with create_all's."""
    other = make_engine(pg_url.rsplit("/", 1)[0] + "/postgres")
    name = "news_etl_schema_sql_" + pg_url.rsplit("_", 1)[1]
    with other.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        sql_engine = make_engine(pg_url.rsplit("/", 1)[0] + "/" + name)
        with sql_engine.begin() as conn:
            conn.exec_driver_sql((REPO / "sql" / "schema.sql").read_text(encoding="utf-8"))
        assert _catalog(sql_engine) == _catalog(pg_engine)
        sql_engine.dispose()
    finally:
        with other.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        other.dispose()


def _catalog(engine):
    with engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2")).all()
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")).all()
        compression = conn.execute(text(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'articles'::regclass "
            "AND attnum > 0 AND attcompression <> '' ORDER BY 1")).all()
    return columns, indexes, compression


def test_an_empty_database_gets_the_current_schema_in_one_go(empty_db_url):
    """The path every new installation takes (the tests' template database takes it too)."""
    engine = make_engine(empty_db_url)
    result = upgrade(engine, NOW)
    assert (result.from_version, result.to_version) == (None, SCHEMA_VERSION)
    with engine.connect() as conn:
        assert current_version(conn) == SCHEMA_VERSION
    assert upgrade(engine, NOW).from_version == SCHEMA_VERSION  # a second upgrade is a no-op
    engine.dispose()


def test_step_8_adds_the_due_state_and_keeps_every_source(empty_db_url):
    """A version-7 database (before one due policy for every kind) upgrades in place: its sources
    keep their rows and schedule, and start with no database failures and no crawl time."""
    engine = make_engine(empty_db_url)
    upgrade(engine, NOW)
    with engine.begin() as conn:
        for column in ("database_failures", "crawl_next_at", "blocked_by"):  # steps 8 and 13
            conn.execute(text(f"ALTER TABLE sources DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE sync_state"))
        for table in ("watch_deliveries", "watch_hits", "watches"):  # step 11's, on top
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DROP TRIGGER articles_forget_watch_hits" + (" ON articles" if engine.dialect.name == "postgresql" else "")))
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 8"))
        conn.execute(text("INSERT INTO sources (name, kind, url, settings, next_attempt_at, last_delay, created_at, "
                          "updated_at) VALUES ('mehr', 'feed', 'http://x/rss', '{}', :t, 90.0, :t, :t)"),
                     {"t": NOW.replace(tzinfo=None)})
    assert upgrade(engine, NOW).from_version == 7
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, last_delay, database_failures, crawl_next_at FROM sources")).one()
        synced = conn.execute(text("SELECT count(*) FROM sync_state")).scalar()
    assert tuple(row) == ("mehr", 90.0, 0, None) and synced == 0
    engine.dispose()


def test_large_text_columns_use_lz4(pg_engine):
    with pg_engine.connect() as conn:
        modes = dict(conn.execute(text(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'articles'::regclass "
            "AND attname IN ('body', 'summary')")).all())
    assert modes == {"body": "l", "summary": "l"}


def test_upgrade_is_idempotent_and_keeps_data(engine):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, kind, path, enabled, in_config, items_seen, consecutive_failures, created_at, updated_at) "
                          "VALUES ('s', 'files', 'p', true, true, 0, 0, '2026-01-01', '2026-01-01')"))
    result = upgrade(engine, NOW)
    assert (result.from_version, result.to_version, result.changed) == (SCHEMA_VERSION, SCHEMA_VERSION, False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM sources")).scalars().all() == ["s"]
        assert current_version(conn) == SCHEMA_VERSION


def test_upgrade_applies_later_steps_without_losing_rows(engine, monkeypatch):
    """A future step (here: a new nullable column) runs once on an existing database with data."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, kind, path, enabled, in_config, items_seen, consecutive_failures, created_at, updated_at) "
                          "VALUES ('s', 'files', 'p', true, true, 0, 0, '2026-01-01', '2026-01-01')"))
    step = ("add sources.note", lambda conn: conn.execute(text("ALTER TABLE sources ADD COLUMN note TEXT")))
    monkeypatch.setattr(migrate, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(migrate.STEPS, SCHEMA_VERSION + 1, step)
    result = upgrade(engine, NOW)
    assert (result.from_version, result.to_version) == (SCHEMA_VERSION, SCHEMA_VERSION + 1)
    assert upgrade(engine, NOW).changed is False
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, note FROM sources")).all() == [("s", None)]


def test_newer_database_is_refused(engine):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'future', '2030-01-01')"))
    with pytest.raises(SchemaError, match="version 99 is newer"):
        upgrade(engine, NOW)


def test_tables_without_version_are_not_guessed(empty_db_url):
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE articles (id integer)"))
    with pytest.raises(SchemaError, match="no schema_migrations"):
        upgrade(engine, NOW)
    engine.dispose()


def test_example_queries_run(pg_engine):
    """Every example in sql/queries.sql runs, on a database holding real articles."""
    job = Backfill(Source(name="fars", kind="files", path="x"), [DATA / "fars-news", DATA / "seed"], in_config=False)
    assert run_backfill(Context(pg_engine, lambda: NOW), job).new == 601
    statements = [s.strip() for s in (REPO / "sql" / "queries.sql").read_text(encoding="utf-8").split(";")]
    statements = [s for s in statements if re.sub(r"--[^\n]*", "", s).strip()]
    assert len(statements) >= 6
    returned = 0
    with pg_engine.connect() as conn:
        for statement in statements:
            returned += len(conn.execute(text(statement.replace(":", r"\:"))).all())
    assert returned > 0


def test_every_schema_version_has_its_step():
    """Steps are numbered without a gap: an upgrade applies each one after the database's version."""
    assert sorted(migrate.STEPS) == list(range(2, SCHEMA_VERSION + 1))


def test_step_12_adds_blocked_by_and_keeps_every_source(empty_db_url):
    """A database from before bot walls were told apart upgrades in place: its sources keep their
    rows and state, and start unblocked (issue 26)."""
    engine = make_engine(empty_db_url)
    upgrade(engine, NOW)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE sources DROP COLUMN blocked_by"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 12"))
        conn.execute(text("INSERT INTO sources (name, kind, url, settings, consecutive_failures, last_error, created_at, "
                          "updated_at) VALUES ('tasnim', 'feed', 'http://x/rss', '{}', 2, 'HTTP 403', :t, :t)"),
                     {"t": NOW.replace(tzinfo=None)})
    assert upgrade(engine, NOW).from_version == 11
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, consecutive_failures, last_error, blocked_by FROM sources")).one()
        assert current_version(conn) == SCHEMA_VERSION
    assert tuple(row) == ("tasnim", 2, "HTTP 403", None)
    engine.dispose()
