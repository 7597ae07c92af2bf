"""Engine construction: one place that knows the quirks of each database driver."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message names it (without its password)."""


def normalize_url(url: str) -> str:
    """Pick psycopg 3 for plain PostgreSQL URLs: ``postgresql://h/db -> postgresql+psycopg://h/db``.

    SQLAlchemy maps a bare ``postgresql://`` to psycopg2, which this project does not install.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(f"database URL {url!r} is not a SQLAlchemy URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise DatabaseURLError(
            f"database URL {parsed.render_as_string(hide_password=True)!r}: "
            "only PostgreSQL and SQLite are supported"
        )
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    # psycopg prepares a statement after 5 runs and PostgreSQL may then switch to a generic plan,
    # which for text search ignores how common the searched word is (a full scan for a rare word).
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql") else {}
    engine = create_engine(url, pool_pre_ping=True, future=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets `news-etl search` read while a backfill writes; foreign keys are off by default
    # in SQLite; busy_timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def describe(engine: Engine) -> str:
    """The URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)
