"""PostgreSQL keeps ``article_lsh`` UNLOGGED: no write-ahead log for the LSH buckets, and their
rebuild from the signatures after a server crash.

Why: the 32 bucket rows of an article go to 32 random places of the table's primary key (a bucket
is a hash). Once that index outgrows the server's buffers, nearly every insertion is the first
change of its page since the last checkpoint, and PostgreSQL writes the whole 8 kB page to the
WAL: measured at 520,000 articles on the default server settings, 180 kB of WAL per article, 96%
of it full-page images of index leaves, and the backfill slowed from 480 to 255 articles/s. The
buckets are derived data (every one is a hash of the signature kept in ``article_minhash``, which
stays logged), so they need no WAL.

What it costs: after a server crash (not after a clean restart, nor after any client's crash or
kill -9) PostgreSQL empties every unlogged table. The one-row unlogged table
``article_lsh_complete`` is emptied with it, so a writer finds out before its next lookup
(``ensure_complete``, one index probe per batch), and the first writer rebuilds the buckets from
the stored signatures inside its own transaction, under a lock the others wait on (a few minutes
at 1,000,000 articles, once). Until then nobody clusters against an incomplete table. A standby
server does not receive unlogged tables; a database promoted from one rebuilds them the same way.
"""

from __future__ import annotations

import itertools

from sqlalchemy import Connection, text

from ..clean.dedup import Signature, bands
from .bulk import copy_text
from .schema import LSH_MARKER as MARKER

_LOCK = 0x6C73685F72626C64  # pg_advisory_xact_lock key of the rebuild ("lsh_rbld")
_CHUNK = 5000  # signatures read and their buckets copied at a time


def ensure_complete(conn: Connection) -> int | None:
    """Make sure ``article_lsh`` holds every stored signature's buckets (PostgreSQL); returns the
    number of signatures rebuilt, or None when nothing was missing (the usual case: one probe)."""
    if _complete(conn):
        return None
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    if _complete(conn):  # another writer rebuilt them while this one waited
        return None
    return _rebuild(conn)


def _complete(conn: Connection) -> bool:
    return bool(conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {MARKER})")).scalar())


def _rebuild(conn: Connection) -> int:
    """Every stored signature's buckets, read through a server-side cursor a chunk at a time (so
    memory stays one chunk), written by COPY; then the marker, all in the caller's transaction."""
    conn.execute(text("DELETE FROM article_lsh"))  # empty after a crash; anything else is stale
    driver = conn.connection.driver_connection
    done = 0
    with driver.cursor(name="article_lsh_rebuild") as cursor:
        cursor.execute("SELECT article_id, signature FROM article_minhash")
        while chunk := cursor.fetchmany(_CHUNK):
            copy_text(conn, "article_lsh", ("band", "bucket", "article_id"), itertools.chain.from_iterable(
                ((band, bucket, aid) for band, bucket in bands(Signature.from_bytes(bytes(raw))))
                for aid, raw in chunk))
            done += len(chunk)
    conn.execute(text(f"INSERT INTO {MARKER} VALUES (true)"))
    return done
