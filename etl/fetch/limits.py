"""Bounds on what one record may cost, and readers that keep to them on any input.

Every file reader splits its bytes into records (a JSONL line, a CSV record, an element of a JSON
array, a text file) without ever holding more than ``Limits.record_bytes`` of one record: a
longer record is skipped in bounded chunks and reported with its size, and the rest of the file
still loads. Records are decoded one by one, so one bad byte fails one record, not the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Iterator

__all__ = ["DEFAULT_LIMITS", "Limits", "Oversize", "bounded_lines", "csv_records", "read_capped", "too_big"]

MIB = 1024 * 1024
_SKIP_CHUNK = MIB


@dataclass(frozen=True, slots=True)
class Limits:
    """``record_bytes``: the largest record read (8 MiB: a news article is rarely over 100 KB, and
    cleaning and MinHash then cost a few hundred MB at most); ``depth``: the deepest JSON nesting
    accepted (article records need 3 or 4 levels; Python's own parser stops near 1,000)."""

    record_bytes: int = 8 * MIB
    depth: int = 64


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Oversize:
    """A record whose bytes were skipped, not read: its size, and its first bytes for the excerpt."""

    size: int
    head: bytes = b""


def too_big(size: int, limits: Limits) -> str:
    """``"record of 15.2 MB exceeds the 8 MiB cap"``."""
    cap = limits.record_bytes
    cap_text = f"{cap // MIB} MiB" if cap % MIB == 0 else f"{cap:,}-byte"
    return f"record of {size / 1e6:.1f} MB exceeds the {cap_text} cap"


def read_capped(stream: BinaryIO, cap: int) -> bytes:
    """At most ``cap + 1`` bytes (one more tells the caller the cap was passed), read a MiB at a
    time: ``stream.read(cap + 1)`` would allocate the whole cap even for a 2 KB file."""
    parts, size = [], 0
    while size <= cap and (chunk := stream.read(min(_SKIP_CHUNK, cap + 1 - size))):
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def bounded_lines(stream: BinaryIO, limits: Limits) -> Iterator[tuple[int, bytes | Oversize]]:
    """``(line number, bytes)`` per ``\\n``-terminated line, or ``(line number, Oversize)`` for a
    line over the cap, whose rest is read and dropped a MiB at a time (a 4 GB line costs 1 MiB)."""
    cap = limits.record_bytes
    line_no = 0
    while line := stream.readline(cap + 2):  # + 2: the cap counts the text, not its "\r\n"
        line_no += 1
        if len(line.rstrip(b"\r\n")) <= cap:
            yield line_no, line
            continue
        head, size = line[:300], len(line)
        while not line.endswith(b"\n") and (line := stream.readline(_SKIP_CHUNK)):
            size += len(line)
        yield line_no, Oversize(size, head)


# CSV state at the end of a line, so a record can be cut at the right line without the csv module:
# a quoted field (opening quote at a field's start) may hold newlines and "" for a quote.
_QUOTED_BODY = re.compile(rb'(?:[^"]++|"")*+')


def csv_records(lines: Iterator[tuple[int, bytes | Oversize]], delimiter: bytes,
                limits: Limits) -> Iterator[tuple[int, bytes | Oversize]]:
    """Physical lines -> CSV records: ``(first line number, its bytes)``, or an Oversize for a
    record over the cap, whose lines are dropped (not kept) until its quoted field closes."""
    record = _CsvRecord()
    for line_no, line in lines:
        if record.empty:
            record.start, record.head = line_no, (line.head if isinstance(line, Oversize) else line[:300])
        if isinstance(line, Oversize):
            # The cut line's quoting state is unknown: take the record to end with it.
            record.size, record.over, record.quoted = record.size + line.size, True, False
        else:
            record.add(line, delimiter[0], limits.record_bytes)
        if not record.quoted:
            yield record.start, record.result()
            record = _CsvRecord()
    if not record.empty:
        yield record.start, record.result()


class _CsvRecord:
    """The bytes of one CSV record so far (one buffer: a list of a million short lines would cost
    40 bytes each); past the cap only their size is kept."""

    def __init__(self) -> None:
        self.start, self.head, self.size = 0, b"", 0
        self.data = bytearray()
        self.quoted = self.over = False

    @property
    def empty(self) -> bool:
        return self.size == 0

    def add(self, line: bytes, delimiter: int, cap: int) -> None:
        self.size += len(line)
        self.quoted = _ends_quoted(line, delimiter, self.quoted)
        self.over = self.over or self.size > cap
        if self.over:
            self.data.clear()
        else:
            self.data += line

    def result(self) -> bytes | Oversize:
        return Oversize(self.size, self.head) if self.over else bytes(self.data)


def _ends_quoted(line: bytes, delimiter: int, quoted: bool) -> bool:
    """Whether a line ends inside a quoted field, given whether it started inside one.

    Like the csv module: a quote opens a quoted field only at the field's start; elsewhere it is
    a literal character. One regex call per quoted field, one ``find`` per field otherwise.
    """
    i, n = 0, len(line)
    while i < n:
        if quoted:
            i = _QUOTED_BODY.match(line, i).end()
            if i >= n:
                return True
            quoted, i = False, i + 1  # the closing quote; the field runs on to the next delimiter
        elif line[i] == 0x22:  # '"' at a field's start
            quoted, i = True, i + 1
            continue
        j = line.find(delimiter, i)
        if j < 0:
            return False
        i = j + 1
    return quoted
