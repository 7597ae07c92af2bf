"""Full text: fetch an item's article page on the feed's own site and extract the main text.

Extraction is trafilatura's, or a per-source CSS selector (``source.page.selector``) when
the site's layout defeats it; either way the page's lead goes first and its over-title into
``extra["kicker"]`` (``etl.fetch.layout``). The publication date comes from page metadata when
the feed gave none, as the raw string the cleaner's date chain reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import trafilatura
from bs4 import BeautifulSoup
from soupsieve import SelectorSyntaxError
from tld import get_fld

from ..config import Source
from ..models import ItemError, RawItem
from .addresses import site_key
from .budget import page_over_budget
from . import jsonnum
from .decode import DecodeError, decode_html
from .http import FetchError, HttpClient, resolves_to_loopback
from .layout import assemble, page_parts

__all__ = ["extract_text", "fetch_full_text", "page_published", "select_text", "site_hosts"]

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
_META_DATES = ("article:published_time", "og:article:published_time", "datepublished", "pubdate",
               "publishdate", "publish-date", "dc.date.issued", "dcterms.issued", "dc.date")
_ZWNJ = "\u200c"
_ZWNJ_FORMS = re.compile(r"\u200c|&zwnj;|&#8204;|&#x0*200c;", re.I)
# Letters from scripts no Persian page uses (Cyrillic multiocular O, Vai, Bamum).
_ZWNJ_STAND_INS = ("\ua66e", "\ua500", "\ua6a0")
_BLOCKS = ["p", "div", "li", "blockquote", "h2", "h3", "h4", "h5", "h6"]
_INVISIBLE = {"script", "style", "noscript", "template", "title", "head"}
_DIGIT = "[0-9\u06f0-\u06f9\u0660-\u0669]"
_JALALI_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر",
                  "دی", "بهمن", "اسفند")
# Old windows-1256 sites write Arabic yeh and kaf ("دي"); match either.
_MONTHS = "|".join(m.replace("ی", "[یي]").replace("ک", "[کك]") for m in _JALALI_MONTHS)
_TIME = rf"(?:\s*[-،,|]?\s*(?:ساعت\s*)?{_DIGIT}{{1,2}}:{_DIGIT}{{2}})?"
# "۱۴۰۴/۱۰/۱۸ - ۱۴:۱۴" or "۱۸ دی ۱۴۰۴ - ۱۴:۱۴": a Jalali year is 13xx or 14xx.
_VISIBLE_DATE = re.compile(
    rf"(?<!{_DIGIT})[1۱١][34۳۴٣٤]{_DIGIT}{{2}}/{_DIGIT}{{1,2}}/{_DIGIT}{{1,2}}(?!{_DIGIT}){_TIME}"
    rf"|(?<!{_DIGIT}){_DIGIT}{{1,2}}\s+(?:{_MONTHS})\s+[1۱١][34۳۴٣٤]{_DIGIT}{{2}}(?!{_DIGIT}){_TIME}"
)


def site_hosts(feed_url: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The hosts whose pages count as the feed's own site: the feed's host, its registrable
    domain, their www/non-www twins, and ``extra`` (a source's ``allowed_hosts``). A feed on a
    non-standard port adds its ``host:port`` (``site_key``): bare hosts admit ports 80/443 only.

    ``"https://rss.tasnimnews.com/fa"`` -> ``{"rss.tasnimnews.com", "www.rss.tasnimnews.com",
    "tasnimnews.com", "www.tasnimnews.com"}``.
    """
    hosts: set[str] = set()
    feed_host = _hostname(feed_url)
    registrable = get_fld(feed_url, fail_silently=True) if feed_host else None
    for host in (feed_host, registrable, *extra):
        if host:
            hosts.update(_with_twin(host.strip().rstrip(".").lower()))
    for url in (feed_url, *(f"//{e.strip()}" for e in extra)):
        if _hostname(url) and _explicit_port(url):
            hosts.update({_hostname(url), site_key(_hostname(url), _explicit_port(url))})
    return frozenset(hosts)


def _explicit_port(url: str | None) -> int | None:
    try:
        return urlsplit(url or "").port
    except ValueError:
        return None


def _with_twin(host: str) -> set[str]:
    """``"mehrnews.com" -> {"mehrnews.com", "www.mehrnews.com"}``; an IP address has no twin."""
    if host.startswith("www."):
        return {host, host[4:]}
    if host.replace(".", "").isdigit() or ":" in host:
        return {host}
    return {host, f"www.{host}"}


def fetch_full_text(client: HttpClient, item: RawItem, source: Source,
                    feed_host_set: frozenset[str] | None = None) -> RawItem | ItemError:
    """``item`` with ``body`` = the article page's main text and the feed's lead as ``summary``.

    Links off the feed's site are refused before any request. Failures are ItemErrors whose
    reason says "(transient)" when fetching again later may help; a bot wall is not the item's
    failure but the site's, so its FetchError (kind ``blocked``) is raised for the pass to end on.
    """
    if not item.url:
        return ItemError(item.location, "full text: item has no link")
    hosts = feed_host_set if feed_host_set is not None else site_hosts(source.url, source.page.allowed_hosts)
    host = _hostname(item.url)
    if host not in hosts:
        return ItemError(item.location, f"off-site link: {host or 'no host'} is not the feed's site", item.url)
    loopback = bool(source.url) and resolves_to_loopback(source.url, client.resolve)
    try:
        response = client.get(item.url, allowed_hosts=hosts, allow_loopback=loopback, proxy=source.proxy)
    except FetchError as exc:
        if exc.kind == "blocked":
            raise
        return ItemError(item.location, f"full text: {exc.reason}{' (transient)' if exc.transient else ''}", item.url)
    return page_to_item(item, response.body, response.content_type, response.url, source.page.selector)


