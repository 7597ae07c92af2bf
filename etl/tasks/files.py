"""A ``files`` source's pass: find its new and changed files, and load each of them (one backfill
run per file), recording each loaded file in ``source_files`` so a restart loads nothing twice.

``scan`` notices the files; who loads them is the executor's choice: the local executor loads
them in the pass (``files_pass``), the queue executor defers one ``load_file`` job per file to its
workers. Either way each file is loaded by ``load_file`` and fails alone: a file that cannot be
read, or whose name is not UTF-8, is a failure named by its path and the others still load.

A file is compared by size and mtime first (cheap) and by sha256 only when those moved: a file
touched without a change is recorded again but not reloaded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

from ..config import Source
from ..fetch.sniff import is_article_file
from ..load.files import loaded_files, record_file
from ..load.sources import ensure_source, record_fetch
from ..models import Failure, RunReport
from .backfill import Backfill, run_backfill
from .context import Context
from .lifecycle import InputError, failure_of

__all__ = ["FileStat", "files_pass", "load_file", "scan", "stored_path"]

# A file modified this recently may still be being written; the next pass takes it.
SETTLE = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class FileStat:
    path: Path
    size: int
    mtime: datetime

    def as_json(self) -> dict:
        return {"path": os.fsencode(self.path).hex(), "size": self.size, "mtime": self.mtime.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> FileStat:
        return cls(Path(os.fsdecode(bytes.fromhex(data["path"]))), data["size"], datetime.fromisoformat(data["mtime"]))


def stored_path(path: Path) -> str:
    """The path as ``source_files`` keeps it: as is when it is UTF-8, its undecodable bytes as
    ``\\xNN`` escapes otherwise (a Windows-1256 Persian name from an old archive)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def scan(context: Context, source: Source) -> tuple[int, list[FileStat], int]:
    """(the source's id, its new and changed files that have settled, how many are still being
    written). Raises InputError when the folder cannot be read."""
    with context.engine.begin() as conn:
        source_id = ensure_source(conn, source, context.now(), in_config=True)
        known = loaded_files(conn, source_id)
    settled_before = context.now() - SETTLE
    todo, unsettled = [], 0
    for stat in _stats(Path(source.path or "."), source.pattern):
        row = known.get(stored_path(stat.path))
        if row is not None and (row.size, row.mtime) == (stat.size, stat.mtime):
            continue
        if stat.mtime > settled_before:
            unsettled += 1
            continue
        todo.append(stat)
    return source_id, todo, unsettled


def load_file(context: Context, source: Source, stat: FileStat) -> RunReport | None:
    """Load one new or changed file (one backfill run) and record it; None when its bytes are the
    ones loaded already (touched, not changed) or another worker has recorded it meanwhile."""
    with context.engine.begin() as conn:
        source_id = ensure_source(conn, source, context.now(), in_config=True)
        row = loaded_files(conn, source_id).get(stored_path(stat.path))
    if row is not None and (row.size, row.mtime) == (stat.size, stat.mtime):
        return None
    try:
        digest = sha256_of(stat.path)
    except OSError as exc:
        return _unreadable(source, stat, exc)
    report = None
    if row is None or row.sha256 != digest:
        report = run_backfill(context, Backfill(source, [stat.path], in_config=True, cleaners=0))
        if report.failure is not None:
            return report  # not recorded: the next pass loads the file again (loading is idempotent)
    with context.engine.begin() as conn:
        record_file(conn, source_id, stored_path(stat.path), stat.size, stat.mtime, digest, context.now())
    return report


def files_pass(context: Context, source: Source,
               load: Callable[[FileStat], RunReport | None] | None = None) -> RunReport:
    """Scan the source and load its new and changed files (``load``: by default ``load_file`` here,
    one after the other); the pass's outcome goes on the source row. ``skipped`` counts files left
    for the next pass (still being written); ``failure`` names the files that failed."""
    total = RunReport(kind="watch", source=source.name)
    load = load or (lambda stat: load_file(context, source, stat))
    try:
        source_id, todo, total.skipped = scan(context, source)
    except Exception as exc:
        total.failure = failure_of(_input_error(exc, source), source.name)
        _record(context, source, total)
        return total
    failed = []
    for stat in todo:
        if context.should_stop():
            break
        report = load(stat)
        if report is not None:
            total.add(report)
            if report.failure is not None:
                failed.append(f"{stored_path(stat.path)}: {report.failure.message}")
                total.failure = report.failure if report.failure.kind == "database" else total.failure
    if failed and total.failure is None:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        total.failure = Failure("input", failed[0] + more, transient=True)
    _record(context, source, total)
    return total


def _record(context: Context, source: Source, total: RunReport) -> None:
    """The pass's outcome on the source row; a lost database is the report's failure already."""
    if total.failure is not None and total.failure.kind == "database":
        return
    with context.engine.begin() as conn:
        source_id = ensure_source(conn, source, context.now(), in_config=True)
        record_fetch(conn, source_id, context.now(), status=None, ok=total.failure is None,
                     error=total.error, items=total.seen)


def _unreadable(source: Source, stat: FileStat, exc: OSError) -> RunReport:
    report = RunReport(kind="backfill", source=source.name, failed=1)
    report.failure = Failure("input", f"{stored_path(stat.path)}: cannot read: {exc.strerror or exc}", transient=True)
    return report


def _input_error(exc: Exception, source: Source) -> Exception:
    if isinstance(exc, OSError):
        return InputError(f"cannot read {source.path}: {exc.strerror or exc}")
    return exc


def _stats(root: Path, pattern: str | None) -> Iterator[FileStat]:
    """Article files under ``root`` (or ``root`` itself), hidden ones left out, sorted by path;
    only regular files (a FIFO is never opened)."""
    if not root.exists():
        raise InputError(f"cannot read {root}: no such file or directory")
    paths = [root] if root.is_file() else sorted(p for p in _walk(root) if _wanted(p, root, pattern))
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue  # removed between the walk and the stat
        yield FileStat(path, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc))


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
