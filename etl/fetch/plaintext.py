"""The plain-text article form: optional leading whitespace, ``date YYYY-MM-DD``, then the body.

There is no title line (the cleaner derives one). A text file without the date header is still
an article, with an unknown date.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from ..models import ItemError, RawItem

MAX_BYTES = 16 * 1024 * 1024
_HEADER = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?")


def iter_text(stream: BinaryIO, name: str, encoding: str) -> Iterator[RawItem | ItemError]:
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        yield ItemError(name, f"text file larger than {MAX_BYTES // (1024 * 1024)} MiB; not one article")
        return
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        yield ItemError(name, f"undecodable bytes ({encoding}) at byte {exc.start}", repr(data[:120]))
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
