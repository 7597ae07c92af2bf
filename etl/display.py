"""Plain-text tables and progress lines for the CLI (the library itself never prints)."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from typing import Any, Sequence, TextIO
from zoneinfo import ZoneInfo

from .clean.controls import safe
from .models import RunReport

TEHRAN = ZoneInfo("Asia/Tehran")


def fmt_time(value: datetime | None) -> str:
    return value.astimezone(TEHRAN).strftime("%Y-%m-%d %H:%M") if value else "-"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [[safe(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# json escapes C0 controls itself; with ensure_ascii=False it would pass DEL, C1 and lone surrogates raw.
_UNESCAPED = re.compile("[\x7f-\x9f\ud800-\udfff]")


def to_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=_json_default)
    return _UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class ProgressLine:
    """One self-rewriting stderr line while a run goes on; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO = sys.stderr, enabled: bool | None = None):
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
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
