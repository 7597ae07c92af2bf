"""One feed source -> its items: a conditional GET, then feedparser on the raw bytes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Source
from ..models import ItemError, RawItem
from .feedfile import capped_item, read_feed
from .http import FetchError, HttpClient, resolves_to_loopback
from .pages import site_hosts

__all__ = ["FeedResult", "fetch_feed"]


@dataclass(frozen=True, slots=True)
class FeedResult:
    """A fetched feed. ``etag``/``last_modified`` are the validators to send next time (the old
    ones again after a 304); ``warning`` says the feed was malformed but still read."""

    status: int
    not_modified: bool
    etag: str | None
    last_modified: str | None
    final_url: str
    items: list[RawItem | ItemError] = field(default_factory=list)
    warning: str | None = None


def fetch_feed(client: HttpClient, source: Source, etag: str | None = None,
               last_modified: str | None = None) -> FeedResult:
    """Fetch and parse ``source``'s feed. Raises FetchError when the feed cannot be fetched or
    its bytes are not a feed at all; a bad item is an ItemError in ``items``."""
    if not source.url:
        raise FetchError(f"source:{source.name}", "feed source has no url", transient=False, kind="input")
    # A feed configured on loopback (a local mirror, a test server) may be fetched there, and its
    # redirects stay on its own site and port (not another local service); anything else the
    # feed points to must still be public.
    loopback = resolves_to_loopback(source.url, client.resolve)
    site = site_hosts(source.url, source.page.allowed_hosts) if loopback else None
    response = client.get(source.url, etag=etag, last_modified=last_modified, allowed_hosts=site,
                          allow_loopback=loopback, proxy=source.proxy)
    if response.not_modified:
        return FeedResult(status=response.status, not_modified=True, etag=response.etag or etag,
                          last_modified=response.last_modified or last_modified, final_url=response.url)
    feed = read_feed(response.body, response.url, base_url=response.url, content_type=response.content_type)
    if not feed.readable:
        raise FetchError(response.url, feed.problem or "not a feed", transient=False, status=response.status,
                         kind="parse")
    return FeedResult(status=response.status, not_modified=False, etag=response.etag,
                      last_modified=response.last_modified, final_url=response.url,
                      items=[capped_item(item) for item in feed.items], warning=feed.warning)
