"""The plain-text article form: optional leading whitespace, ``date YYYY-MM-DD``, then the body.

There is no title line (the cleaner derives one). A text file without the date header is still
an article, with an unknown date.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from ..models import ItemError, RawItem
from .limits import DEFAULT_LIMITS, Limits, read_capped, too_big
from .sniff import decode_record

_HEADER = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?")


def iter_text(stream: BinaryIO, name: str, encoding: str | None = None,
              limits: Limits = DEFAULT_LIMITS) -> Iterator[RawItem | ItemError]:
    """The file is one article: at most ``limits.record_bytes``, UTF-8 or else Windows-1256
    (``encoding`` is unused: the bytes are judged as a whole by ``decode_record``)."""
    data = read_capped(stream, limits.record_bytes)
    if len(data) > limits.record_bytes:
        size = len(data)
        while chunk := stream.read(1024 * 1024):  # only to say how big it was
            size += len(chunk)
        yield ItemError(name, too_big(size, limits), data[:300].decode("utf-8", "replace"))
        return
    try:
        text = decode_record(data)
    except UnicodeDecodeError as exc:
        yield ItemError(name, f"undecodable bytes: not UTF-8 at byte {exc.start} ({exc.reason})", repr(data[:120]))
        return
    yield parse_text(text, name)


def parse_text(text: str, location: str) -> RawItem | ItemError:
    """``" date 2025-08-22 به گزارش ..." -> RawItem(published="2025-08-22", body="به گزارش ...")``"""
    match = _HEADER.match(text)
    published = match.group(1) if match else None
    body = text[match.end():] if match else text
    if not body.strip():
        return ItemError(location, "no article text after the date line" if match else "empty text", text[:300])
    return RawItem(location=location, body=body.strip(), published=published)