def page_to_item(item: RawItem, body: bytes, content_type: str | None, page_url: str,
                 selector: str | None = None) -> RawItem | ItemError:
    """The pure half of ``fetch_full_text``: page bytes -> the item with its full text."""
    media = (content_type or "text/html").split(";")[0].strip().lower()
    if media not in _HTML_TYPES:
        return ItemError(item.location, f"full text: not an HTML page ({media})", page_url)
    over = page_over_budget(body)  # before any tree is built: a page must not cost the pass its memory
    if over:
        return ItemError(item.location, f"full text: {over}", page_url)
    try:
        text = decode_html(body, content_type)
    except DecodeError as exc:
        return ItemError(item.location, f"full text: {exc.reason}", page_url)
    soup = BeautifulSoup(text, "lxml")
    try:
        main = select_text(soup, selector) if selector else _drop_headline(extract_text(text, page_url), item, soup)
    except SelectorSyntaxError as exc:
        return ItemError(item.location, f"full text: bad selector {selector!r}: {exc}".splitlines()[0], page_url)
    if not main:
        why = f"selector {selector!r} matched no text" if selector else "no article text found on the page"
        return ItemError(item.location, f"full text: {why}", page_url)
    parts = page_parts(soup)
    article = assemble(main, parts, item.title or _headline(soup))
    extra = {**item.extra, "full_text": True}
    if parts.kicker:
        extra["kicker"] = parts.kicker
    if page_url != item.url:
        extra["page_url"] = page_url
    return replace(item, body=article, summary=item.summary or item.body,
                   published=item.published or page_published(soup), extra=extra)


def extract_text(html: str, url: str | None = None) -> str:
    """The page's main text, paragraphs one per line (trafilatura), or ``""``."""
    # trafilatura drops characters that are not "printable", and the zero-width non-joiner of
    # Persian words ("می‌شود") is one: carry it through as a printable stand-in.
    stand_in = next((c for c in _ZWNJ_STAND_INS if c not in html), None)
    if stand_in:
        html = _ZWNJ_FORMS.sub(stand_in, html)
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=False,
                               include_images=False, favor_precision=True, output_format="txt")
    text = _lines(text or "")
    return text.replace(stand_in, _ZWNJ) if stand_in else text


def _drop_headline(text: str, item: RawItem, soup: BeautifulSoup) -> str:
    """The body without a first line that repeats the headline (trafilatura often keeps the <h1>)."""
    first, _, rest = text.partition("\n")
    headlines = {_squash(item.title or ""), _squash(_headline(soup) or "")} - {""}
    return rest if rest and _squash(first) in headlines else text


def _headline(soup: BeautifulSoup) -> str | None:
    h1 = soup.find("h1")
    return h1.get_text(" ") if h1 else None


def _squash(text: str) -> str:
    return " ".join(text.replace(_ZWNJ, "").split())


def select_text(soup: BeautifulSoup, selector: str) -> str:
    """Text of the elements ``selector`` matches; paragraphs inside them one per line."""
    lines: list[str] = []
    for element in soup.select(selector):
        # Paragraphs are the innermost blocks: <p>s, or <div>s on sites that write no <p> (Tabnak).
        paragraphs = [b for b in element.find_all(_BLOCKS) if b.find(_BLOCKS) is None] or [element]
        lines.extend(p.get_text(" ", strip=True) for p in paragraphs)
    return _lines("\n".join(lines))


def page_published(soup: BeautifulSoup) -> str | None:
    """The publication date the page states, as written: meta tags, then JSON-LD, then
    ``<time datetime>``, then a visible Jalali date (``"۱۴۰۴/۱۰/۱۸ - ۱۴:۱۴"``)."""
    for finder in (_meta_date, _jsonld_date, _time_date, _visible_date):
        found = finder(soup)
        if found:
            return found.strip()
    return None


def _meta_date(soup: BeautifulSoup) -> str | None:
    for meta in soup.find_all("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _META_DATES and meta.get("content", "").strip():
            return meta["content"]
    return None


def _jsonld_date(soup: BeautifulSoup) -> str | None:
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = jsonnum.loads(script.string or "")
        except (json.JSONDecodeError, RecursionError):
            continue  # a broken (or absurdly deep) JSON-LD block is common and says nothing about the others
        for node in _walk(data):
            value = node.get("datePublished")
            if isinstance(value, str) and value.strip():
                return value
    return None


def _walk(data: Any) -> Iterator[dict]:
    """Every dict in a JSON-LD document (``@graph`` lists and nested objects included)."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _walk(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value)


def _time_date(soup: BeautifulSoup) -> str | None:
    tag = soup.find("time", attrs={"datetime": True})
    return tag["datetime"] if tag and tag["datetime"].strip() else None


def _visible_date(soup: BeautifulSoup) -> str | None:
    visible = (s for s in soup.find_all(string=True) if s.parent.name not in _INVISIBLE)
    match = _VISIBLE_DATE.search(" ".join(visible))
    return match.group(0) if match else None


def _hostname(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
