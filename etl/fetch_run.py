"""fetch -> clean -> load for feed sources: one run (and one ingest_runs row) per source.

Sources are fetched concurrently; the HTTP client keeps each host polite (a concurrency limit
and a minimum delay per host). A failing source is recorded on its row and in its run; the others
go on. For ``full_text`` sources only new or changed feed items have their page fetched: the
feed item's own hash is kept in ``meta.feed_hash`` and compared on the next pass.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Sequence

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from .clean.agency import agency_table
from .clean.article import content_hash, to_article
from .config import DEFAULT_CONCURRENCY, Source
from .fetch.feeds import FeedResult, fetch_feed
from .fetch.addresses import url_host
from .fetch.http import FetchError, HttpClient
from .fetch.pages import fetch_full_text, site_hosts
from .load.queries import keys_by_url
from .load.runs import start_run
from .load.upsert import stored_hashes
from .load.schema import articles
from .load.sources import record_fetch, source_row
from .models import Article, ItemError, RawItem, RunReport
from .pipeline import Clock, finish, first_line, load_batch

log = logging.getLogger("etl.fetch")
WORKERS = DEFAULT_CONCURRENCY  # the older name, for callers that still import it


def run_fetch(engine: Engine, feeds: Sequence[Source], client: HttpClient, now: Clock,
              workers: int = DEFAULT_CONCURRENCY) -> list[RunReport]:
    """One pass over ``feeds``; a report per source, in the order given."""
    order = spread_by_host(feeds)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(feeds)))) as pool:
        reports = list(pool.map(lambda i: fetch_source(engine, feeds[i], client, now), order))
    by_index = dict(zip(order, reports))
    return [by_index[i] for i in range(len(feeds))]


def spread_by_host(feeds: Sequence[Source]) -> list[int]:
    """Indexes of ``feeds`` taking one source of each host in turn: ``[a1, a2, b1] -> [a1, b1, a2]``.
    Sources of one host wait per_host_delay for each other; started back to back they would hold
    every worker while the other hosts idle."""
    queues: dict[str, list[int]] = {}
    for index, source in enumerate(feeds):
        queues.setdefault(url_host(source.url or ""), []).append(index)
    order: list[int] = []
    for round_ in range(max((len(q) for q in queues.values()), default=0)):
        order += [q[round_] for q in queues.values() if round_ < len(q)]
    return order


def fetch_source(engine: Engine, source: Source, client: HttpClient, now: Clock) -> RunReport:
    """One source's pass. It never raises: whatever goes wrong is on the report, the source row
    (failure count, last error, hence its backoff) and the run row (finished, not 'running')."""
    report = RunReport(kind="fetch", source=source.name)
    source_id = None
    try:
        with engine.begin() as conn:
            row = source_row(conn, source.name)
            source_id = row.id
            report.run_id = start_run(conn, "fetch", row.id, {"url": source.url}, now())
        _fetch_and_load(engine, source, row, client, now, report)
    except SQLAlchemyError as exc:
        report.error = f"database error: {first_line(exc)}"
    except Exception as exc:  # a bug, or input nobody foresaw: this source fails, the others go on
        log.error("unexpected error in the pass of %s", source.name, exc_info=True)
        report.error = unexpected_error(exc)
        _record_failure(engine, source_id, report.error, now)
    if report.run_id is not None:
        finish(engine, report, now)
    return report


def unexpected_error(exc: BaseException) -> str:
    """``"unexpected error: UnicodeEncodeError: ..."``, one line that any database can store
    (a lone surrogate or NUL in the message is escaped)."""
    text = f"unexpected error: {type(exc).__name__}: {first_line(exc)}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:500]


def _record_failure(engine: Engine, source_id: int | None, error: str, now: Clock) -> None:
    if source_id is None:
        return
    try:
        with engine.begin() as conn:
            record_fetch(conn, source_id, now(), status=None, ok=False, error=error)
    except SQLAlchemyError:
        log.warning("cannot record the failure of source %s", source_id, exc_info=True)


def _fetch_and_load(engine, source: Source, row, client: HttpClient, now: Clock, report: RunReport) -> None:
    try:
        feed = fetch_feed(client, source, row.etag, row.last_modified)
    except FetchError as exc:
        report.error = str(exc)
        with engine.begin() as conn:
            record_fetch(conn, row.id, now(), status=exc.status, ok=False, error=str(exc))
        return
    errors = _load(engine, source, row.id, feed, client, report, now())
    # Validators advance only when every item made it, so failed items are seen again next time.
    validators = (feed.etag, feed.last_modified) if not errors else None
    with engine.begin() as conn:
        record_fetch(conn, row.id, now(), status=feed.status, ok=True, error=feed.warning,
                     validators=validators, items=len(feed.items))


def _load(engine, source: Source, source_id: int, feed: FeedResult, client: HttpClient, report: RunReport,
          fetched_at) -> list[ItemError]:
    """Clean and load the feed's items in one batch; the items that failed."""
    if feed.not_modified:
        return []  # a 304 has nothing to load: no transaction for it
    articles, errors, unchanged = _clean(engine, source, source_id, feed, client, fetched_at)
    load_batch(engine, source_id, report, articles, errors, fetched_at, known_unchanged=unchanged)
    return errors


