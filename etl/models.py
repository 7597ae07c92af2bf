"""The typed records that cross the stages: RawItem (fetch -> clean), Article (clean -> load),
ItemError (any stage -> report), Failure (why a run or a pass failed) and RunReport (what a run
tells its caller)."""

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


# What went wrong, by what can be done about it (the due policy and `news-etl status` read the kind):
FAILURE_KINDS = (
    "network",   # no answer: DNS, refused, reset, timeout
    "http",      # the server answered with an error status
    "parse",     # an answer, but not what was asked for (not a feed, not a sitemap)
    "blocked",   # a bot wall answered instead of the site
    "limit",     # one of our limits refused it: size, time, redirects, a disallowed address
    "input",     # local input: a folder or file that cannot be read
    "database",  # the database was unreachable or busy (a lost connection, a deadlock): not the source's fault
    "rejected",  # the database refused the source's own data (a value it cannot store): the source's
    "bug",       # an exception nobody foresaw: a traceback is logged
    "stopped",   # the run was interrupted (Ctrl-C, shutdown)
)


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a run failed, typed at the edge where it happened and carried to the run record as is:
    the stored text (``message``) is derived from it and never parsed back."""

    kind: str
    message: str  # one line naming the input: "https://x/rss: HTTP 503 (transient)"
    transient: bool  # whether trying again later can help
    retry_after: float | None = None  # seconds the server asked for
    status: int | None = None  # the HTTP status, when there was one
    blocked_by: str | None = None  # kind "blocked": the wall's vendor ("ArvanCloud", "Cloudflare", "unknown")

    def __post_init__(self) -> None:
        if self.kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {self.kind!r}")

    def __str__(self) -> str:
        return self.message

    @classmethod
    def database(cls, exc: BaseException) -> Failure:
        """``OperationalError(...) -> "database error: connection refused"`` (kind ``database``);
        a value the database refuses (``DataError``, ``IntegrityError``) is the source's data, not
        the database's state: kind ``rejected``, counted against the source."""
        from sqlalchemy.exc import DataError, IntegrityError

        from .errors import first_line
        if isinstance(exc, (DataError, IntegrityError)):
            return cls("rejected", f"database error: {first_line(exc)}", transient=False)
        return cls("database", f"database error: {first_line(exc)}", transient=True)

    @classmethod
    def bug(cls, exc: BaseException) -> Failure:
        """``"unexpected error: UnicodeEncodeError: ..."``, one line that any database can store
        (a lone surrogate or NUL in the message is escaped)."""
        from .errors import first_line
        text = f"unexpected error: {type(exc).__name__}: {first_line(exc)}"
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:500]
        return cls("bug", text, transient=False)

    @classmethod
    def stopped(cls) -> Failure:
        return cls("stopped", "interrupted", transient=True)


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
    hits: int = 0  # watch hits recorded (etl/watches): articles of this run that a watch matched
    failure: Failure | None = None  # why the run stopped or failed as a whole; None when it did not
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

    @property
    def error(self) -> str | None:
        """The failure as the one line that is stored and shown."""
        return None if self.failure is None else self.failure.message

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = [asdict(e) for e in self.errors]
        data["error"] = self.error
        data["failure"] = None if self.failure is None else {
            "kind": self.failure.kind, "transient": self.failure.transient, "retry_after": self.failure.retry_after,
            "blocked_by": self.failure.blocked_by}
        return data

    def add(self, other: RunReport) -> None:
        """Add another run's counts to this one (a pass made of several runs, a total)."""
        for name in ("seen", "new", "updated", "unchanged", "failed", "skipped", "hits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.failure is None
