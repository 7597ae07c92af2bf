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

from ..models import ItemError, RawItem, Skipped
from .feedfile import iter_feed
from .plaintext import iter_text
from .records import iter_csv, iter_json, iter_jsonl
from .sniff import ARCHIVES, detect_format, extension, is_article_file, is_binary, open_sniffed, text_encoding

Item = RawItem | ItemError | Skipped


def iter_paths(paths: Iterable[Path], pattern: str | None = None) -> Iterator[Item]:
    """Every article in the given files, folders (recursive) and archives, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from _iter_dir(path, pattern)
        elif path.exists():
            yield from _iter_file(path, pattern)
        else:
            yield ItemError(str(path), "no such file or directory")


def _iter_dir(root: Path, pattern: str | None) -> Iterator[Item]:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .git, .DS_Store and other hidden files are not articles
        if not is_article_file(path.name):
            yield Skipped(str(path), "not an article file type")
        elif _matches(path.name, pattern):
            yield from _iter_file(path, pattern)


def _matches(name: str, pattern: str | None) -> bool:
    return pattern is None or extension(name) in ARCHIVES or fnmatch.fnmatch(PurePosixPath(name).name, pattern)


def _iter_file(path: Path, pattern: str | None) -> Iterator[Item]:
    ext = extension(path.name)
    try:
        if ext == ".zip":
            yield from _iter_zip(path, pattern)
        elif ext in ARCHIVES:
            yield from _iter_tar(path, pattern)
        else:
            with path.open("rb") as stream:
                yield from parse_stream(stream, str(path))
    except OSError as exc:
        yield ItemError(str(path), f"cannot read: {exc.strerror or exc}")


def _iter_zip(path: Path, pattern: str | None) -> Iterator[Item]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        yield ItemError(str(path), f"not a readable zip archive: {exc}")
        return
    with archive:
        for info in archive.infolist():
            location = f"{path}!{info.filename}"
            if info.is_dir() or not _member_wanted(info.filename, pattern):
                continue
            if not is_article_file(info.filename):
                yield Skipped(location, "not an article file type")
                continue
            try:
                with archive.open(info) as member:
                    yield from parse_stream(member, location)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
                yield ItemError(location, f"cannot read archive member: {exc}")


def _iter_tar(path: Path, pattern: str | None) -> Iterator[Item]:
    try:
        # "r|*": a forward-only stream, so a large .tar.gz is never unpacked or indexed whole.
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                location = f"{path}!{member.name}"
                if not member.isfile() or not _member_wanted(member.name, pattern):
                    continue
                if not is_article_file(member.name):
                    yield Skipped(location, "not an article file type")
                    continue
                stream = archive.extractfile(member)
                if stream is not None:
                    yield from parse_stream(stream, location)
    except (tarfile.TarError, EOFError, OSError) as exc:
        yield ItemError(str(path), f"not a readable tar archive: {exc}")


def _member_wanted(name: str, pattern: str | None) -> bool:
    parts = PurePosixPath(name).parts
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return pattern is None or fnmatch.fnmatch(parts[-1], pattern)


def parse_stream(stream: BinaryIO, name: str) -> Iterator[Item]:
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
        yield from iter_json(stream, name)
        return
    if fmt == "feed":
        yield from iter_feed(stream, name)
        return
    encoding = text_encoding(head, complete)
    if encoding is None:
        yield ItemError(name, "neither UTF-8 nor Windows-1256 text", repr(head[:80]))
    elif fmt == "jsonl":
        yield from iter_jsonl(stream, name, encoding)
    elif fmt == "csv":
        yield from iter_csv(stream, name, encoding)
    else:
        yield from iter_text(stream, name, encoding)
