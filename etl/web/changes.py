"""What changed between two versions of an article: the fields, and for text a word diff.

Pure: ``changes(older, newer)`` takes two rows (a revision and the version that replaced it)
and returns what a reader needs to see, never the whole body twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

FIELDS = (("title", "عنوان"), ("summary", "لید"), ("body", "متن"), ("url", "نشانی"), ("published_at", "زمان انتشار"))
CONTEXT_WORDS = 6  # words kept around each change in a long text
MAX_HUNKS = 8


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of words: ``kind`` is "same", "removed" or "added"; "gap" stands for elided text."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    label: str
    pieces: tuple[Piece, ...]


def changes(older: dict[str, Any], newer: dict[str, Any]) -> list[Change]:
    """``changes({"title": "الف ب"}, {"title": "الف ج"})`` ->
    ``[Change("title", "عنوان", (same "الف", removed "ب", added "ج"))]`` (fields equal in both are left out)."""
    out = []
    for name, label in FIELDS:
        old, new = older.get(name), newer.get(name)
        if old != new:
            out.append(Change(name, label, tuple(word_diff(_text(old), _text(new)))))
    return out


def _text(value: Any) -> str:
    return "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))


def word_diff(old: str, new: str) -> list[Piece]:
    """Words removed and added, with a little unchanged context around each change:
    ``("a b c", "a x c")`` -> ``[same "a", removed "b", added "x", same "c"]``."""
    a, b = old.split(), new.split()
    pieces: list[Piece] = []
    hunks = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.extend(_context(a[i1:i2], first=not pieces, last=i2 == len(a)))
            continue
        hunks += 1
        if hunks > MAX_HUNKS:
            pieces.append(Piece("gap", "…"))
            break
        if i2 > i1:
            pieces.append(Piece("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("added", " ".join(b[j1:j2])))
    return pieces


def _context(words: list[str], first: bool, last: bool) -> list[Piece]:
    """Unchanged words between changes, shortened to CONTEXT_WORDS on each side."""
    keep = CONTEXT_WORDS
    if len(words) <= 2 * keep:
        return [Piece("same", " ".join(words))]
    head = [] if first else [Piece("same", " ".join(words[:keep]))]
    tail = [] if last else [Piece("same", " ".join(words[-keep:]))]
    return head + [Piece("gap", "…")] + tail
