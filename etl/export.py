"""Writers for `news-etl export`: JSONL, CSV and Parquet, one row in memory at a time
(Parquet: one row group at a time). What they write, `news-etl backfill` reads back."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import IO, Any, Iterable

from .defaults import EXPORT_FORMATS
from .load.search import EXPORT_COLUMNS

FORMATS = EXPORT_FORMATS
ROW_GROUP = 5000


class ExportError(RuntimeError):
    """The export cannot be written as asked (e.g. Parquet without pyarrow)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    count = 0
    for count, row in enumerate(rows, start=1):
        out.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
    return count


def write_csv(rows: Iterable[dict], out: IO[str], excel: bool = False) -> int:
    """RFC 4180 CSV (CRLF line ends). ``excel`` starts it with a UTF-8 byte-order mark: without one
    Excel reads the file as the system's legacy code page and shows Persian as mojibake."""
    if excel:
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for count, row in enumerate(rows, start=1):
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if k == "meta" and v is not None else _plain(v)
                         for k, v in row.items()})
    return count


def write_parquet(rows: Iterable[dict], path: str) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("--format parquet needs pyarrow: pip install 'news-etl[parquet]'") from None
    schema = pa.schema([
        ("id", pa.int64()), ("source", pa.string()), ("key", pa.string()), ("guid", pa.string()),
        ("url", pa.string()), ("title", pa.string()), ("title_derived", pa.bool_()), ("summary", pa.string()),
        ("body", pa.string()), ("published_at", pa.timestamp("us", tz="UTC")), ("published_time_known", pa.bool_()),
        ("fetched_at", pa.timestamp("us", tz="UTC")), ("updated_at", pa.timestamp("us", tz="UTC")),
        ("cluster_id", pa.int64()), ("meta", pa.string()), ("agency", pa.string()),
    ])
    count, group = 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            row = dict(row, meta=json.dumps(row["meta"], ensure_ascii=False) if row["meta"] is not None else None)
            group.append(row)
            count += 1
            if len(group) >= ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(group, schema=schema))
                group = []
        if group or count == 0:
            writer.write_table(pa.Table.from_pylist(group, schema=schema))
    return count
