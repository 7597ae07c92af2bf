"""Format and encoding detection from a file's name and first bytes."""

from __future__ import annotations

import codecs
import io
import re
from pathlib import PurePosixPath
from typing import BinaryIO

HEAD_BYTES = 64 * 1024
_EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".xml": "feed", ".rss": "feed", ".atom": "feed", ".rdf": "feed",
}
ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
_DATE_HEADER = re.compile(rb"^\s*date\s+\d{4}-\d{2}-\d{2}")
_BOM = codecs.BOM_UTF8


def extension(name: str) -> str:
    lower = PurePosixPath(name).name.lower()
    for ext in ARCHIVES:
        if lower.endswith(ext):
            return ext
    return PurePosixPath(lower).suffix


def is_article_file(name: str) -> bool:
    """Whether a folder walk should read this file (by its name alone)."""
    ext = extension(name)
    return ext in _EXTENSIONS or ext in ARCHIVES


def is_binary(head: bytes) -> bool:
    """NUL bytes or many control characters: not a text format we read."""
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) // 20


def text_encoding(head: bytes, complete: bool) -> str | None:
    """``utf-8-sig`` when the head is UTF-8, even with a few bad bytes (a cut multi-byte character
    at its end is fine), ``cp1256`` when it reads as Windows Arabic (old Persian sites).

    Only a preference: each record is decoded on its own (``decode_record``), so one bad byte
    early in a UTF-8 file fails its own line instead of turning the file into Windows-1256.
    """
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    return "utf-8-sig" if mostly_utf8(head) else "cp1256"


def mostly_utf8(data: bytes) -> bool:
    """Whether bytes are UTF-8 apart from some bad bytes (at least as many valid non-ASCII
    characters as bad bytes): UTF-8 Persian with one corrupt byte -> True; Windows-1256 Persian
    -> False (its letter bytes seldom form UTF-8 sequences: at most 1 valid for 5 bad in every
    line of 300 Fars articles re-encoded)."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")  # minus U+FFFD really in the data
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return bad <= 0 or non_ascii - bad >= bad


def decode_record(data: bytes, fallback: str | None = "cp1256") -> str:
    """One record's text: UTF-8 if it is UTF-8; else ``fallback`` (Windows-1256) when the bytes
    are mostly not UTF-8; else ``UnicodeDecodeError`` at the first bad byte (the caller names
    the record). ``"سلام".encode("cp1256")`` -> ``"سلام"``."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if fallback is None or mostly_utf8(data):
            raise
    return data.decode(fallback)


def extension_format(name: str) -> str | None:
    """The format a file's extension names, if any: ``"dump.ndjson"`` -> ``"jsonl"``."""
    return _EXTENSIONS.get(extension(name))


def detect_format(name: str, head: bytes) -> str:
    """One of text, json, jsonl, csv, feed; by extension first, then by content."""
    by_ext = extension_format(name)
    start = head.lstrip(_BOM).lstrip()
    if by_ext == "json" and start.startswith(b"{") and _looks_like_jsonl(start):
        return "jsonl"
    if by_ext:
        return by_ext
    if start.startswith(b"["):
        return "json"
    if start.startswith(b"{"):
        return "jsonl" if _looks_like_jsonl(start) else "json"
    if start.startswith(b"<"):
        return "feed"
    return "text"


def _looks_like_jsonl(start: bytes) -> bool:
    # One complete object on the first line and another object starting on the next.
    first, _, rest = start.partition(b"\n")
    return first.rstrip().endswith(b"}") and rest.lstrip().startswith(b"{")


class Prefixed(io.RawIOBase):
    """A stream that replays ``head`` and then continues with ``rest`` (to sniff without seeking)."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_sniffed(stream: BinaryIO) -> tuple[bytes, BinaryIO, bool]:
    """Read the head; return it, a buffered stream positioned at the start, and whether the
    head is the whole file."""
    chunks, size = [], 0
    while size < HEAD_BYTES:  # some streams return short reads before their end
        chunk = stream.read(HEAD_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    head = b"".join(chunks)
    complete = size < HEAD_BYTES
    return head, io.BufferedReader(Prefixed(head, stream)), complete
