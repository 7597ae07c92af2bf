"""`news-etl db upgrade` upgrades procrastinate's schema, not only installs it: a database at an
older procrastinate version (built honestly, from procrastinate's own initial schema and its
migration files up to a release) gets the newer files applied in order, once, and ends with the
same tables, columns and functions as a fresh install."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from conftest import invoke
from etl.load.queue_schema import _raw, ensure_queue_schema, migration_files, pending_migrations

OLDER = "02.00.00"  # migrations named before this are the older database's


def shape(engine) -> dict[str, list]:
    """What a procrastinate schema consists of, comparable between two databases."""
    with engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name, data_type, column_default FROM information_schema.columns "
            "WHERE table_name LIKE 'procrastinate%' ORDER BY 1, 2")).all()
        functions = conn.execute(text(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "AND p.proname LIKE 'procrastinate%' ORDER BY 1, 2")).all()
        indexes = conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'procrastinate%' ORDER BY 1")).scalars().all()
    return {"columns": [tuple(r) for r in columns], "functions": [tuple(r) for r in functions], "indexes": indexes}


def older_database(url: str) -> list[str]:
    """procrastinate as of OLDER: its initial schema plus its migrations before OLDER, recorded."""
    files = migration_files()
    old = [f for f in files if f.name < OLDER]
    engine = create_engine(url)
    with engine.begin() as conn:
        for path in old:
            _raw(conn, path.read_text(encoding="utf-8"))
        conn.execute(text("CREATE TABLE queue_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL "
                          "DEFAULT now())"))
        for path in old:
            conn.execute(text("INSERT INTO queue_migrations (name) VALUES (:n)"), {"n": path.name})
    with engine.connect() as conn:
        pending = [p.name for p in pending_migrations(conn, files)]
    engine.dispose()
    return pending


def test_an_older_procrastinate_schema_is_upgraded_to_the_fresh_one(pg_url, pg_admin):
    pending = older_database(pg_url)
    assert pending and all(name >= OLDER for name in pending) and pending == sorted(pending)
    result = invoke("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"procrastinate migrations applied: {', '.join(pending)}" in result.stdout
    again = invoke("--database-url", pg_url, "--config", "/dev/null", "db", "upgrade")
    assert again.returncode == 0 and "procrastinate" not in again.stdout  # nothing left to apply

    fresh_url = pg_url + "_fresh"
    name = fresh_url.rsplit("/", 1)[1]
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = create_engine(fresh_url)
        assert ensure_queue_schema(fresh).installed
        upgraded = create_engine(pg_url)
        assert shape(upgraded) == shape(fresh)
        with upgraded.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM queue_migrations")).scalar() == len(migration_files())
        upgraded.dispose()
        fresh.dispose()
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_queue_schema_installed_before_the_record_is_taken_as_current(pg_url):
    engine = create_engine(pg_url)
    assert ensure_queue_schema(engine).installed
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE queue_migrations"))  # as news-etl installed it before recording
    found = ensure_queue_schema(engine)
    assert found.assumed_current and not found.applied
    assert ensure_queue_schema(engine) == type(found)(installed=False)
    engine.dispose()
