"""The ``sources`` table: one row per configured source, holding its fetch state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, Integer, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..config import Source
from .chunks import chunks
from .schema import sources, sync_state


# Bumped when what a source's row holds from the file changes shape, so every table syncs again.
SETTINGS_FORMAT = 2


def _config_values(source: Source) -> dict[str, Any]:
    return {"kind": source.kind, "url": source.url, "path": source.path, "enabled": source.enabled,
            "settings": _settings(source)}


def _settings(source: Source) -> dict[str, Any]:
    """The typed settings, page and crawl options as nested objects, as the JSON column gives them
    back (tuples as lists), built by hand: ``dataclasses.asdict`` cost 90 us a source."""
    settings = {name: getattr(source, name) for name in _PLAIN}
    settings["page"] = {"selector": source.page.selector, "allowed_hosts": list(source.page.allowed_hosts)}
    settings["crawl"] = {"sitemaps": list(source.crawl.sitemaps), "every": source.crawl.every, "days": source.crawl.days}
    return settings


_PLAIN = ("name", "kind", "url", "path", "pattern", "interval", "full_text", "enabled", "min_interval",
          "max_interval", "description", "language")


def sync_sources(conn: Connection, configured: Iterable[Source], now: datetime) -> bool:
    """Make the table match the sources file. Rows are never deleted: a source dropped from the
    file keeps its articles and is marked ``in_config = false``. Every command syncs, so an
    unchanged file is recognised by its digest and costs one query (comparing 50,000 sources took
    seconds); returns whether the table was compared."""
    configured = list(configured)
    digest = _digest(configured)
    if conn.execute(select(sync_state.c.digest).where(sync_state.c.name == "sources")).scalar() == digest:
        return False
    _sync(conn, configured, now)
    statement = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(sync_state)
    conn.execute(statement.values(name="sources", digest=digest, synced_at=now).on_conflict_do_update(
        index_elements=[sync_state.c.name], set_={"digest": digest, "synced_at": now}))
    return True


def _digest(configured: list[Source]) -> str:
    """The typed sources' own text (frozen dataclasses of plain values: the same file, the same text)."""
    return hashlib.sha256(f"{SETTINGS_FORMAT}:{configured!r}".encode("utf-8", "surrogatepass")).hexdigest()


def _sync(conn: Connection, configured: list[Source], now: datetime) -> None:
    """One query for the rows, one statement for the new sources, one for the changed ones."""
    existing = {row.name: row for row in conn.execute(select(sources))}
    new, changed = [], []
    for source in configured:
        values = {**_config_values(source), "in_config": True}
        row = existing.get(source.name)
        if row is None:
            new.append({"name": source.name, "created_at": now, "updated_at": now, **values})
        elif any(getattr(row, k) != v for k, v in values.items()):
            changed.append({"b_id": row.id, "b_at": now, **{f"b_{k}": v for k, v in values.items()}})
    names = {source.name for source in configured}
    gone = [{"b_id": row.id, "b_at": now} for name, row in existing.items() if name not in names and row.in_config]
    if new:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # Another command starting at once may create the same sources: theirs and ours are one row.
        conn.execute(dialect.insert(sources).on_conflict_do_nothing(index_elements=[sources.c.name]), new)
    if changed:
        columns = ("kind", "url", "path", "enabled", "settings", "in_config")
        conn.execute(update(sources).where(sources.c.id == bindparam("b_id"))
                     .values(updated_at=bindparam("b_at"), **{c: bindparam(f"b_{c}") for c in columns}), changed)
    if gone:
        conn.execute(update(sources).where(sources.c.id == bindparam("b_id"))
                     .values(in_config=False, updated_at=bindparam("b_at")), gone)


def ensure_source(conn: Connection, source: Source, now: datetime, in_config: bool) -> int:
    """The id of ``source``'s row, creating it for an ad-hoc backfill source if needed."""
    row = conn.execute(select(sources.c.id).where(sources.c.name == source.name)).first()
    if row is not None:
        return row.id
    return _create(conn, source.name, {**_config_values(source), "in_config": in_config}, now)


def _create(conn: Connection, name: str, values: dict[str, Any], now: datetime) -> int:
    """Insert the row unless another process just did, then read its id: several commands
    started at once with a new source all get the same row instead of a duplicate-key error."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(sources).values(name=name, created_at=now, updated_at=now, **values)
        .on_conflict_do_nothing(index_elements=[sources.c.name])
    )
    return conn.execute(select(sources.c.id).where(sources.c.name == name)).scalar_one()


def source_name(conn: Connection, source_id: int) -> str | None:
    return conn.execute(select(sources.c.name).where(sources.c.id == source_id)).scalar()


def source_row(conn: Connection, name: str) -> Any:
    return conn.execute(select(sources).where(sources.c.name == name)).first()


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One fetch's outcome for ``record_fetches``; the arguments of ``record_fetch``."""

    source_id: int
    at: datetime
    status: int | None
    ok: bool
    error: str | None = None
    validators: tuple[str | None, str | None] | None = None
    items: int = 0
    blocked_by: str | None = None  # the bot wall that answered instead of the site (a failed pass)


def record_fetch(conn: Connection, source_id: int, now: datetime, *, status: int | None, ok: bool,
                 error: str | None = None, validators: tuple[str | None, str | None] | None = None,
                 items: int = 0, blocked_by: str | None = None) -> None:
    """A fetch's outcome on its source row: success resets the failure count, failure raises it.

    ``validators`` (ETag, Last-Modified) are stored only when given: after a 304 the old ones stay,
    and after a run with failed items they are not advanced, so the next fetch sees the feed again.
    """
    record_fetches(conn, [FetchRecord(source_id, now, status, ok, error, validators, items, blocked_by)])


def record_fetches(conn: Connection, records: Sequence[FetchRecord]) -> None:
    """``record_fetch`` for many sources: one executemany per kind of outcome, on statements built
    once (building an UPDATE per call cost more CPU than the database spent on it)."""
    shapes: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for r in records:
        params = {"b_id": r.source_id, "b_at": r.at, "b_status": r.status, "b_error": r.error, "b_items": r.items,
                  "b_blocked": r.blocked_by}
        if r.validators is not None:
            params.update(b_etag=r.validators[0], b_last_modified=r.validators[1])
        shapes.setdefault((r.ok, r.validators is not None), []).append(params)
    for shape, rows in shapes.items():
        conn.execute(_RECORD[shape], rows)


def _record_statement(ok: bool, validated: bool):
    at = bindparam("b_at", type_=sources.c.last_fetch_at.type)
    values: dict[str, Any] = {"last_fetch_at": at, "last_status": bindparam("b_status"), "updated_at": at,
                              "last_error": bindparam("b_error"), "blocked_by": bindparam("b_blocked"),
                              "items_seen": sources.c.items_seen + bindparam("b_items", type_=Integer)}
    if ok:
        values.update(last_success_at=at, consecutive_failures=0)
    else:
        values.update(consecutive_failures=sources.c.consecutive_failures + 1)
    if validated:
        values.update(etag=bindparam("b_etag"), last_modified=bindparam("b_last_modified"))
    return update(sources).where(sources.c.id == bindparam("b_id")).values(values)


_RECORD = {(ok, validated): _record_statement(ok, validated) for ok in (True, False) for validated in (True, False)}


def source_rows(conn: Connection, names: Sequence[str]) -> dict[str, Any]:
    """name -> row, for the names that have one."""
    query = select(sources).where(sources.c.name.in_(bindparam("names", expanding=True)))
    return {row.name: row for part in chunks(names) for row in conn.execute(query, {"names": part})}
