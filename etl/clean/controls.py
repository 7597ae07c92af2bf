"""The character policy for stored and printed text: no NUL, no lone surrogates, no control codes.

Pure ``str -> str``. What goes: NUL (PostgreSQL rejects it in text and jsonb, so one NUL would
fail its whole batch), lone surrogates (no UTF-8 encoding exists for them, so encoding fails
later, far from the input), C0 controls except ``\\n`` and ``\\t`` (``\\r`` becomes ``\\n``;
ESC would let a title rewrite the reader's terminal), DEL and the C1 controls U+0080-U+009F.

What stays, deliberately: U+200C (ZWNJ) and U+200D (ZWJ), which Persian spelling needs, and the
bidi marks and embeddings (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069): they are format
characters (category Cf), not controls, and the normalizer decides about them. Never use
``str.isprintable()`` or ``[^\\w\\s]`` for this: both would drop the ZWNJ.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..models import RawItem

__all__ = ["clean_controls", "clean_item", "clean_value", "has_controls", "safe", "safe_name"]

# One pattern for everything that changes, so clean text costs one scan. Line breaks (CR, CRLF,
# NEL) become "\n" and vertical tab / form feed a space, so removing them never joins two words.
_CONTROLS = re.compile("\r\n?|[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]+")
_KEPT_AS = {"\x85": "\n", "\x0b": " ", "\x0c": " "}
# One character at a time, for escaping (a terminal gets ``\\x1b``, never ESC itself).
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# In a name (a source, a file, a URL) the bidi controls are escaped too: U+202E in a file name
# shows "evil\u202etxt.jsonl" as "evilnosj.txt" and pulls the rest of the line around with it.
# Prose (titles, snippets) keeps them: Persian text uses the marks, and a title is the last column.
_NAME = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_controls(text: str) -> str:
    """``"خبر\\x00 \\x1b[2Jفوری\\ud800"`` -> ``"خبر [2Jفوری"``; ``"می\\u200cشود"`` is unchanged.

    Idempotent, and linear in the length of the text (one scan when nothing needs removing).
    """
    return _CONTROLS.sub(_replacement, text)


def _replacement(match: re.Match) -> str:
    run = match.group()
    if run[0] == "\r":
        return "\n"
    return "".join(_KEPT_AS.get(c, "") for c in run)


def has_controls(text: str) -> bool:
    """Whether ``clean_controls`` would change ``text``: ``"a\\x00"`` -> True, ``"a\\u200cb"`` -> False."""
    return _CONTROLS.search(text) is not None


def clean_value(value: Any, depth: int = 0) -> Any:
    """``clean_controls`` on every string inside a JSON-like value (dict keys too), for ``meta``:
    ``{"a\\x00": ["b\\x1b"]}`` -> ``{"a": ["b"]}``. Deeper than 64 levels it becomes its text form."""
    if isinstance(value, str):
        return clean_controls(value)
    if depth > 64:
        return clean_controls(str(value))[:2000]
    if isinstance(value, dict):
        return {clean_controls(str(k)): clean_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_value(v, depth + 1) for v in value]
    return value


def clean_item(item: RawItem) -> RawItem:
    """Every string of a raw item (title, body, summary, URL, GUID, date, location, extra) under
    the policy above, so nothing the cleaner passes on can break the load or the terminal."""
    fields = ("location", "title", "body", "summary", "url", "guid", "published")
    changed = {f: clean_controls(v) for f in fields if isinstance(v := getattr(item, f), str) and has_controls(v)}
    extra = clean_value(item.extra) if item.extra else item.extra
    return replace(item, **changed, extra=extra) if changed or extra != item.extra else item


def safe(value: Any) -> str:
    """Text for a terminal: control characters shown as ``\\x1b``-style escapes, never sent raw.

    ``safe("عنوان\\x1b]0;pwned\\x07")`` -> ``"عنوان\\\\x1b]0;pwned\\\\x07"``. Newlines and tabs stay.
    """
    return _escaped(_TERMINAL, "-" if value is None else str(value))


def safe_name(value: Any) -> str:
    """``safe`` for names (sources, files, URLs, whole error lines): bidi controls escaped too.

    ``safe_name("evil\u202etxt.jsonl")`` -> ``"evil\\u202etxt.jsonl"``; ZWNJ (``"می\u200cشود"``) stays.
    """
    return _escaped(_NAME, "-" if value is None else str(value))


def _escaped(pattern: re.Pattern, text: str) -> str:
    if "\r" not in text and not pattern.search(text):
        return text
    return pattern.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"),
                       text.replace("\r", "\\r"))
