"""Who breaks a story and who repeats it: the stories most outlets carried in a period, from the
near-duplicate clusters the loader keeps (``articles.cluster_id``, etl/clean/dedup.py).

Per story: the outlets (sources) carrying it, the first to publish, each other outlet's delay
after the first, and which copies credit the first one's agency in their lead (``meta.agency``,
etl/clean/agency.py): a copy whose lead says "به گزارش خبرگزاری فارس" after Fars broke the story
names its source; one that does not is a copy without attribution. A story one outlet carried
(even several times) is no shared story and is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import Connection

from ..load.analysis import cluster_members, shared_clusters
from ..load.search import Filters
from .errors import AnalysisError
from .trends import check_range

LIMIT, MAX_LIMIT = 20, 500


@dataclass(frozen=True, slots=True)
class Copy:
    id: int
    source: str
    published_at: datetime
    delay: timedelta  # after the first publication of the story
    agency: str | None  # the agency its lead credits
    credits_first: bool  # its lead credits the first outlet's agency (False for the first itself)
    title: str


@dataclass(frozen=True, slots=True)
class Story:
    cluster_id: int
    title: str  # the first copy's
    first: Copy
    copies: tuple[Copy, ...]  # every other outlet's first copy, earliest first

    @property
    def outlets(self) -> int:
        return 1 + len(self.copies)


@dataclass(frozen=True, slots=True)
class Stories:
    filters: Filters
    stories: tuple[Story, ...]

    def as_json(self) -> dict[str, Any]:
        return {"stories": [{"cluster_id": s.cluster_id, "title": s.title, "outlets": s.outlets,
                             "first": _copy_json(s.first), "copies": [_copy_json(c) for c in s.copies]}
                            for s in self.stories]}


def _copy_json(copy: Copy) -> dict[str, Any]:
    return {"id": copy.id, "source": copy.source, "published_at": copy.published_at.isoformat(),
            "delay_seconds": int(copy.delay.total_seconds()), "agency": copy.agency,
            "credits_first": copy.credits_first, "title": copy.title}


def stories(conn: Connection, filters: Filters = Filters(), limit: int = LIMIT) -> Stories:
    """The ``limit`` stories carried by the most outlets under ``filters`` (then the latest)."""
    check_range(filters)
    if not 1 <= limit <= MAX_LIMIT:
        raise AnalysisError(f"limit: must be from 1 to {MAX_LIMIT}, got {limit}")
    ids = shared_clusters(conn, filters, limit)
    members: dict[int, list[dict]] = {cid: [] for cid in ids}
    for row in cluster_members(conn, ids, filters):
        members[row["cluster_id"]].append(row)
    return Stories(filters, tuple(story(cid, members[cid]) for cid in ids))


def story(cluster_id: int, rows: Iterable[dict[str, Any]]) -> Story:
    """One story from its members (earliest first): each outlet's first copy, timed against the
    first publication; pure."""
    firsts: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["published_at"], r["id"])):
        firsts.setdefault(row["source"], row)
    ordered = list(firsts.values())
    head = ordered[0]
    start = head["published_at"]
    first = Copy(head["id"], head["source"], start, timedelta(0), head["agency"], False, head["title"])
    copies = tuple(Copy(r["id"], r["source"], r["published_at"], r["published_at"] - start, r["agency"],
                        bool(head["agency"]) and r["agency"] == head["agency"], r["title"]) for r in ordered[1:])
    return Story(cluster_id, head["title"], first, copies)
