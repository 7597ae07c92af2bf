"""What decides whether a stored item must be cleaned again: the cleaner's version.

A backfill skips an input item whose raw hash is already stored (``articles.raw_hash``). The raw
hash covers the item's fields *and* the cleaner's version, so an item is cleaned again exactly
when its bytes changed or the cleaning changed. Bump ``etl.clean.article.CLEANER_VERSION`` with
every change that alters what ``to_article`` returns for some input (normalizer rules, lexicon, HTML to text,
dates, keys, agency names; the normalizer has a version of its own); ``news-etl backfill --reclean``
forces a full pass without a bump.
"""

from __future__ import annotations

import hashlib
import json

from ..models import RawItem
from . import article, text


def cleaner_version() -> str:
    """This cleaner's version (``etl.clean.article.CLEANER_VERSION``), with the normalizer's own
    (its rules, and the learned lexicon in use) where it has one."""
    version = str(article.CLEANER_VERSION)
    normalizer = getattr(text, "normalizer_version", None)
    return version if normalizer is None else f"{version}+{normalizer()}"


def cleaning_version(agencies: tuple = ()) -> str:
    """The version an item's raw hash is made with: the cleaner's, and the sources file's own
    agency spellings when it has some (they change what cleaning yields)."""
    version = cleaner_version()
    return version + (f"+agencies.{digest(repr(agencies))}" if agencies else "")


def digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def raw_hash(item: RawItem, version: str) -> str:
    """128-bit hex digest of the item's content and the cleaner version.

    ``location`` is left out on purpose: the same article found in a moved or renamed dump is
    the same input. ``raw_hash(RawItem("a:1", title="x"), "2")`` -> 32 hex characters.
    """
    payload = json.dumps(
        [version, item.title, item.body, item.summary, item.url, item.guid, item.published, item.extra],
        ensure_ascii=False, sort_keys=True, default=str,
    )
    return hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
