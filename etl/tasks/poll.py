"""Poll one feed source: fetch the feed (a conditional GET), fetch the pages of its new or changed
items (``full_text``), clean everything, load it in one batch. One run, one way through the
stages: fetch -> clean -> load.

Which items are new or changed is known before anything is cleaned: each item's raw hash (its
fields and the cleaning version, ``etl.clean.version.raw_hash``) is stored with the article it
became, so an item seen before is counted unchanged and neither its page fetched nor cleaned again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..clean.agency import agency_table
from ..clean.article import content_hash, to_article
from ..clean.version import cleaning_version, raw_hash
from ..config import Source
from ..fetch.errors import FetchError
from ..fetch.feeds import fetch_feed
from ..fetch.pages import fetch_full_text, site_hosts
from ..load.batch import load_isolating
from ..load.prepare import Prepared, prepare
from ..load.upsert import known_raw_hashes
from ..models import Article, ItemError, RawItem, RunReport
from .context import Context
from .lifecycle import Run, perform

__all__ = ["poll_feed"]


def poll_feed(context: Context, source: Source) -> RunReport:
    """One pass of a feed source, as its own run; its outcome goes on the source row. Never raises
    for what goes wrong in the pass: the report's ``failure`` says what."""
    report = RunReport(kind="fetch", source=source.name)
    return perform(context, source, report, {"url": source.url}, _poll, record_pass=True)


def _poll(run: Run) -> None:
    feed = fetch_feed(run.context.client, run.source, run.row.etag, run.row.last_modified)
    run.outcome.status, run.outcome.warning = feed.status, feed.warning
    if feed.not_modified:  # a 304 has nothing to load: no transaction for it; the validators stay
        run.outcome.validators = (feed.etag, feed.last_modified)
        return
    fetched_at = run.context.now()
    todo, known, failed = _sort(run, feed.items)
    pages, wall = _pages(run, todo) if run.source.full_text else ([item for item, _ in todo], None)
    articles, errors = _clean(run, todo, pages, fetched_at)
    # One article the database refuses fails alone; the rest of the feed loads.
    failed = load_isolating(run.engine, run.source_id, run.report, articles, failed + errors, fetched_at,
                            known, adopt_url_keys=True, alerts=run.context.alerts)
    if wall is not None:
        # The site walls us: the pages read before the wall are stored (whole articles), the walled
        # one and the rest are not (never as lead-only articles), and the pass fails as blocked;
        # its validators stay, so the next pass sees those items again.
        raise wall
    # Validators advance only when every item made it, so failed items are seen again next time.
    run.outcome.items = len(feed.items)
    run.outcome.validators = (feed.etag, feed.last_modified) if not failed else None


def _sort(run: Run, items: Sequence[RawItem | ItemError]) -> tuple[list[tuple[RawItem, str]], int, list[ItemError]]:
    """(items to fetch and clean with their raw hashes, how many are stored already, reader failures)."""
    version = cleaning_version(run.context.agencies)
    hashed = [(item, raw_hash(item, version)) for item in items if isinstance(item, RawItem)]
    with run.engine.connect() as conn:
        stored = known_raw_hashes(conn, run.source_id, [h for _, h in hashed])
    todo = [(item, h) for item, h in hashed if h not in stored]
    return todo, len(hashed) - len(todo), [item for item in items if isinstance(item, ItemError)]


def _pages(run: Run, todo: list[tuple[RawItem, str]]) -> tuple[list[RawItem | ItemError], FetchError | None]:
    """Each item with its page's full text (``fetch_full_text``), or why the page failed; up to
    the first page a bot wall answered, if any (then the wall's error: no more pages are asked for)."""
    hosts = site_hosts(run.source.url, run.source.page.allowed_hosts)
    pages: list[RawItem | ItemError] = []
    for item, _ in todo:
        try:
            pages.append(fetch_full_text(run.context.client, item, run.source, hosts) if item.url else item)
        except FetchError as exc:  # only a wall escapes fetch_full_text
            return pages, exc
    return pages, None


def _clean(run: Run, todo: list[tuple[RawItem, str]], pages: list[RawItem | ItemError],
           fetched_at) -> tuple[list[Prepared], list[ItemError]]:
    agencies = agency_table(run.context.agencies)
    articles: list[Prepared] = []
    errors: list[ItemError] = []
    for (item, hashed), page in zip(todo, pages):
        article = _article(item, page, fetched_at, agencies, run.source.full_text)
        if isinstance(article, ItemError):
            errors.append(article)
        else:
            articles.append(prepare(article, hashed))
    return articles, errors


def _article(item: RawItem, page: RawItem | ItemError, fetched_at, agencies, full_text: bool) -> Article | ItemError:
    """The article an item becomes; with full text, its page's, remembering the feed item's own
    content hash (``meta.feed_hash``, part of the article's content hash, as stored since issue 5)."""
    if isinstance(page, ItemError):
        return page
    article = to_article(page, fetched_at, agencies)
    if not full_text or isinstance(article, ItemError):
        return article
    feed_article = to_article(item, fetched_at, agencies)
    if isinstance(feed_article, ItemError):
        return feed_article
    meta = {**article.meta, "feed_hash": feed_article.content_hash}
    return replace(article, meta=meta, content_hash=content_hash({"article": article.content_hash, "meta": meta}))
