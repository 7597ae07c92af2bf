"""A JSON document -> the bytes of each of its records, found without parsing them.

Records are the elements of a top-level array, the elements of the array a top-level wrapper
object holds (``{"articles": [...]}``), or a top-level object itself. The splitter only tracks
strings and brackets (a counter, never a stack), so memory is one record at most
(``Limits.record_bytes``) however long a string or however deep the nesting, and time is linear:
ijson built a 64 MB string in 14.7 s (quadratic) and took 5.7 GB for 100,000 levels. Each
record's bytes are then parsed by ``json.loads``, which validates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from .limits import Limits, Oversize

__all__ = ["Broken", "TooDeep", "split_json"]

CHUNK = 64 * 1024
WRAPPERS = frozenset(b"articles items entries news posts data results records".split())
# An object holding one of these before its wrapper key is an article, not a wrapper.
ARTICLE_KEYS = frozenset(b"title body text content paragraphs".split())
# Runs of brackets come as one match: 1,000,000 levels are a few thousand regex calls, not 2 million.
_STRUCT = re.compile(rb'[\[{]+|[\]}]+|[",:]')
# Three levels down no comma or colon matters (records sit at depth 2 at most), so a run of openers
# may hold scalars and commas too: "[1,[1,[1," 1,000,000 deep is one match.
_DEEP = re.compile(rb'(?:[\[{][^"\[\]{}]*)+|[\]}]+|"')
_KEY_MAX = 64


@dataclass(frozen=True, slots=True)
class TooDeep:
    """A record nested deeper than ``Limits.depth``; its bytes were dropped."""

    depth: int
    head: bytes


@dataclass(frozen=True, slots=True)
class Broken:
    """The document's structure fails outside any record (a stray closing bracket, or the end
    before the last bracket closed): ``reason`` says which, at which byte."""

    reason: str


Record = bytes | Oversize | TooDeep | Broken


def split_json(stream: BinaryIO, limits: Limits) -> Iterator[Record]:
    """Each record's bytes, in order; an over-long or over-deep record comes as a marker instead."""
    splitter = _Splitter(limits)
    first = True
    while chunk := stream.read(CHUNK):
        if first and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        first = False
        yield from splitter.feed(chunk)
        if splitter.broken:
            return
    yield from splitter.close()


