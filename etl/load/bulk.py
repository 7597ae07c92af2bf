"""PostgreSQL bulk writes by COPY, and id reservation on both databases.

``COPY`` moves a batch in one stream of rows instead of one bound parameter per value: for a
500-article batch the parameter conversion of an executemany cost more than the server's work.
Rows go into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT`` applies them, so
the upsert's semantics (and its guard against concurrent writers) are the same as SQLite's.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Sequence

import psycopg

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

_STAGE_COLUMNS = ("id", "source_id", "key", "url", "title", "title_derived", "summary", "body", "published_at",
                  "published_time_known", "fetched_at", "updated_at", "content_hash", "meta", "cluster_id",
                  "raw_hash", "doc")
# ON COMMIT DELETE ROWS: the table is created once per connection and is empty at each batch.
_CREATE_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS articles_stage (
    id bigint, source_id integer, key text, url text, title text, title_derived boolean, summary text,
    body text, published_at timestamptz, published_time_known boolean, fetched_at timestamptz,
    updated_at timestamptz, content_hash text, meta jsonb, cluster_id bigint, raw_hash text, doc text
) ON COMMIT DELETE ROWS"""
_REFRESHED = ("url", "title", "title_derived", "summary", "body", "published_at", "published_time_known",
              "content_hash", "meta", "updated_at", "raw_hash", "search_doc")
_STAGE_INSERT = """
INSERT INTO articles AS a (id, source_id, key, url, title, title_derived, summary, body, published_at,
                           published_time_known, fetched_at, updated_at, content_hash, meta, cluster_id,
                           raw_hash, search_doc)
SELECT id, source_id, key, url, title, title_derived, summary, body, published_at, published_time_known,
       fetched_at, updated_at, content_hash, meta, cluster_id, raw_hash, to_tsvector('simple', doc)
FROM articles_stage ORDER BY id"""
_APPLY_STAGE = text(_STAGE_INSERT + f"""
ON CONFLICT (source_id, key) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in _REFRESHED)}
WHERE a.content_hash <> EXCLUDED.content_hash
RETURNING a.id, a.key""")


# For a batch of keys not stored when it was read (a backfill's usual batch): a plain insert.
# ON CONFLICT's speculative insertion cost a quarter of the server's time per row; a concurrent
# writer of one of the keys makes this fail whole, and the batch goes the ON CONFLICT way after all.
_INSERT_STAGE = text(_STAGE_INSERT + "\nRETURNING a.id, a.key")


def allocate_ids(conn: Connection, count: int) -> list[int]:
    """``count`` fresh article ids, ascending, reserved before the rows are written."""
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence('articles', 'id')) FROM generate_series(1, :n)")
        return sorted(conn.execute(query, {"n": count}).scalars())
    # SQLite hands out max(id) + 1 itself (no AUTOINCREMENT), and one writer at a time holds the
    # database: reserving the same numbers keeps its ids what they would have been. pysqlite
    # begins the transaction at its first write, so a read before it holds no lock and two loads
    # at once (the workers of a feed pass) would read the same max(id): a write that changes
    # nothing takes the write lock first, and the numbers read are this transaction's until commit.
    conn.execute(text("UPDATE articles SET id = id WHERE 0"))
    top = conn.execute(text("SELECT coalesce(max(id), 0) FROM articles")).scalar()
    return list(range(top + 1, top + 1 + count))


def upsert_pg(conn: Connection, rows: Sequence[dict], fresh: bool = False) -> dict[str, int]:
    """Stage ``rows`` (dicts with the staging columns) by COPY and upsert them; key -> id written.
    ``fresh``: none of the keys was stored when the batch was read."""
    conn.exec_driver_sql(_CREATE_STAGE)
    conn.exec_driver_sql("DELETE FROM articles_stage")  # empty, unless a caller writes twice per transaction
    copy_rows(conn, "articles_stage", _STAGE_COLUMNS,
              ((*(row[c] for c in _STAGE_COLUMNS[:13]), Jsonb(row["meta"]), *(row[c] for c in _STAGE_COLUMNS[14:]))
               for row in rows))
    if fresh:
        try:
            with conn.begin_nested():
                return {key: aid for aid, key in conn.execute(_INSERT_STAGE)}
        except IntegrityError:
            pass  # another writer stored one of these keys meanwhile: upsert instead
    return {key: aid for aid, key in conn.execute(_APPLY_STAGE)}


@contextmanager
def _driver_errors(statement: str):
    """psycopg errors raised on the raw connection as SQLAlchemy's (DataError, OperationalError,
    ...), so callers tell a refused value from a lost database the same way as for any statement."""
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def fetch_rows(conn: Connection, statement: str, params: dict, size: int = 2000) -> Iterator[tuple]:
    """Rows of a query run on the driver's cursor (``%(name)s`` placeholders), converted
    ``size`` at a time: for hundreds of thousands of small rows, SQLAlchemy's per-row result
    objects cost more than the query."""
    cursor = conn.connection.driver_connection.cursor()
    with _driver_errors(statement), cursor:
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(size):
            yield from rows


def copy_text(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[int, ...]]) -> None:
    """``COPY`` rows of integers, formatted here in one string (no per-value adaptation)."""
    data = "".join("\t".join(map(str, row)) + "\n" for row in rows)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    cursor = conn.connection.driver_connection.cursor()
    with _driver_errors(statement), cursor, cursor.copy(statement) as copy:
        copy.write(data)


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """``COPY table (columns) FROM STDIN`` inside the caller's transaction."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    cursor = conn.connection.driver_connection.cursor()
    with _driver_errors(statement), cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
