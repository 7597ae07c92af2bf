"""Results as CSV: the same columns for ``--csv`` on the command line and the web page's
``.csv`` links, so the two cannot differ."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV (CRLF line ends), UTF-8 text: ``(["a"], [[1]])`` -> ``"a\\r\\n1\\r\\n"``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
