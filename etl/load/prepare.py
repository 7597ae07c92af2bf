"""Article -> Prepared: everything the loader derives from an article before it touches the
database (its search document, MinHash signature and LSH buckets).

Pure and picklable, so a backfill computes it in its worker processes beside the cleaning and the
main process only writes. Nothing here imports the database layer: a worker process holds the
cleaner and numpy, not SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..clean.agency import AgencyTable, agency_table
from ..clean.article import to_article
from ..clean.version import cleaner_version
from ..clean.dedup import Signature, bands, signature
from ..clean.fold import fold, fold_fields, fold_parts, indexed_document
from ..models import Article, Failure, ItemError, RawItem, Skipped


@dataclass(frozen=True, slots=True)
class Prepared:
    article: Article
    doc: str  # folded title, summary and body: what search matches
    signature: Signature | None  # None: too short to judge as a near-duplicate
    buckets: tuple[tuple[int, int], ...]  # (band, bucket) of the signature
    raw_hash: str | None = None  # of the input item and the cleaner version, when from a file

    @property
    def key(self) -> str:
        return self.article.key


@dataclass(slots=True)
class CleanBatch:
    """One batch on its way through a worker: what to clean, and what the reader already knew
    (its failures, the files it skipped, the items whose raw hash is stored: unchanged)."""

    fetched_at: datetime
    todo: list[tuple[RawItem, str]] = field(default_factory=list)
    done: list[Prepared | ItemError] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    skipped_files: list[Skipped] = field(default_factory=list)
    agencies: tuple = ()  # the sources file's [agencies] extensions
    cleaner: str = ""  # the cleaner version the raw hashes were made with


def folded_text(article: Article) -> str:
    """Title, summary and body folded (``fold``): what near-duplicates are judged on."""
    return fold("\n".join(p for p in (article.title, article.summary, article.body) if p))


def search_document(article: Article) -> str:
    """The folded text that search matches against (title, summary, body), each ZWNJ compound
    also joined and each inflected word's stem marked (etl/clean/fold.py ``fold_document``)."""
    return fold_fields(article.title, article.summary, article.body)


def prepare(article: Article, raw_hash: str | None = None) -> Prepared:
    # The search document adds joined spellings of compounds and stems, which must not change what
    # counts as a near-duplicate: the signature takes the plain folded words. Both come from one
    # fold pass (what ``folded_text`` and ``search_document`` would each compute).
    words, joined = fold_parts("\n".join(field for field in (article.title, article.summary, article.body) if field))
    sig = signature(" ".join(words), folded=True)
    return Prepared(article, indexed_document(words, joined), sig, tuple(bands(sig)) if sig is not None else (),
                    raw_hash)


def clean_and_prepare(item: RawItem, fetched_at: datetime, raw_hash: str | None,
                      agencies: AgencyTable | None = None) -> Prepared | ItemError:
    """One raw item through the cleaner and the loader's derivations; a failure is an ItemError.
    So is an exception nobody foresaw (a bug the input found): the item fails alone, named with
    the exception, and the rest of its batch loads (a crash used to lose the whole shard)."""
    try:
        cleaned = to_article(item, fetched_at, agencies)
        return prepare(cleaned, raw_hash) if isinstance(cleaned, Article) else cleaned
    except Exception as exc:  # noqa: BLE001 (recorded as the item's failure, never swallowed)
        return ItemError(item.location, Failure.bug(exc).message, (item.title or item.body or "")[:300])


def clean_batch(batch: CleanBatch) -> CleanBatch:
    """Clean and prepare a batch's ``todo`` items (in a worker process, or inline)."""
    if batch.cleaner and batch.cleaner != cleaner_version():
        # The raw hashes stored with these rows would claim a cleaning this process did not do.
        raise RuntimeError(f"worker cleans as {cleaner_version()!r}, the batch was hashed for {batch.cleaner!r}")
    agencies = agency_table(batch.agencies)
    batch.done.extend(clean_and_prepare(item, batch.fetched_at, digest, agencies) for item, digest in batch.todo)
    batch.todo = []
    return batch