def _clean(engine, source: Source, source_id: int, feed: FeedResult, client: HttpClient, fetched_at):
    """Feed items -> Articles; for full-text sources, pages of new or changed items only."""
    agencies = agency_table(source.agencies)
    cleaned = [to_article(item, fetched_at, agencies) if isinstance(item, RawItem) else item for item in feed.items]
    errors = [c for c in cleaned if isinstance(c, ItemError)]
    pairs = _adopt_stored_keys(engine, source_id,
                               [(raw, art) for raw, art in zip(feed.items, cleaned) if isinstance(art, Article)])
    if not source.full_text:
        return [art for _, art in pairs], errors, 0
    stored = _stored_feed_hashes(engine, source_id, [art.key for _, art in pairs])
    hosts = site_hosts(source.url, source.options.get("allowed_hosts", ()))
    articles, unchanged = [], 0
    for raw, art in pairs:
        if stored.get(art.key) == art.content_hash:
            unchanged += 1
            continue
        full = _with_full_text(client, raw, source, hosts, art.content_hash, fetched_at)
        (articles if isinstance(full, Article) else errors).append(full)
    return articles, errors, unchanged


def _adopt_stored_keys(engine: Engine, source_id: int, pairs: list) -> list:
    """An item whose key is new but whose URL is stored under another key (a page the archive
    crawl stored, keyed by its URL, that the feed now lists under a GUID) keeps that row's key:
    one article, one row, whichever saw it first."""
    keys = [art.key for _, art in pairs]
    with engine.connect() as conn:
        known = set(stored_hashes(conn, source_id, keys))
        by_url = keys_by_url(conn, source_id, [art.url for _, art in pairs if art.url and art.key not in known])
    return [(raw, replace(art, key=by_url[art.url]) if art.key not in known and by_url.get(art.url) else art)
            for raw, art in pairs]


def _with_full_text(client, raw: RawItem, source: Source, hosts, feed_hash: str, fetched_at) -> Article | ItemError:
    page = fetch_full_text(client, raw, source, hosts) if raw.url else raw
    if isinstance(page, ItemError):
        return page
    article = to_article(page, fetched_at, agency_table(source.agencies))
    if isinstance(article, ItemError):
        return article
    meta = {**article.meta, "feed_hash": feed_hash}
    return replace(article, meta=meta, content_hash=content_hash({"article": article.content_hash, "meta": meta}))


def _stored_feed_hashes(engine: Engine, source_id: int, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    query = select(articles.c.key, articles.c.meta["feed_hash"].as_string()).where(
        articles.c.source_id == source_id, articles.c.key.in_(keys))
    with engine.connect() as conn:
        return {key: value for key, value in conn.execute(query) if value}
