"""A ``files`` source as a watched folder: each pass loads only files that are new or changed
since they were last loaded, as recorded in ``source_files``, so a restart loads nothing twice.

A file is compared by size and mtime first (cheap) and by sha256 only when those moved: a file
touched without a change is recorded again but not reloaded.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine, insert, select, update

from ..config import Source
from ..fetch.sniff import is_article_file
from ..load.schema import source_files
from ..load.sources import ensure_source, record_fetch
from ..models import RunReport
from ..pipeline import Backfill, Clock, run_backfill

__all__ = ["FileStat", "scan", "watch_pass"]

# A file modified this recently may still be being written; the next pass takes it.
SETTLE = timedelta(seconds=1)
_COUNTS = ("seen", "new", "updated", "unchanged", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class FileStat:
    path: Path
    size: int
    mtime: datetime


def scan(root: Path, pattern: str | None) -> list[FileStat]:
    """Article files under ``root`` (or ``root`` itself), hidden ones left out, sorted by path."""
    paths = [root] if root.is_file() else sorted(p for p in _walk(root) if _wanted(p, root, pattern))
    stats = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue  # removed between the walk and the stat
        stats.append(FileStat(path, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc)))
    return stats


def _walk(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file()) if root.is_dir() else iter(())


def _wanted(path: Path, root: Path, pattern: str | None) -> bool:
    if any(part.startswith(".") for part in path.relative_to(root).parts):
        return False
    return is_article_file(path.name) and (pattern is None or fnmatch.fnmatch(path.name, pattern))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def watch_pass(engine: Engine, source: Source, now: Clock, stopping: Callable[[], bool]) -> RunReport:
    """Load the new and changed files of ``source``; one backfill run per file. Returns the sum
    of their counts; ``skipped`` counts files left for the next pass (still being written)."""
    total = RunReport(kind="watch", source=source.name)
    with engine.begin() as conn:
        source_id = ensure_source(conn, source, now(), in_config=True)
        known = _recorded(conn, source_id)
    settled_before = now() - SETTLE
    for stat in scan(Path(source.path or "."), source.pattern):
        if stopping():
            break
        row = known.get(str(stat.path))
        if row is not None and (row.size, row.mtime) == (stat.size, stat.mtime):
            continue
        if stat.mtime > settled_before:
            total.skipped += 1
            continue
        _load_file(engine, source, source_id, stat, row, now, total)
        if total.error:
            return total
    with engine.begin() as conn:
        record_fetch(conn, source_id, now(), status=None, ok=True, items=total.seen)
    return total


def _load_file(engine: Engine, source: Source, source_id: int, stat: FileStat, row, now: Clock,
               total: RunReport) -> None:
    digest = sha256_of(stat.path)
    if row is None or row.sha256 != digest:
        report = run_backfill(engine, Backfill(source, [stat.path], in_config=True), now)
        for name in _COUNTS:
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.error:
            # Not recorded: the next pass loads the file again (loading is idempotent).
            total.error = f"{stat.path}: {report.error}"
            return
    with engine.begin() as conn:
        _record(conn, source_id, stat, digest, row is not None, now())


def _recorded(conn: Connection, source_id: int) -> dict[str, object]:
    query = select(source_files).where(source_files.c.source_id == source_id)
    return {row.path: row for row in conn.execute(query)}


def _record(conn: Connection, source_id: int, stat: FileStat, digest: str, exists: bool, now: datetime) -> None:
    values = {"size": stat.size, "mtime": stat.mtime, "sha256": digest, "loaded_at": now}
    if exists:
        conn.execute(update(source_files).where(source_files.c.source_id == source_id,
                                                source_files.c.path == str(stat.path)).values(values))
    else:
        conn.execute(insert(source_files).values(source_id=source_id, path=str(stat.path), **values))
