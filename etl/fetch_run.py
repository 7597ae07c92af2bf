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

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .clean.agency import agency_table
from .clean.article import content_hash, to_article
from .config import DEFAULT_CONCURRENCY, Source
from .fetch.feeds import FeedResult, fetch_feed
from .fetch.addresses import url_host
from .fetch.http import FetchError, HttpClient
from .fetch.pages import fetch_full_text, site_hosts
from .load.queries import feed_hashes, keys_by_url
from .load.passes import PassWrites
from .load.upsert import stored_hashes
from .load.sources import FetchRecord
from .models import Article, ItemError, RawItem, RunReport
from .pipeline import Clock, first_line, load_isolating

log = logging.getLogger("etl.fetch")
WORKERS = DEFAULT_CONCURRENCY  # the older name, for callers that still import it


def run_fetch(engine: Engine, feeds: Sequence[Source], client: HttpClient, now: Clock,
              workers: int = DEFAULT_CONCURRENCY) -> list[RunReport]:
    """One pass over ``feeds``; a report per source, in the order given. The workers share one
    ``PassWrites``, so their runs' starts and ends are committed many per transaction."""
    order = spread_by_host(feeds)
    writes = PassWrites(engine)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(feeds)))) as pool:
        reports = list(pool.map(lambda i: fetch_source(engine, feeds[i], client, now, writes), order))
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


def fetch_source(engine: Engine, source: Source, client: HttpClient, now: Clock,
                 writes: PassWrites | None = None) -> RunReport:
    """One source's pass. It never raises: whatever goes wrong is on the report, the source row
    (failure count, last error, hence its backoff) and the run row (finished, not 'running').
    Callers that poll many sources at once share one ``writes``."""
    writes = writes or PassWrites(engine)
    report = RunReport(kind="fetch", source=source.name)
    source_id = record = None
    try:
        started = writes.start(source.name, {"url": source.url}, now())
        if started is None:
            raise LookupError(f"source {source.name!r} has no row in the sources table")
        row, report.run_id = started
        source_id = row.id
        record = _fetch_and_load(engine, source, row, client, now, report)
    except SQLAlchemyError as exc:
        report.error = f"database error: {first_line(exc)}"
        if source_id is not None:  # a refused statement fails the source too, not just its run
            record = FetchRecord(source_id, now(), status=None, ok=False, error=report.error)
    except Exception as exc:  # a bug, or input nobody foresaw: this source fails, the others go on
        log.error("unexpected error in the pass of %s", source.name, exc_info=True)
        report.error = unexpected_error(exc)
        if source_id is not None:
            record = FetchRecord(source_id, now(), status=None, ok=False, error=report.error)
    if report.run_id is not None or record is not None:
        _finish(writes, record, report, now)
    return report


def _finish(writes: PassWrites, record: FetchRecord | None, report: RunReport, now: Clock) -> None:
    """The outcome and the run's end; when the database refuses the outcome, the run still ends
    (failed, saying why), as it did when they were two transactions."""
    try:
        writes.finish(record, report, now())
        return
    except SQLAlchemyError as exc:
        # The database is gone, or refused the outcome; the report says why.
        report.error = report.error if record is None and report.error else f"database error: {first_line(exc)}"
        if record is None:
            return
    try:
        writes.finish(None, report, now())
    except SQLAlchemyError:
        log.warning("cannot finish the run of %s", report.source, exc_info=True)


def unexpected_error(exc: BaseException) -> str:
    """``"unexpected error: UnicodeEncodeError: ..."``, one line that any database can store
    (a lone surrogate or NUL in the message is escaped)."""
    text = f"unexpected error: {type(exc).__name__}: {first_line(exc)}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:500]


def _fetch_and_load(engine, source: Source, row, client: HttpClient, now: Clock,
                    report: RunReport) -> FetchRecord:
    """Fetch and load; the outcome to store on the source row (the caller stores it)."""
    try:
        feed = fetch_feed(client, source, row.etag, row.last_modified)
    except FetchError as exc:
        report.error = str(exc)
        return FetchRecord(row.id, now(), status=exc.status, ok=False, error=str(exc))
    errors = _load(engine, source, row.id, feed, client, report, now())
    # Validators advance only when every item made it, so failed items are seen again next time.
    validators = (feed.etag, feed.last_modified) if not errors else None
    return FetchRecord(row.id, now(), status=feed.status, ok=True, error=feed.warning,
                       validators=validators, items=len(feed.items))


def _load(engine, source: Source, source_id: int, feed: FeedResult, client: HttpClient, report: RunReport,
          fetched_at) -> list[ItemError]:
    """Clean and load the feed's items in one batch; the items that failed."""
    if feed.not_modified:
        return []  # a 304 has nothing to load: no transaction for it
    articles, errors, unchanged = _clean(engine, source, source_id, feed, client, fetched_at)
    # One article the database refuses fails alone; the rest of the feed loads.
    failed = load_isolating(engine, source_id, report, articles, errors, fetched_at, unchanged)
    return failed


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
    with engine.connect() as conn:
        return feed_hashes(conn, source_id, keys)
