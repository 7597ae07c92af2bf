"""JSON text -> Python values whose numbers can be stored as JSON again.

JSON allows numbers Python's ``json`` turns into values no JSON column can hold: ``1e999999``
becomes ``inf``, ``NaN`` and ``-Infinity`` are accepted as extensions, and an integer of more
than 4,300 digits raises ``ValueError`` (not ``JSONDecodeError``) from inside the parser. Such a
value in one extra field made SQLite store invalid JSON (every later export of the database
failed) and crashed a backfill. Here each is kept as its text instead:

``'{"x": 1e999999, "y": NaN, "n": 12}'`` -> ``{"x": "1e999999", "y": "NaN", "n": 12}``

Integers beyond 64 bits are kept as text too: SQLite's JSON functions read them as approximate
floats, and so do JavaScript readers of the API.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..clean.jsonsafe import INT_BOUND

__all__ = ["loads"]


def loads(text: str | bytes) -> Any:
    """``json.loads`` with unrepresentable numbers kept as their text (see the module docstring)."""
    return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)


def _constant(name: str) -> str:
    return name  # "NaN", "Infinity", "-Infinity"


def _float(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def _int(text: str) -> int | str:
    # 19 digits can pass 2**63; checking the length first keeps int() away from 100,000 digits.
    if len(text.lstrip("-")) > 19:
        return text
    value = int(text)
    return value if -INT_BOUND <= value < INT_BOUND else text
