"""Engine construction: one place that knows the quirks of each database driver."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..redact import redact  # a URL's password never reaches a message


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message names it (without its password)."""


# The drivers this project installs; anything else would fail later with an ImportError traceback.
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
            "postgresql+psycopg": "postgresql+psycopg", "sqlite": "sqlite", "sqlite+pysqlite": "sqlite+pysqlite"}


def normalize_url(url: str) -> str:
    """Pick psycopg 3 for plain PostgreSQL URLs: ``postgresql://h/db -> postgresql+psycopg://h/db``.

    SQLAlchemy maps a bare ``postgresql://`` to psycopg2, which this project does not install.
    Every problem is a one-line DatabaseURLError that never shows the password.
    """
    parsed = _parse(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        backend = parsed.drivername.partition("+")[0]
        known = backend in ("postgresql", "postgres", "sqlite")
        raise DatabaseURLError(
            f"database URL {redact(url)!r}: "
            + (f"driver {parsed.drivername!r} is not installed; use postgresql:// (psycopg 3)"
               if known else "only PostgreSQL and SQLite are supported")
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _parse(url: str) -> URL:
    shown = f" {redact(url)!r}" if "://" in url else ""  # without a scheme, any part may be the secret
    try:
        parsed = make_url(url)
        port = parsed.port  # a port of "abc" or an unclosed "[::1" fails here or above
    except (ArgumentError, ValueError) as exc:
        raise DatabaseURLError(f"database URL{shown} is not a valid URL ({_reason(exc)}); "
                               "expected e.g. postgresql://user@host:5432/news") from None
    if port is not None and not 0 < port < 65536:
        raise DatabaseURLError(f"database URL{shown}: port {port} is out of range")
    return parsed


def _reason(exc: Exception) -> str:
    # ValueError from int() names the bad port text, never the password.
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "bad port" if "int()" in text else "cannot parse it"


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    # psycopg prepares a statement after 5 runs and PostgreSQL may then switch to a generic plan,
    # which for text search ignores how common the searched word is (a full scan for a rare word).
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql") else {}
    try:
        engine = create_engine(url, pool_pre_ping=True, future=True, connect_args=connect_args)
    except (ArgumentError, ImportError, TypeError, ValueError) as exc:
        # e.g. an unknown query option; the message of these never holds the password.
        raise DatabaseURLError(f"database URL {redact(url)!r}: {str(exc).splitlines()[0]}") from None
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
