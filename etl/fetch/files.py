"""Files, folders and archives -> a stream of RawItem / ItemError / Skipped.

Everything streams: folders are walked lazily, archive members are read one at a time, and each
format parser holds one record at a time (saved feeds and single text articles are capped).
"""

from __future__ import annotations

import fnmatch
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Iterator

from ..clean.controls import safe
from ..models import ItemError, RawItem, Skipped
from .feedfile import iter_feed
from .limits import DEFAULT_LIMITS, Limits
from .plaintext import iter_text
from .ranges import Part, open_range
from .records import iter_csv, iter_json, iter_jsonl
from .sniff import ARCHIVES, detect_format, extension, is_article_file, is_binary, open_sniffed, text_encoding

Item = RawItem | ItemError | Skipped


def iter_paths(paths: Iterable[Path | Part], pattern: str | None = None,
               limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Every article in the given files, folders (recursive), archives and parts of files (a
    queued backfill's shards: ``ranges.Part``), in a stable order; no record larger or deeper than
    ``limits`` is read (it is an ItemError instead)."""
    for path in paths:
        if isinstance(path, Part):
            yield from _iter_part(path, pattern, limits)
        elif path.is_dir():
            yield from _iter_dir(path, pattern, limits)
        elif path.is_file():
            yield from _iter_file(path, pattern, limits)
        elif path.exists():
            # A FIFO would block the run on open, a device could be endless: never opened.
            yield Skipped(safe(path), "not a regular file (a FIFO, device or socket): not opened")
        else:
            yield ItemError(safe(path), "no such file or directory")


def _iter_dir(root: Path, pattern: str | None, limits: Limits) -> Iterator[Item]:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .git, .DS_Store and other hidden files are not articles
        if not is_article_file(path.name):
            yield Skipped(safe(path), "not an article file type")
        elif matches(path.name, pattern):
            yield from _iter_file(path, pattern, limits)


def matches(name: str, pattern: str | None) -> bool:
    return pattern is None or extension(name) in ARCHIVES or fnmatch.fnmatch(PurePosixPath(name).name, pattern)


def _iter_file(path: Path, pattern: str | None, limits: Limits) -> Iterator[Item]:
    ext = extension(path.name)
    try:
        if ext == ".zip":
            yield from _iter_zip(path, pattern, limits)
        elif ext in ARCHIVES:
            yield from _iter_tar(path, pattern, limits)
        else:
            with path.open("rb") as stream:
                yield from parse_stream(stream, safe(path), limits)
    except OSError as exc:
        yield ItemError(safe(path), f"cannot read: {exc.strerror or exc}")


def _iter_part(part: Part, pattern: str | None, limits: Limits) -> Iterator[Item]:
    path = Path(part.path)
    try:
        if part.member is not None:
            yield from _iter_zip(path, pattern, limits, only=part.member)
            return
        reader = iter_csv if part.fmt == "csv" else iter_jsonl
        with open_range(part) as stream:
            yield from reader(stream, safe(path), limits=limits, number=part.line_number)
    except OSError as exc:
        yield ItemError(safe(path), f"cannot read: {exc.strerror or exc}")


def _iter_zip(path: Path, pattern: str | None, limits: Limits, only: str | None = None) -> Iterator[Item]:
    """The members of a zip archive; ``only``: just that member (a shard of a queued backfill)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        yield ItemError(safe(path), f"not a readable zip archive: {exc}")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir() or (only is not None and info.filename != only):
                continue
            yield from _zip_member(archive, info, f"{safe(path)}!{safe(info.filename)}", pattern, limits)


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, location: str, pattern: str | None,
                limits: Limits) -> Iterator[Item]:
    if (skip := _member_skip(info.filename, pattern)) is not None:
        yield from [Skipped(location, skip)] if skip else []
        return
    try:
        with archive.open(info) as member:  # read as a stream: never whole into memory
            yield from parse_stream(member, location, limits)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
        yield ItemError(location, f"cannot read archive member: {exc}")


def _iter_tar(path: Path, pattern: str | None, limits: Limits) -> Iterator[Item]:
    try:
        # "r|*": a forward-only stream, so a large .tar.gz is never unpacked or indexed whole.
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if not member.isfile():
                    continue  # links, devices, folders: nothing is followed or created
                location = f"{safe(path)}!{safe(member.name)}"
                if (skip := _member_skip(member.name, pattern)) is not None:
                    yield from [Skipped(location, skip)] if skip else []
                    continue
                stream = archive.extractfile(member)
                if stream is not None:
                    yield from parse_stream(stream, location, limits)
    except (tarfile.TarError, EOFError, OSError) as exc:
        yield ItemError(safe(path), f"not a readable tar archive: {exc}")


def _member_skip(name: str, pattern: str | None) -> str | None:
    """Why a member is not read: ``""`` to pass over it silently (hidden, or not matching the
    pattern), a reason to count it as skipped, or None to read it."""
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts:
        # Nothing is ever extracted, but a member pointing outside the archive is suspect: say so.
        return "member path leaves the archive (.. or absolute); not read"
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return ""
    if pattern is not None and not fnmatch.fnmatch(parts[-1], pattern):
        return ""
    return None if is_article_file(name) else "not an article file type"


def parse_stream(stream: BinaryIO, name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """One file's bytes -> its articles, by format (extension first, then content)."""
    if extension(name) in ARCHIVES:
        yield ItemError(name, "archives inside archives are not read")
        return
    head, stream, complete = open_sniffed(stream)
    if not head.strip():
        yield ItemError(name, "empty file")
        return
    if is_binary(head):
        yield ItemError(name, "binary data, not a text, JSON, CSV or feed file", repr(head[:80]))
        return
    fmt = detect_format(name, head)
    if fmt == "json":
        yield from iter_json(stream, name, limits)
    elif fmt == "feed":
        yield from iter_feed(stream, name, limits)
    elif fmt == "jsonl":
        yield from iter_jsonl(stream, name, limits=limits)
    elif fmt == "csv":
        yield from iter_csv(stream, name, limits=limits)
    else:
        yield from iter_text(stream, name, text_encoding(head, complete), limits)