class _Splitter:
    """The scanning state between chunks: depth, string/escape state, the record being captured."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.depth = 0
        self.level = 0  # containers around a record: 0 top-level values, 1 array items, 2 wrapped items
        self.in_string = self.escape = False
        self.top: bytes = b""  # the top-level container's opening bracket
        self.offset = 0  # bytes of the document before the current chunk
        self.broken = False
        self._reset_object()
        self._capture: _Capture | None = None

    def _reset_object(self) -> None:
        self.expect_key = self.article = self.wrapped = False
        self.key: bytes | None = None  # the top-level key being read
        self.last_key: bytes | None = None  # the top-level key whose value comes next

    def feed(self, chunk: bytes) -> Iterator[Record]:
        i, n = 0, len(chunk)
        if self.escape:
            i, self.escape = 1, False
            if self.key is not None:
                self.key += chunk[:1]
        capture = self._capture
        if capture is not None:
            capture.seg = 0  # the record continues from this chunk's first byte
        while i < n:
            if self.in_string:
                i = self._string(chunk, i)
                continue
            match = (_DEEP if self.depth >= 3 else _STRUCT).search(chunk, i)
            if match is None:
                break
            i = match.end()
            yield from self._token(chunk, match.start(), i)
            if self.broken:
                return
        if self._capture is not None:
            self._capture.add(chunk, self._capture.seg, n)
        self.offset += n

    def close(self) -> Iterator[Record]:
        """End of the document: a record still open (a truncated file) goes to json.loads as it is."""
        record = self._capture.result() if self._capture is not None else b""
        self._capture = None
        if not isinstance(record, bytes) or record.strip():
            yield record
        # A file cut after a whole record still lost what came after it: say so, after the record.
        if self.depth or self.in_string:
            yield Broken(f"premature end: the JSON ends inside an open bracket or string (byte {self.offset})")

    def _string(self, chunk: bytes, i: int) -> int:
        """Scan a string from ``i``: returns where scanning goes on (after its closing quote, or the
        chunk's end). ``bytes.find`` jumps from quote to quote; a quote after an odd run of
        backslashes is escaped."""
        start, n = i, len(chunk)
        while (q := chunk.find(b'"', i)) >= 0 and _backslashes_before(chunk, q, start) % 2:
            i = q + 1
        end = n if q < 0 else q
        if self.key is not None and len(self.key) <= _KEY_MAX:
            self.key += chunk[start:min(end, start + _KEY_MAX + 1)]
        if q < 0:
            # A backslash ending the chunk escapes the next chunk's first byte.
            self.escape = _backslashes_before(chunk, n, start) % 2 == 1
            return n
        self.in_string = False
        if self.key is not None:
            self.last_key, self.key = self.key, None
        return q + 1

    def _token(self, chunk: bytes, at: int, end: int) -> Iterator[Record]:
        c = chunk[at]
        if c == 0x22:  # '"'
            self.in_string = True
            if self.depth == 1 and self.top == b"{" and self.expect_key:
                self.key = b""
        elif c in (0x5B, 0x7B):  # '[' '{'
            self._open(chunk, at, c)
            openers = chunk.count(b"[", at, end) + chunk.count(b"{", at, end)
            if openers > 1:  # the rest of the run only nests deeper inside the record
                self.depth += openers - 1
                if self._capture is not None:
                    self._capture.deeper(self.depth - self.level, self.limits.depth)
        elif c in (0x5D, 0x7D):  # ']' '}'
            # Closers well inside a record only count down; the last ones may end records.
            bulk = max(0, min(end - at, self.depth - max(self.level, 1)) - 1)
            self.depth -= bulk
            for position in range(at + bulk, end):
                yield from self._close(chunk, position)
                if self.broken:
                    return
        elif c == 0x2C:  # ','
            if self.depth == self.level and self.level > 0 and self._capture is not None:
                yield self._end(chunk, at)
                self._start(chunk, at + 1)
            if self.depth == 1 and self.top == b"{":
                self.expect_key, self.last_key = True, None
        elif c == 0x3A and self.depth == 1 and self.top == b"{":  # ':' after a top-level key
            self.expect_key = False
            self.article = self.article or self.last_key in ARTICLE_KEYS

    def _open(self, chunk: bytes, at: int, c: int) -> None:
        pending_key = self.last_key if self.depth == 1 and self.top == b"{" else None
        self.depth += 1
        if self.depth == 1:
            self.top = bytes([c])
            if c == 0x5B:
                self.level = 1
                self._start(chunk, at + 1)
            else:
                self.level = 0
                self._reset_object()
                self.expect_key = True
                self._start(chunk, at)
        elif (self.depth == 2 and c == 0x5B and pending_key in WRAPPERS and not self.article
              and not self.wrapped):
            # {"articles": [...]}: stream the array's items instead of holding the whole object.
            self.wrapped, self.level, self._capture = True, 2, None
            self._start(chunk, at + 1)
        elif self._capture is not None:
            self._capture.deeper(self.depth - self.level, self.limits.depth)

    def _close(self, chunk: bytes, at: int) -> Iterator[Record]:
        if self.depth == 0:
            self.broken = True
            yield Broken(f"a closing bracket with nothing open at byte {self.offset + at}")
            return
        if self.depth == self.level and self._capture is not None:  # the records' array closes
            record = self._end(chunk, at)
            if not isinstance(record, bytes) or record.strip():
                yield record
            self.level = 0
        self.depth -= 1
        if self.depth == 0 and self.level == 0 and self._capture is not None:  # a top-level object
            yield self._end(chunk, at + 1)

    def _start(self, chunk: bytes, at: int) -> None:
        self._capture = _Capture(self.limits.record_bytes, at)

    def _end(self, chunk: bytes, at: int) -> Record:
        capture, self._capture = self._capture, None
        capture.add(chunk, capture.seg, at)
        return capture.result()


def _backslashes_before(chunk: bytes, at: int, start: int) -> int:
    k = at
    while k > start and chunk[k - 1] == 0x5C:
        k -= 1
    return at - k


class _Capture:
    """The bytes of one record so far (from ``seg`` in the current chunk); past the cap or the
    depth limit only the first bytes are kept, for the error's excerpt."""

    def __init__(self, cap: int, seg: int) -> None:
        self.cap, self.seg = cap, seg
        self.parts: list[bytes] = []
        self.size = 0
        self.head = b""
        self.depth = 0  # the deepest nesting seen inside the record, once it passed the limit

    def add(self, chunk: bytes, start: int, end: int) -> None:
        piece = chunk[start:end]
        if len(self.head) < 300:
            self.head = (self.head + piece).lstrip()[:300]
        self.size += len(piece)
        if self.size > self.cap or self.depth:
            self.parts.clear()
        else:
            self.parts.append(piece)

    def deeper(self, depth: int, limit: int) -> None:
        if depth > limit:
            self.depth = max(self.depth, depth)

    def result(self) -> Record:
        if self.depth:
            return TooDeep(self.depth, self.head)
        if self.size > self.cap:
            return Oversize(self.size, self.head)
        return b"".join(self.parts)
