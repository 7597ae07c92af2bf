"""RawItem -> Article: the one place where a fetched item becomes a typed, normalized record.

Pure: the fetch time ``now`` is passed in; no clock, network or database.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from ..models import Article, ItemError, RawItem
from .agency import AgencyTable, agency_table, find_attribution
from .controls import clean_item
from .dates import is_future, parse_date_info
from .html import html_to_text
from .jsonsafe import NotJSON, storable
from .text import normalize_text
from .urls import canonical_url, identity_url

# What the cleaner makes of an item changes with this number: it is part of each stored raw hash
# (etl/clean/version.py), so a bump makes the next backfill clean everything again.
# 2: agencies canonical (meta.agency, agency_centre, attribution; etl/clean/agency.py).
# 3: a date outside 1900-2199 (or past what datetime holds) is unknown; non-finite and huge
#    numbers in extra fields are kept as text (etl/clean/jsonsafe.py).
# 4: the lead's first attribution decides the outlet; websites, newspapers and broadcasters are
#    outlets too (meta.agency_kind); more spellings (issue 23).
CLEANER_VERSION = 4
TITLE_MAX = 150
EXCERPT = 300
# "به گزارش خبرگزاری مهر، " opens most agency copy; a derived title reads better without it.
_ATTRIBUTION = re.compile(r"^\s*(به\s+گزارش|به\s+نقل\s+از)[^،,:\n]{1,80}[،,:]\s*")
# A sentence ends at . ! ? ؟ followed by space or the end (so "2.5" and "F-35." are safe).
_SENTENCE_END = re.compile(r"[.!?؟](?=\s|$)|\n")


def clean_text(value: str | None) -> str:
    """Markup removed and Persian normalized: ``"<b>علي</b>" -> "علی"``."""
    if not value:
        return ""
    return normalize_text(html_to_text(value)).strip()


def derive_title(body: str) -> str:
    """The first sentence of the body, without a lead attribution, at most TITLE_MAX characters."""
    text = _ATTRIBUTION.sub("", body, count=1) or body
    match = _SENTENCE_END.search(text)
    sentence = (text[: match.start()] if match else text).strip()
    if len(sentence) <= TITLE_MAX:
        return sentence
    cut = sentence.rfind(" ", 0, TITLE_MAX)
    return sentence[: cut if cut > 0 else TITLE_MAX].rstrip("،, ") + "…"


def natural_key(guid: str | None, url: str | None, title: str, body: str) -> str:
    """GUID, else the URL's identity (its numeric article id where it has one, so a re-slugged
    headline is the same article), else a hash of the normalized title and body."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if url:
        return "url:" + (identity_url(url) or url)
    digest = hashlib.sha256(f"{title}\n{body}".encode("utf-8")).hexdigest()[:32]
    return "hash:" + digest


def content_hash(fields: dict) -> str:
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def to_article(item: RawItem, now: datetime, agencies: AgencyTable | None = None) -> Article | ItemError:
    """Clean one raw item; an item with neither title nor body is an error, not an empty row.
    ``agencies`` reads the attribution (default: the bundled table, ``etl/clean/data/agencies.toml``)."""
    item = clean_item(item)  # NUL, ESC, lone surrogates out of every field, not only the prose
    body = clean_text(item.body)
    summary = clean_text(item.summary) or None
    title = clean_text(item.title)
    if not body and not title:
        return ItemError(item.location, "no title and no body", _excerpt(item))
    title_derived = not title
    if title_derived:
        title = derive_title(body)
    url = canonical_url(item.url)
    try:
        meta = storable(dict(item.extra))  # 1e999999, NaN: kept as text, so every database stores valid JSON
    except NotJSON as exc:
        return ItemError(item.location, str(exc), _excerpt(item))
    if item.url and not url:
        meta["url_raw"] = item.url
    published_at, time_known = _published(item.published, now, meta)
    _attribute(meta, body, summary, agencies or agency_table())
    fields = {
        "url": url, "title": title, "title_derived": title_derived, "summary": summary, "body": body,
        "published_at": published_at.isoformat() if published_at else None,
        "published_time_known": time_known, "meta": meta,
    }
    return Article(
        key=natural_key(item.guid, url, "" if title_derived else title, body),
        title=title, body=body, summary=summary, url=url, published_at=published_at,
        published_time_known=time_known, title_derived=title_derived,
        content_hash=content_hash(fields), location=item.location, meta=meta,
    )


def _attribute(meta: dict, body: str, summary: str | None, agencies: AgencyTable) -> None:
    """``meta["agency"]`` (the canonical outlet), ``meta["agency_kind"]`` (agency, website,
    newspaper or broadcaster) and ``meta["agency_centre"]`` from the lead attribution; a phrase
    that names no outlet ("به گزارش روابط عمومی وزارت نیرو،") is kept as ``meta["attribution"]``."""
    found = find_attribution(body, summary, agencies)
    if found and found.agency:
        meta["agency"] = found.agency
        meta["agency_kind"] = found.kind or "agency"
        if found.centre:
            meta["agency_centre"] = found.centre
    elif found:
        meta["attribution"] = found.phrase


def _published(raw: str | None, now: datetime, meta: dict) -> tuple[datetime | None, bool]:
    """Parse the date; an unreadable or future one is kept in ``meta`` and not stored as fact."""
    if not raw or not str(raw).strip():
        return None, False
    info = parse_date_info(str(raw))
    if info is None:
        meta["published_raw"] = str(raw)[:200]
        meta["date_flag"] = "unparsed"
        return None, False
    if is_future(info.at, now):
        meta["published_claimed"] = info.at.isoformat()
        meta["date_flag"] = "future"
        return None, False
    return info.at, info.time_known


def _excerpt(item: RawItem) -> str:
    parts = [p for p in (item.title, item.summary, item.body, item.url) if p]
    return " | ".join(parts)[:EXCERPT]
