"""JSON, JSONL and CSV dumps -> RawItem, streaming: one record in memory at a time.

Field names vary between dumps; ``ALIASES`` lists the common ones for each RawItem field.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any, BinaryIO, Iterator

import ijson

from ..models import ItemError, RawItem

ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "heading"),
    "body": ("body", "text", "content", "paragraphs", "article", "full_text", "fulltext"),
    "summary": ("summary", "abstract", "description", "lead", "lede"),
    "url": ("url", "link", "canonical_url", "href"),
    "guid": ("guid", "uuid"),
    "published": ("published", "date", "published_at", "pubdate", "pub_date", "datetime",
                  "time", "created_at", "issued", "updated"),
}
_WRAPPERS = ("articles", "items", "entries", "news", "posts", "data", "results", "records")
# Columns of `news-etl export` that describe our own row, not the article: not kept as meta.
_EXPORT_ONLY = {"id", "source", "key", "title_derived", "published_time_known", "fetched_at", "updated_at",
                "cluster_id", "meta", "agency"}
_EXTRA_MAX = 2000  # characters of an unknown field kept in meta
EXCERPT = 300


def iter_json(stream: BinaryIO, name: str) -> Iterator[RawItem | ItemError]:
    """A JSON array of objects (streamed), or one object (possibly wrapping such an array)."""
    index = 0
    try:
        if _first_char(stream) == b"[":
            records = ijson.items(stream, "item", use_float=True)
        else:
            values = ijson.items(stream, "", use_float=True, multiple_values=True)
            records = (record for value in values for record in _unwrap(value))
        for index, record in enumerate(records, start=1):
            yield record_to_item(record, f"{name}#{index}")
    except ijson.JSONError as exc:
        yield ItemError(f"{name}#{index + 1}", f"invalid JSON: {exc}")
    except UnicodeDecodeError:
        yield ItemError(name, "JSON is not UTF-8")


def _first_char(stream: BinaryIO) -> bytes:
    # ijson needs the stream from the start; peek without consuming.
    return stream.peek(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def _unwrap(obj: Any) -> list[Any]:
    """``{"articles": [...]}`` -> the list; anything else -> [obj]."""
    if isinstance(obj, dict) and not any(k in obj for k in ("title", "body", "text", "content", "paragraphs")):
        for key in _WRAPPERS:
            if isinstance(obj.get(key), list):
                return obj[key]
    return [obj]


def iter_jsonl(stream: BinaryIO, name: str, encoding: str) -> Iterator[RawItem | ItemError]:
    """One JSON object per line; a broken line is an error at ``name:line``, the rest load."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline=None)
    line_no = 0
    try:
        for line_no, line in enumerate(text, start=1):
            if not line.strip():
                continue
            location = f"{name}:{line_no}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield ItemError(location, f"invalid JSON: {exc.msg} (column {exc.colno})", line[:EXCERPT])
                continue
            yield record_to_item(obj, location)
    except UnicodeDecodeError as exc:
        yield ItemError(f"{name}:{line_no + 1}", f"undecodable bytes ({encoding}): {exc.reason}")


def iter_csv(stream: BinaryIO, name: str, encoding: str) -> Iterator[RawItem | ItemError]:
    """CSV (or TSV) with a header row naming the fields."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not any(h in header for aliases in ALIASES.values() for h in aliases):
            yield ItemError(f"{name}:1", "CSV header names no known field (title, body, text, url, ...)", ",".join(header)[:EXCERPT])
            return
        start = reader.line_num + 1
        for row in reader:
            # A quoted field may span lines; name the line where the record starts.
            location, start = f"{name}:{start}", reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                yield ItemError(location, f"{len(row)} fields but the header has {len(header)}", ",".join(row)[:EXCERPT])
                continue
            yield record_to_item(dict(zip(header, row)), location)
    except csv.Error as exc:
        yield ItemError(f"{name}:{reader.line_num}", f"invalid CSV: {exc}")
    except UnicodeDecodeError as exc:
        yield ItemError(f"{name}:{reader.line_num + 1}", f"undecodable bytes ({encoding}): {exc.reason}")


def record_to_item(obj: Any, location: str) -> RawItem | ItemError:
    """Map one record's fields onto a RawItem: ``{"link": u, "paragraphs": [a, b]} -> url=u, body="a\\nb"``."""
    if not isinstance(obj, dict):
        return ItemError(location, f"expected an object with article fields, got {type(obj).__name__}", str(obj)[:EXCERPT])
    fields = {str(k).strip().lower(): v for k, v in obj.items()}
    picked: dict[str, str | None] = {}
    used: set[str] = set()
    for field, aliases in ALIASES.items():
        for alias in aliases:
            value = _as_text(fields.get(alias), dated=field == "published")
            if value:
                picked[field] = value
                used.add(alias)
                break
    if _truthy(fields.get("title_derived")):
        # A news-etl export of an article that had no title: derive it again, so the
        # re-imported article gets the same natural key.
        picked.pop("title", None)
    extra = {k: v for k, v in fields.items() if k not in used and k not in _EXPORT_ONLY and _keep_extra(v)}
    extra = {**_exported_meta(fields.get("meta")), **extra}
    return RawItem(location=location, extra=extra, **picked)


def _as_text(value: Any, dated: bool = False) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        # A number in a date field is a Unix timestamp (seconds, or milliseconds).
        if dated and 1e9 <= value < 1e14:
            seconds = value / 1000 if value >= 1e11 else value
            return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
        return str(value)
    if isinstance(value, list):
        # "paragraphs": one string per paragraph.
        return "\n".join(p for p in (_as_text(v) for v in value) if p) or None
    if isinstance(value, dict):
        for key in ("text", "value", "content", "href", "url"):
            if isinstance(value.get(key), str):
                return value[key]
    return None


def _keep_extra(value: Any) -> bool:
    if value in (None, "", [], {}):
        return False
    return len(json.dumps(value, ensure_ascii=False, default=str)) <= _EXTRA_MAX


def _exported_meta(meta: Any) -> dict[str, Any]:
    """The ``meta`` column of a news-etl export (an object, or JSON text in CSV), minus what the
    cleaner derives again (agency, date flags)."""
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            return {}
    if not isinstance(meta, dict):
        return {}
    derived = {"agency", "agency_centre", "attribution", "date_flag", "published_raw", "published_claimed", "url_raw"}
    return {k: v for k, v in meta.items() if k not in derived and _keep_extra(v)}


def _truthy(value: Any) -> bool:
    """``True`` from JSON, ``"True"``/``"true"``/``"1"`` from CSV."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))
