"""The typed records that cross the stages: RawItem (fetch -> clean), Article (clean -> load),
ItemError (any stage -> report) and RunReport (what a run tells its caller)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RawItem:
    """One article as a fetcher found it: strings only, nothing normalized yet.

    ``location`` names where it came from (``dump.jsonl:17``, ``a.zip!x.json[3]``) so a
    failure can be traced back to its bytes.
    """

    location: str
    title: str | None = None
    body: str | None = None
    summary: str | None = None
    url: str | None = None
    guid: str | None = None
    published: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Article:
    """One cleaned article, ready to load. ``key`` is its natural key within its source."""

    key: str
    title: str
    body: str
    summary: str | None
    url: str | None
    published_at: datetime | None  # aware, UTC
    published_time_known: bool
    title_derived: bool
    content_hash: str
    location: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemError:
    """An item (or a whole file) that could not be turned into an Article."""

    location: str
    reason: str
    excerpt: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file a folder walk passed over on purpose (not an article format); not a failure."""

    location: str
    reason: str


@dataclass(slots=True)
class RunReport:
    """Counts for one run; ``failed`` counts items (and unreadable files) that were not loaded."""

    kind: str
    source: str
    run_id: int | None = None
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None
    # The first few failures, for the caller; all of them are in ingest_errors.
    errors: list[ItemError] = field(default_factory=list)
    # The first few files passed over (not article files), so the caller can name them.
    skipped_files: list[Skipped] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary: ``seen 3, new 2, updated 0, unchanged 1, failed 0``."""
        return (
            f"seen {self.seen}, new {self.new}, updated {self.updated}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = [asdict(e) for e in self.errors]
        return data

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.error is None
