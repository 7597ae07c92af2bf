"""Extra fields (``meta``) -> values every JSON column stores and every JSON reader reads back.

Pure. ``json.dumps`` writes ``inf`` as ``Infinity`` and ``nan`` as ``NaN``, which are not JSON:
SQLite stored them as they came, and from then on its JSON functions (the export, ``show``, the
article's web page) failed on that row; PostgreSQL refused the row. So a number that JSON cannot
hold is kept as its text, as the file reader already keeps ``1e999999`` (``etl/fetch/jsonnum.py``):

``{"x": float("inf"), "n": [2**70]}`` -> ``{"x": "inf", "n": ["1180591620717411303424"]}``

A value that has no JSON form at all raises ``NotJSON`` naming its field, so its item fails alone.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["INT_BOUND", "NotJSON", "storable"]

# Integers in [-2**63, 2**63) stay numbers; beyond, SQLite's JSON functions and JavaScript readers
# of the API only see an approximate float, so they are kept as text.
INT_BOUND = 2**63


class NotJSON(ValueError):
    """An extra field that cannot be stored as JSON (the input's fault; retrying will not help)."""


def storable(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with non-finite and huge numbers as text; raises NotJSON for the rest."""
    value = _numbers_as_text(meta, "meta")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise NotJSON(f"extra fields cannot be stored as JSON: {exc}") from None
    return value


def _numbers_as_text(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "inf", "-inf", "nan"
    if isinstance(value, int) and not isinstance(value, bool) and not -INT_BOUND <= value < INT_BOUND:
        try:
            return str(value)
        except ValueError:  # more digits than Python converts (4,300 by default)
            raise NotJSON(f"extra field {where}: an integer of about {value.bit_length() * 0.30103:,.0f} "
                          "digits") from None
    if isinstance(value, dict):
        return {k: _numbers_as_text(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers_as_text(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
