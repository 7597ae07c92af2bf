"""procrastinate's own schema in our database: installed when absent, upgraded when the installed
procrastinate package is newer than the schema.

procrastinate ships its schema whole (``schema.sql``, the current version) and as a series of
migration files (``procrastinate/sql/migrations/NN.NN.NN_NN_name.sql``) that take one version to
the next, to be applied in name order. It does not record which it applied, so we do, one row per
file in ``queue_migrations`` (like our ``schema_migrations``): a fresh install records every file
of the installed package as applied; an upgrade applies the files not recorded yet, in order, under
an advisory lock (two workers starting at once do it once). Each file commits with its record in
its own transaction: a file that adds an enum value and the next that uses it cannot share one
(PostgreSQL: "New enum values must be committed before they can be used"), and a failed file then
leaves the database at the previous one, from where the next upgrade goes on. procrastinate
splits a release's migrations into ``pre`` (safe while old workers run) and ``post`` (once they
are gone); applied together here, so stop the old workers first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from procrastinate.schema import SchemaManager
from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["QueueSchema", "ensure_queue_schema", "migration_files", "pending_migrations"]

_KEY = "hashtext('news-etl procrastinate schema')"
_TABLE = """CREATE TABLE IF NOT EXISTS queue_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now())"""
_COMMENT = ("COMMENT ON TABLE queue_migrations IS 'procrastinate migration files applied to this database "
            "(etl/load/queue_schema.py); news-etl db upgrade applies the missing ones'")


@dataclass(frozen=True, slots=True)
class QueueSchema:
    installed: bool               # the schema was absent and is now installed
    applied: tuple[str, ...] = ()  # migration files applied by this upgrade, in order
    assumed_current: bool = False  # found without queue_migrations: recorded as this package's version

    @property
    def changed(self) -> bool:
        return self.installed or bool(self.applied)


def migration_files(folder: Path | None = None) -> list[Path]:
    """The package's migration files in the order procrastinate applies them (by name)."""
    folder = folder or Path(SchemaManager.get_migrations_path())
    return sorted(folder.glob("*.sql"), key=lambda p: p.name)


def pending_migrations(conn: Connection, files: list[Path]) -> list[Path]:
    """``files`` not recorded in ``queue_migrations`` yet."""
    done = set(conn.execute(text("SELECT name FROM queue_migrations")).scalars())
    return [f for f in files if f.name not in done]


def ensure_queue_schema(engine: Engine, folder: Path | None = None) -> QueueSchema:
    """Install procrastinate's schema when absent, else apply its pending migrations."""
    files = migration_files(folder)
    with engine.connect() as conn:
        conn.execute(text(f"SELECT pg_advisory_lock({_KEY})"))  # held across the transactions below
        conn.commit()
        try:
            return _install_or_upgrade(conn, files)
        finally:
            conn.rollback()
            conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"))
            conn.commit()


def _install_or_upgrade(conn: Connection, files: list[Path]) -> QueueSchema:
    """Each ``conn.commit()`` ends one transaction (SQLAlchemy begins the next by itself)."""
    if not inspect(conn).has_table("procrastinate_jobs"):
        _raw(conn, SchemaManager.get_schema())
        _record(conn, files)
        conn.commit()
        return QueueSchema(installed=True)
    if not inspect(conn).has_table("queue_migrations"):
        # Installed before news-etl recorded migrations, from the schema.sql of the package
        # installed then; taken to be this package's (the best guess there is: the result says so).
        _record(conn, files)
        conn.commit()
        return QueueSchema(installed=False, assumed_current=True)
    pending = pending_migrations(conn, files)
    for path in pending:
        _raw(conn, path.read_text(encoding="utf-8"))
        _record(conn, [path])
        conn.commit()
    return QueueSchema(installed=False, applied=tuple(p.name for p in pending))


def _record(conn: Connection, files: list[Path]) -> None:
    conn.execute(text(_TABLE))
    conn.execute(text(_COMMENT))
    for path in files:
        conn.execute(text("INSERT INTO queue_migrations (name) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": path.name})


def _raw(conn: Connection, sql: str) -> None:
    # Straight to psycopg without parameters: procrastinate's own '%' must not read as placeholders.
    conn.connection.driver_connection.execute(sql)
