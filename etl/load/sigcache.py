"""A bounded cache of recently written MinHash signatures, so clustering a batch does not read
back from the database the signatures that this process wrote a few batches ago.

Copies of a story arrive close together, so most candidates of a new article are recent ones.
Bounds: ``CAPACITY`` entries of 128 values each (about 0.8 KiB an entry with its objects, 4 MiB in
all), least recently used first out; memory does not grow with the input. 5,000 is several days
of one outlet's output, where a story's copies fall; at 20,000 the cache alone made a 20,000-article
backfill peak 23 MiB above a 2,000-article one (issue 9's flat-memory target is 10%).

Only PostgreSQL uses it, keyed by the database: its ids come from a sequence and are never
reused, so an entry of a rolled-back transaction names no row and is never asked for. SQLite
hands out max(id) + 1, which a rollback gives out again, so there every lookup reads the database.
An edited article's entry is dropped when its signature is replaced.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from sqlalchemy import Connection, text

CAPACITY = 5_000

Entry = tuple  # (signature vector, cluster id)


class SignatureCache:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, int], Entry] = OrderedDict()
        self._lock = threading.Lock()  # the service writes from several threads

    def get_many(self, conn: Connection, ids: set[int], load: Callable[[Connection, set[int]], dict]) -> dict[int, Entry]:
        """Entries for ``ids``: cached ones, and the rest from ``load`` (which are then cached)."""
        db = _database(conn)
        if db is None:
            return load(conn, ids)
        with self._lock:
            found = {aid: self._touch((db, aid)) for aid in ids if (db, aid) in self._entries}
        missing = ids - found.keys()
        if missing:
            loaded = load(conn, missing)
            self._put(db, loaded)
            found.update(loaded)
        return found

    def remember(self, conn: Connection, entries: dict[int, Entry]) -> None:
        db = _database(conn)
        if db is not None:
            self._put(db, entries)

    def forget(self, conn: Connection, ids: set[int]) -> None:
        db = _database(conn)
        if db is None:
            return
        with self._lock:
            for aid in ids:
                self._entries.pop((db, aid), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _touch(self, key) -> Entry:
        self._entries.move_to_end(key)
        return self._entries[key]

    def _put(self, db: str, entries: dict[int, Entry]) -> None:
        with self._lock:
            for aid, entry in entries.items():
                self._entries[(db, aid)] = entry
                self._entries.move_to_end((db, aid))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


def _database(conn: Connection) -> str | None:
    """A key naming this PostgreSQL database (server address, name and oid, so a database dropped
    and created again under its name is another one); None on SQLite."""
    if conn.dialect.name != "postgresql":
        return None
    info = conn.info
    if "news_etl_db_key" not in info:
        oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
        url = conn.engine.url
        info["news_etl_db_key"] = f"{url.host}:{url.port}/{url.database}#{oid}"
    return info["news_etl_db_key"]


SIGNATURES = SignatureCache()
