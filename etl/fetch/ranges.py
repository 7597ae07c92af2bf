"""Pieces of one input file, so a queued backfill can spread a large dump over many workers.

A ``Part`` is either a byte range of whole records of a JSONL or CSV file (a CSV part also reads
the file's header row first) or one member of a zip archive. ``split_file`` finds the pieces with
the same readers the backfill uses (``bounded_lines``, ``csv_records``), so a cut never falls
inside a record, not even inside a quoted CSV field that holds newlines; ``etl.fetch.files`` reads one
piece with the file's own line numbers in every location, so errors and ``errors --run`` name the
same ``dump.jsonl:12001`` that a one-process backfill names.

A tar stream cannot be entered in the middle (a ``.tar.gz`` must be decompressed from its start),
so a tar archive stays one piece, and so does a JSONL or CSV inside any archive.
"""

from __future__ import annotations

import io
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .limits import DEFAULT_LIMITS, Limits, Oversize, bounded_lines, csv_records
from .records import csv_delimiter, csv_header, names_a_field
from ..defaults import SHARD_RECORDS
from .sniff import Prefixed, detect_format, extension, extension_format, open_sniffed

__all__ = ["SHARD_RECORDS", "Part", "open_range", "split_file"]

SPLIT_FORMATS = ("jsonl", "csv")


@dataclass(frozen=True, slots=True)
class Part:
    """``path`` bytes ``start``..``stop`` (whole records) whose first line is line ``first_line``
    of the file, read after the file's first ``header`` bytes (``header_lines`` lines: a CSV
    header, 0 for JSONL); or, with ``member`` set, that one member of the zip archive ``path``."""

    path: str
    fmt: str = ""
    start: int = 0
    stop: int = 0
    first_line: int = 1
    header: int = 0
    header_lines: int = 0
    member: str | None = None

    def __str__(self) -> str:
        if self.member is not None:
            return f"{self.path}!{self.member}"
        return f"{self.path}:{self.first_line}+ (bytes {self.start}-{self.stop})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Part:
        return cls(**data)

    def line_number(self, k: int) -> int:
        """The file's line number of line ``k`` of what this part reads (its header, then its range)."""
        return k if k <= self.header_lines else self.first_line + k - self.header_lines - 1


def split_file(path: Path, records: int, limits: Limits = DEFAULT_LIMITS) -> list[Part]:
    """``path`` in parts of ``records`` records each, or ``[]`` when it is not split (not JSONL,
    CSV or zip, or not more than ``records`` records: one piece is the file itself)."""
    if extension(path.name) == ".zip":
        return _zip_members(path)
    if extension_format(path.name) not in ("json", *SPLIT_FORMATS):
        return []  # by name first: deferring a folder of text files opens none of them
    with path.open("rb") as stream:
        head, stream, _ = open_sniffed(stream)
        fmt = detect_format(path.name, head)
        if fmt not in SPLIT_FORMATS:
            return []
        cuts = _csv_cuts(stream, path.name, records, limits) if fmt == "csv" else _jsonl_cuts(stream, records, limits)
    if cuts is None or len(cuts.ranges) < 2:
        return []
    # A CSV header ends on the line before the first range starts (a JSONL file has none).
    header_lines = cuts.ranges[0][2] - 1 if cuts.header else 0
    return [Part(str(path), fmt, start, stop, line, cuts.header, header_lines) for start, stop, line in cuts.ranges]


@dataclass
class _Cuts:
    ranges: list[tuple[int, int, int]]  # (start byte, stop byte, first line number)
    header: int = 0


class _Cutter:
    """Records in, ranges of ``size`` records out: the byte offsets are summed as records pass."""

    def __init__(self, size: int, offset: int) -> None:
        self.size, self.offset = size, offset
        self.ranges: list[tuple[int, int, int]] = []
        self._start, self._line, self._count = offset, 0, 0

    def add(self, length: int, counts: bool, line_no: int) -> None:
        """A record of ``length`` bytes starting on line ``line_no``; ``counts``: not a blank line."""
        if not self._line:
            self._line = line_no
        self.offset += length
        self._count += counts
        if self._count >= self.size:
            self._cut()

    def _cut(self) -> None:
        if self._line:
            self.ranges.append((self._start, self.offset, self._line))
        self._start, self._line, self._count = self.offset, 0, 0

    def close(self) -> list[tuple[int, int, int]]:
        self._cut()
        return self.ranges


def _size(record: bytes | Oversize) -> int:
    return record.size if isinstance(record, Oversize) else len(record)


def _jsonl_cuts(stream: BinaryIO, records: int, limits: Limits) -> _Cuts:
    cutter = _Cutter(records, 0)
    for line_no, line in bounded_lines(stream, limits):
        # A blank line is no record, but its bytes belong to the range it falls in.
        cutter.add(_size(line), isinstance(line, Oversize) or bool(line.strip()), line_no)
    return _Cuts(cutter.close())


def _csv_cuts(stream: BinaryIO, name: str, records: int, limits: Limits) -> _Cuts | None:
    delimiter = csv_delimiter(name).encode()
    rows = csv_records(bounded_lines(stream, limits), delimiter, limits)
    first = next(rows, None)
    if first is None or isinstance(first[1], Oversize) or not names_a_field(csv_header(first[1], delimiter) or []):
        return None  # an empty file or an unusable header: one piece, which reports it once
    cutter = _Cutter(records, len(first[1]))
    for line_no, record in rows:
        cutter.add(_size(record), True, line_no)
    return _Cuts(cutter.close(), len(first[1]))


def _zip_members(path: Path) -> list[Part]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = list(dict.fromkeys(i.filename for i in archive.infolist() if not i.is_dir()))
    except (zipfile.BadZipFile, OSError):
        return []  # one piece: reading it reports the archive as unreadable, as a backfill does
    if len(names) < 2:
        return []
    return [Part(str(path), member=name) for name in names]


@contextmanager
def open_range(part: Part) -> Iterator[BinaryIO]:
    """The bytes of a range part: the file's header bytes, then ``start``..``stop``."""
    with open(part.path, "rb") as raw:
        header = raw.read(part.header) if part.header else b""
        raw.seek(part.start)
        yield io.BufferedReader(Prefixed(header, _Range(raw, part.stop - part.start)))


class _Range:
    """At most ``size`` bytes of ``stream`` from where it stands (what ``Prefixed`` reads on with)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream, self._left = stream, size

    def read(self, n: int) -> bytes:
        data = self._stream.read(min(n, self._left))
        self._left -= len(data)
        return data
