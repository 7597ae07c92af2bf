"""One batch into its run: the articles, the failures and the run's counters in one transaction,
and the report follows once it is committed. A run killed at any moment leaves whole batches
behind, and rerunning it converges on the same rows."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from ..errors import first_line
from ..models import Article, ItemError, RunReport
from .index import settle
from .prepare import Prepared
from .runs import add_counts, record_errors
from .upsert import write_articles
from .watches import match_batch

__all__ = ["REPORT_ERRORS", "load_batch", "load_isolating"]

REPORT_ERRORS = 20  # failures kept on the report object; all are in ingest_errors


def load_batch(engine: Engine, source_id: int, report: RunReport, articles: Sequence[Article | Prepared],
               errors: list[ItemError], fetched_at: datetime, known_unchanged: int = 0,
               adopt_url_keys: bool = False, alerts: bool = False) -> None:
    """Articles, failures and the run's counters in one transaction; the report follows.
    ``known_unchanged`` counts items the caller already found unchanged and did not clean;
    ``adopt_url_keys``: a new key whose URL the source stored under another key takes that key
    (a page the crawl stored by its URL, that the feed now lists under a GUID: one row);
    ``alerts``: the watches' hits among the articles this batch adds or changes are recorded in
    the same transaction (the outbox: a hit is never lost nor recorded twice)."""
    hits = 0
    with engine.begin() as conn:
        counts = write_articles(conn, source_id, articles, fetched_at, adopt_url_keys=adopt_url_keys)
        if alerts and (counts.new_ids or counts.updated_ids):
            hits = match_batch(conn, counts.new_ids, counts.updated_ids, fetched_at)
        record_errors(conn, report.run_id, source_id, errors, fetched_at)
        delta = {"seen": len(articles) + len(errors) + known_unchanged, "new": counts.new,
                 "updated": counts.updated, "unchanged": counts.unchanged + known_unchanged,
                 "failed": len(errors)}
        add_counts(conn, report.run_id, delta)
    for name, value in delta.items():
        setattr(report, name, getattr(report, name) + value)
    report.hits += hits
    report.errors.extend(errors[: max(0, REPORT_ERRORS - len(report.errors))])
    # After the report counts the committed batch: a database lost here stops the run, not the count.
    settle(engine, counts.new)


def load_isolating(engine: Engine, source_id: int, report: RunReport, articles: Sequence[Article | Prepared],
                   errors: list[ItemError], fetched_at: datetime, unchanged: int = 0,
                   adopt_url_keys: bool = False, alerts: bool = False) -> list[ItemError]:
    """``load_batch``; when the database refuses the batch's data (not a lost connection, which
    stops the run), each article is loaded in a transaction of its own and the ones it refuses are
    recorded as failed items, so one bad value costs one item, not the run. Returns the batch's
    failed items: ``errors`` and the articles refused."""
    try:
        load_batch(engine, source_id, report, articles, errors, fetched_at, unchanged, adopt_url_keys, alerts)
        return list(errors)
    except (DataError, IntegrityError):
        pass  # the transaction rolled back whole; find the articles it refuses
    refused = list(errors)
    for item in articles:
        try:
            load_batch(engine, source_id, report, [item], [], fetched_at, adopt_url_keys=adopt_url_keys, alerts=alerts)
        except (DataError, IntegrityError) as exc:
            article = item.article if isinstance(item, Prepared) else item
            refused.append(ItemError(article.location, f"database refused the article: {first_line(exc)}",
                                     article.title[:300]))
    load_batch(engine, source_id, report, [], refused, fetched_at, unchanged)
    return refused
