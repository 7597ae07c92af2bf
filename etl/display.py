"""Plain-text tables and progress lines for the CLI (the library itself never prints).

Widths are display widths, not ``len``: ZWNJ (U+200C) and other format or combining characters
take no column, wide East Asian characters take two. Nothing is removed from the text to fit;
a cell that does not fit is cut and ends with an ellipsis ``…``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import unicodedata
from datetime import datetime
from typing import Any, Sequence, TextIO
from zoneinfo import ZoneInfo

from .clean.controls import safe, safe_name
from .models import RunReport
from .redact import redact

TEHRAN = ZoneInfo("Asia/Tehran")
ELLIPSIS = "…"
GAP = "  "
MIN_COLUMN = 6  # a shrunk column still shows a few characters and the ellipsis


def shown(value: Any) -> str:
    """A name or a message as a terminal may show it: a URL's password masked (``etl.redact``),
    control and bidi control characters escaped (``safe_name``): ``"src\u202e"`` -> ``"src\\u202e"``."""
    return safe_name(redact("-" if value is None else str(value)))


def fmt_time(value: datetime | None) -> str:
    return value.astimezone(TEHRAN).strftime("%Y-%m-%d %H:%M") if value else "-"


def char_width(char: str) -> int:
    """Columns a terminal gives one character: ``"\\u200c" -> 0``, ``"ب" -> 1``, ``"漢" -> 2``."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Cf", "Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """``"می\\u200cشود" -> 5``: the ZWNJ is there but takes no column."""
    return sum(char_width(c) for c in text)


def truncate(text: str, width: int, middle: bool = False) -> str:
    """Cut ``text`` to ``width`` columns with an ellipsis; ``middle`` keeps its start and, at twice
    the length, its end, where a URL has its slug and an error message its reason:
    ``truncate("abcdefghij", 7) -> "abcdef…"``, ``truncate("abcdefghij", 7, True) -> "ab…ghij"``."""
    if text_width(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    if not middle:
        return _take(text, width - 1) + ELLIPSIS
    tail = _take(text[::-1], (width - 1) * 2 // 3)[::-1]
    return _take(text, width - 1 - text_width(tail)) + ELLIPSIS + tail


def _take(text: str, width: int) -> str:
    """The longest prefix of ``text`` that fits in ``width`` columns (zero-width marks stay with it)."""
    used = 0
    for index, char in enumerate(text):
        used += char_width(char)
        if used > width:
            return text[:index]
    return text


def terminal_width(wide: bool = False, stream: TextIO | None = None) -> int | None:
    """Columns to fit output into: None (full text) with ``--wide`` or when not writing to a
    terminal, so a pipe or a file always gets everything; else the terminal's (or $COLUMNS)."""
    stream = stream or sys.stdout
    if wide or not stream.isatty():
        return None
    return shutil.get_terminal_size().columns


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int | None = None,
          shrink: Sequence[int] = (), detail: bool = False, prose: Sequence[int] = ()) -> str:
    """Rows as aligned columns (numbers to the right). With ``width``, the table is fitted:
    a ``detail`` last column (an error message) that does not fit moves to its own line under its
    row, so its reason stays readable; then columns are one space apart; then the ``shrink``
    columns are cut, widest first. Cells are ``shown`` (names: bidi controls escaped, passwords
    masked) except the ``prose`` columns (titles), which keep their bidi marks."""
    heads = [str(h) for h in headers]
    cells = [[_cell(v, i in prose) for i, v in enumerate(row)] for row in rows]
    right = [bool(rows) and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) for i in range(len(heads))]
    details: list[str] = []
    if width is not None and detail and _total(_natural(heads, cells)) > width:
        details = _split_detail(heads, cells, width)
    widths = _natural(heads, cells)
    # Narrow before cutting: one space between columns keeps every cell whole.
    gap = " " if width is not None and _total(widths) > width else GAP
    widths = _fit(widths, shrink, width, len(gap))
    lines = [_line(heads, widths, right, gap), gap.join("-" * w for w in widths)]
    for index, row in enumerate(cells):
        lines.append(_line(row, widths, right, gap))
        if details and details[index]:
            lines.append(details[index])
    return "\n".join(lines)


def _split_detail(heads: list[str], cells: list[list[str]], width: int) -> list[str]:
    """Take the last column out of the table: one indented ``label: text`` line per row that has one."""
    label = heads.pop()
    room = max(width - text_width(label) - 6, MIN_COLUMN)
    lines = []
    for row in cells:
        text = row.pop()
        lines.append(f"    {label}: {truncate(text, room, middle=True)}" if text not in ("", "-") else "")
    return lines


def _cell(value: Any, prose: bool = False) -> str:
    # Cells are one line: a stray newline would break the table's rows apart.
    # Stored text may predate the cleaner's control-character policy: never print it raw.
    if value is None:
        return "-"
    return " ".join((safe(str(value)) if prose else shown(value)).splitlines())


def _natural(heads: list[str], cells: list[list[str]]) -> list[int]:
    return [max(text_width(r[i]) for r in [heads, *cells]) for i in range(len(heads))]


def _total(widths: Sequence[int], gap: int = len(GAP)) -> int:
    return sum(widths) + gap * (len(widths) - 1)


def _fit(widths: list[int], shrink: Sequence[int], width: int | None, gap: int) -> list[int]:
    """Narrow the shrinkable columns one column at a time, always the widest, until the table fits."""
    if width is None:
        return widths
    overflow = _total(widths, gap) - width
    while overflow > 0:
        candidates = [i for i in shrink if i < len(widths) and widths[i] > MIN_COLUMN]
        if not candidates:
            break
        widths[max(candidates, key=lambda i: widths[i])] -= 1
        overflow -= 1
    return widths


def _line(row: Sequence[str], widths: Sequence[int], right: Sequence[bool], gap: str) -> str:
    parts = []
    for text, width, to_right in zip(row, widths, right):
        text = truncate(text, width)
        pad = " " * (width - text_width(text))
        parts.append(pad + text if to_right else text + pad)
    return gap.join(parts).rstrip()


# json escapes C0 controls itself; with ensure_ascii=False it would pass DEL, C1, lone surrogates
# and bidi controls raw (the same text for a JSON reader, a rewritten line for a terminal).
_UNESCAPED = re.compile("[\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def to_json(value: Any) -> str:
    """JSON for the terminal or a pipe: controls escaped, and URL passwords masked (``etl.redact``)."""
    text = json.dumps(value, ensure_ascii=False, default=_json_default)
    return redact(_UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class ProgressLine:
    """One self-rewriting stderr line while a run goes on; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None):
        # stderr as it is now, not when this module was imported (a test may have replaced it since).
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()

    def __call__(self, report: RunReport) -> None:
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.stream.write(f"\r{report.line()}  ({report.seen / elapsed:,.0f} items/s)\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
