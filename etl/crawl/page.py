"""An article page found by a crawl -> an Article, through the same page pipeline as full-text
feeds (``etl.fetch.pages.page_to_item``: main text, lead, date, ZWNJ) and the same cleaner."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bs4 import BeautifulSoup

from ..clean.agency import AgencyTable
from ..clean.article import to_article
from ..clean.dates import TEHRAN
from ..config import Source
from ..fetch.decode import DecodeError, decode_html
from ..fetch.http import Response
from ..fetch.pages import page_to_item
from ..models import Article, ItemError, RawItem

__all__ = ["page_article", "page_title", "sitemap_date"]

_TITLE_METAS = ("og:title", "twitter:title")


def page_article(url: str, response: Response, source: Source, fetched_at: datetime,
                 key: str | None = None, sitemap_date: str | None = None,
                 agencies: AgencyTable | None = None) -> Article | ItemError:
    """The Article a fetched page holds; ``key`` (an article already stored for this URL, e.g. by
    the feed under its GUID) keeps crawl and feed on one row; ``sitemap_date`` (what the sitemap
    said: ``"2024-08-02T10:00:00+03:30"`` or a URL's day ``"2024-08-02"``) dates a page that
    states no date itself; ``agencies``: the table the sources file's ``[agencies]`` extends."""
    item = RawItem(location=url, url=url, title=page_title(response.body, response.content_type),
                   extra={"crawled": True})
    page = page_to_item(item, response.body, response.content_type, response.url, source.page.selector)
    if isinstance(page, ItemError):
        return page
    if not page.published and sitemap_date:
        page = replace(page, published=sitemap_date)
    article = to_article(page, fetched_at, agencies)
    if isinstance(article, Article) and key and key != article.key:
        article = replace(article, key=key)
    return article


def sitemap_date(date_from: datetime | None, date_to: datetime | None) -> str | None:
    """The frontier's dates as the cleaner reads them: an instant in ISO, a URL's Tehran day as a
    date (stored as that day, time unknown)."""
    if date_from is None:
        return None
    if date_to is None or date_to == date_from:
        return date_from.isoformat()
    return date_from.astimezone(TEHRAN).date().isoformat()


def page_title(body: bytes, content_type: str | None) -> str | None:
    """The headline a page states: ``og:title``, else its ``<h1>``, else ``<title>``."""
    try:
        soup = BeautifulSoup(decode_html(body, content_type), "lxml")
    except DecodeError:
        return None  # page_to_item reports the undecodable page
    for name in _TITLE_METAS:
        meta = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if meta and meta.get("content", "").strip():
            return meta["content"].strip()
    for tag in (soup.find("h1"), soup.title):
        if tag and tag.get_text(strip=True):
            return tag.get_text(" ", strip=True)
    return None
