"""JSON, JSONL and CSV dumps -> RawItem, streaming: one record in memory at a time, at most
``Limits.record_bytes`` of it and ``Limits.depth`` levels deep (see ``limits`` and ``jsonsplit``).

Field names vary between dumps; ``ALIASES`` lists the common ones for each RawItem field.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable, Iterator

from ..models import ItemError, RawItem
from . import jsonnum
from .jsonsplit import Broken, TooDeep, split_json
from .limits import DEFAULT_LIMITS, Limits, Oversize, bounded_lines, csv_records, too_big
from .sniff import decode_record

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
Numbering = Callable[[int], int]


def _same(line_no: int) -> int:
    return line_no


def iter_json(stream: BinaryIO, name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[RawItem | ItemError]:
    """A JSON array of objects, one object (possibly wrapping such an array), or several objects
    in a row; each record is read, decoded and parsed on its own (see ``jsonsplit``)."""
    index = 0
    for record in split_json(stream, limits):
        if isinstance(record, Broken):
            yield ItemError(f"{name}#{index + 1}", f"invalid JSON: {record.reason}")
            return
        index += 1
        location = f"{name}#{index}"
        if isinstance(record, bytes):
            yield _parse_record(record, location, None, limits)
        elif isinstance(record, TooDeep):
            yield ItemError(location, _too_deep(limits), _excerpt(record.head))
        else:
            yield ItemError(location, too_big(record.size, limits), _excerpt(record.head))
    if index == 0:
        yield ItemError(name, "no JSON object or array in the file")


def iter_jsonl(stream: BinaryIO, name: str, encoding: str | None = None,
               limits: Limits = DEFAULT_LIMITS, number: Numbering = _same) -> Iterator[RawItem | ItemError]:
    """One JSON object per line; a broken, undecodable or over-long line is an error at
    ``name:line`` and the rest load. ``encoding`` is unused: each line is decoded on its own.
    ``number`` maps the stream's line numbers to the file's (a part of a file: ``ranges.Part``)."""
    for line_no, line in bounded_lines(stream, limits):
        location = f"{name}:{number(line_no)}"
        if isinstance(line, Oversize):
            yield ItemError(location, too_big(line.size, limits), _excerpt(line.head))
        elif line.strip():
            yield _parse_record(line, location, "cp1256", limits)


def _parse_record(data: bytes, location: str, fallback: str | None, limits: Limits) -> RawItem | ItemError:
    """One record's bytes -> a RawItem, or an error naming what is wrong with it."""
    try:
        text = decode_record(data, fallback)
    except UnicodeDecodeError as exc:
        return ItemError(location, f"undecodable bytes: not UTF-8 at byte {exc.start} ({exc.reason})",
                         _excerpt(data))
    if _may_nest_deeper(data, limits) and any(isinstance(r, TooDeep) for r in split_json(io.BytesIO(data), limits)):
        return ItemError(location, _too_deep(limits), text[:EXCERPT])
    try:
        obj = jsonnum.loads(text)  # 1e999999, NaN, a 100,000-digit integer: kept as text
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno} column {exc.colno}"
        return ItemError(location, f"invalid JSON: {exc.msg} ({where})", text[:EXCERPT])
    return record_to_item(obj, location)


def _may_nest_deeper(data: bytes, limits: Limits) -> bool:
    # Brackets counted in C bound the depth from above; only then is it measured exactly.
    return data.count(b"[") + data.count(b"{") > limits.depth


def _too_deep(limits: Limits) -> str:
    return f"JSON nested deeper than {limits.depth} levels"


def _excerpt(data: bytes) -> str:
    return data[:EXCERPT].decode("utf-8", "replace")


def iter_csv(stream: BinaryIO, name: str, encoding: str | None = None,
             limits: Limits = DEFAULT_LIMITS, number: Numbering = _same) -> Iterator[RawItem | ItemError]:
    """CSV (or TSV) with a header row naming the fields; each record is cut, decoded and parsed
    on its own, so a bad or over-long record is an error at the line where it starts."""
    delimiter = csv_delimiter(name)
    # The csv module's own field limit (128 KiB) would fail records the cap allows.
    csv.field_size_limit(max(csv.field_size_limit(), limits.record_bytes))
    records = csv_records(bounded_lines(stream, limits), delimiter.encode(), limits)
    header: list[str] | None = None
    for line_no, record in records:
        location = f"{name}:{number(line_no)}"
        if isinstance(record, Oversize):
            yield ItemError(location, too_big(record.size, limits), _excerpt(record.head))
            continue
        try:
            rows = list(csv.reader(io.StringIO(decode_record(record), newline=""), delimiter=delimiter))
        except UnicodeDecodeError as exc:
            yield ItemError(location, f"undecodable bytes: not UTF-8 at byte {exc.start} ({exc.reason})",
                            _excerpt(record))
            continue
        except csv.Error as exc:
            yield ItemError(location, f"invalid CSV: {exc}", _excerpt(record))
            continue
        if header is None:
            header = [h.strip().lower() for h in (rows[0] if rows else [])]
            if not names_a_field(header):
                yield ItemError(location, "CSV header names no known field (title, body, text, url, ...)",
                                ",".join(header)[:EXCERPT])
                return
            continue
        for row in rows:
            yield from _csv_row(row, header, location)


def csv_delimiter(name: str) -> str:
    """Tab for a ``.tsv`` file, else a comma."""
    return "\t" if name.lower().endswith(".tsv") else ","


def names_a_field(header: list[str]) -> bool:
    """Whether a CSV header (lower-cased names) names any field an article is read from."""
    return any(h in header for aliases in ALIASES.values() for h in aliases)


def csv_header(record: bytes, delimiter: bytes) -> list[str] | None:
    """A header record's lower-cased names, or None when it cannot be decoded or parsed."""
    try:
        rows = list(csv.reader(io.StringIO(decode_record(record), newline=""), delimiter=delimiter.decode()))
    except (UnicodeDecodeError, csv.Error):
        return None
    return [h.strip().lower() for h in (rows[0] if rows else [])]


def _csv_row(row: list[str], header: list[str], location: str) -> Iterator[RawItem | ItemError]:
    if not any(cell.strip() for cell in row):
        return
    if len(row) > len(header):
        yield ItemError(location, f"{len(row)} fields but the header has {len(header)}", ",".join(row)[:EXCERPT])
        return
    yield record_to_item(dict(zip(header, row)), location)


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
            meta = jsonnum.loads(meta)
        except json.JSONDecodeError:
            return {}
    if not isinstance(meta, dict):
        return {}
    derived = {"agency", "agency_kind", "agency_centre", "attribution", "date_flag", "published_raw", "published_claimed",
               "url_raw"}
    return {k: v for k, v in meta.items() if k not in derived and _keep_extra(v)}


def _truthy(value: Any) -> bool:
    """``True`` from JSON, ``"True"``/``"true"``/``"1"`` from CSV."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))
