"""The crawl's frontier: ``crawl_sitemaps`` and ``crawl_pages``, one row per URL a crawl of a
source has found, with its state. Written as the crawl goes, so a crawl killed at any point
resumes from the table: fetched sitemaps are read back instead of fetched, fetched pages are
never fetched again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..crawl.select import Window
from .queries import keys_by_url
from .schema import crawl_pages, crawl_sitemaps, ingest_runs

__all__ = ["PageRow", "add_pages", "add_sitemaps", "candidate_pages", "children", "last_range",
           "mark_page", "mark_sitemap", "page_counts", "pages_by_id", "sitemap_row", "stored_keys"]

RETRYABLE = ("pending", "failed")


@dataclass(frozen=True, slots=True)
class PageRow:
    """An article URL as a sitemap listed it."""

    url: str
    lastmod: datetime | None
    date_from: datetime | None
    date_to: datetime | None


def _insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def add_sitemaps(conn: Connection, source_id: int, parent_id: int | None,
                 entries: Sequence[tuple[str, datetime | None]]) -> None:
    """Record the sitemaps an index (or discovery, ``parent_id`` None) lists, in their order;
    a known one gets its new position and lastmod, its state stays."""
    if not entries:
        return
    rows = [{"source_id": source_id, "url": url, "parent_id": parent_id, "position": i, "lastmod": lastmod}
            for i, (url, lastmod) in enumerate(entries)]
    statement = _insert(conn, crawl_sitemaps)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["source_id", "url"],
        set_={"parent_id": statement.excluded.parent_id, "position": statement.excluded.position,
              "lastmod": statement.excluded.lastmod}), rows)


def sitemap_row(conn: Connection, source_id: int, url: str) -> Any:
    return conn.execute(select(crawl_sitemaps).where(crawl_sitemaps.c.source_id == source_id,
                                                     crawl_sitemaps.c.url == url)).first()


def children(conn: Connection, source_id: int, parent_id: int | None, urls: Sequence[str] | None = None) -> list:
    """The sitemaps ``parent_id`` lists, in index order (for discovery roots: ``urls``, in order)."""
    query = select(crawl_sitemaps).where(crawl_sitemaps.c.source_id == source_id)
    if urls is not None:
        rows = {r.url: r for r in conn.execute(query.where(crawl_sitemaps.c.url.in_(list(urls))))}
        return [rows[u] for u in urls if u in rows]
    return list(conn.execute(query.where(crawl_sitemaps.c.parent_id == parent_id)
                             .order_by(crawl_sitemaps.c.position)))


def mark_sitemap(conn: Connection, sitemap_id: int, **values: Any) -> None:
    """State after a fetch: ``state``, ``kind``, ``entries``, ``oldest``, ``newest``, ``fetched_at``,
    ``error``, ``transient``."""
    conn.execute(update(crawl_sitemaps).where(crawl_sitemaps.c.id == sitemap_id).values(**values))


def add_pages(conn: Connection, source_id: int, sitemap_id: int, pages: Iterable[PageRow]) -> None:
    """Record a sitemap's article URLs; a known URL gets the sitemap's newer dates, its state stays."""
    rows = [{"source_id": source_id, "url": p.url, "sitemap_id": sitemap_id, "lastmod": p.lastmod,
             "date_from": p.date_from, "date_to": p.date_to} for p in pages]
    if not rows:
        return
    statement = _insert(conn, crawl_pages)
    for start in range(0, len(rows), 1000):
        conn.execute(statement.on_conflict_do_update(
            index_elements=["source_id", "url"],
            set_={name: statement.excluded[name] for name in ("sitemap_id", "lastmod", "date_from", "date_to")}),
            rows[start:start + 1000])


def candidate_pages(conn: Connection, source_id: int, window: Window, states: Sequence[str]) -> list:
    """Pages in ``states`` whose stored dates do not rule them out of ``window`` (the exact
    verdict is ``select.page_verdict``), oldest first."""
    c = crawl_pages.c
    dated = and_(c.date_from.is_not(None), c.date_from < window.until,
                 or_(c.date_to > window.since, c.date_from >= window.since))
    undated = and_(c.date_from.is_(None), or_(c.lastmod.is_(None), c.lastmod >= window.since))
    query = (select(crawl_pages).where(c.source_id == source_id, c.state.in_(list(states)), or_(dated, undated))
             .order_by(c.date_from, c.id))
    return list(conn.execute(query))


def pages_by_id(conn: Connection, source_id: int, ids: Sequence[int]) -> list:
    """The frontier rows of a queued crawl slice, in the given order."""
    rows = {r.id: r for r in conn.execute(select(crawl_pages).where(crawl_pages.c.source_id == source_id,
                                                                       crawl_pages.c.id.in_(list(ids))))}
    return [rows[i] for i in ids if i in rows]


def mark_page(conn: Connection, page_id: int, state: str, now: datetime, *, key: str | None = None,
              error: str | None = None, transient: bool | None = None, attempt: bool = True) -> None:
    values: dict[str, Any] = {"state": state, "error": error, "transient": transient}
    if attempt:
        values.update(fetched_at=now, attempts=crawl_pages.c.attempts + 1)
    if key is not None:
        values["article_key"] = key
    conn.execute(update(crawl_pages).where(crawl_pages.c.id == page_id).values(values))


def page_counts(conn: Connection, source_id: int) -> dict[str, int]:
    query = select(crawl_pages.c.state, func.count()).where(crawl_pages.c.source_id == source_id) \
        .group_by(crawl_pages.c.state)
    return dict(conn.execute(query).all())


def stored_keys(conn: Connection, source_id: int, urls: Sequence[str]) -> dict[str, str]:
    """url -> key of articles already stored for these URLs (e.g. by the feed, under its GUID)."""
    return keys_by_url(conn, source_id, urls)


def last_range(conn: Connection, source_id: int) -> tuple[str, str] | None:
    """``(since, until)`` (ISO) of the source's latest crawl run, for ``--resume`` without dates."""
    query = (select(ingest_runs.c.detail).where(ingest_runs.c.source_id == source_id, ingest_runs.c.kind == "crawl")
             .order_by(ingest_runs.c.id.desc()).limit(1))
    detail = conn.execute(query).scalar()
    if not detail or "since" not in detail:
        return None
    return detail["since"], detail["until"]
