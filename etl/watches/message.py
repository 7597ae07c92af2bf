"""What one delivery says: a watch's hit (or a digest of hits) as data, the same for the webhook's
JSON body, the e-mail and the Atom entry. Pure: rows in, values out.

Every attempt of one message carries the same ``key`` (the webhook's Idempotency-Key, the
e-mail's Message-ID, the Atom entry's id): a hit sent alone has ``uuid5(watch/article id)``,
so a receiver can deduplicate on it even across a kill -9 of the sender; a digest has the key
drawn when its hits were grouped, kept with them through every retry.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from ..load.search import excerpt_of
from ..load.watches import HitRow

__all__ = ["KEY_NAMESPACE", "Message", "article_json", "hit_key", "redacted_url"]

# A fixed namespace: the same (watch, article) gives the same key on every machine, ever.
KEY_NAMESPACE = uuid.UUID("6f1c3c52-58a4-4e0e-9b0e-2b5d2c1f7a11")
SNIPPET_WIDTH = 240


def hit_key(watch: str, article_id: int) -> str:
    """The Idempotency-Key of a (watch, article): ``hit_key("oil", 42)`` is the same on every attempt."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{watch}/{article_id}"))


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery: a hit alone (``digest`` False, one hit) or a digest of hits."""

    watch: str
    query: str
    key: str
    hits: Sequence[HitRow]
    digest: bool = False

    def snippet(self, hit: HitRow) -> str:
        """The text around the first match, as ``search`` shows it (plain: no marks)."""
        row = {"title": hit.title, "summary": hit.summary, "body": hit.body}
        return excerpt_of(row, self.query).text[:SNIPPET_WIDTH * 2]

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"watch": self.watch, "query": self.query, "idempotency_key": self.key,
                                "event": "digest" if self.digest else "match"}
        articles = [article_json(hit, self.snippet(hit)) for hit in self.hits]
        if self.digest:
            body["articles"] = articles
        else:
            body["article"] = articles[0]
        return body

    def body(self) -> bytes:
        """The webhook's body: UTF-8 JSON, Persian as is (not \\u escapes)."""
        return json.dumps(self.as_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def article_json(hit: HitRow, snippet: str) -> dict[str, Any]:
    return {"id": hit.article_id, "url": hit.url, "title": hit.title, "agency": hit.agency, "source": hit.source,
            "published_at": _iso(hit.published_at), "snippet": snippet, "matched_at": _iso(hit.matched_at),
            "reason": hit.reason}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def redacted_url(url: str) -> str:
    """A webhook address as logs and listings show it: scheme, host and port only, since the path
    or query of a hook address is often its secret: ``https://h.example/T0/B0/XyZ`` -> ``https://h.example/…``."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{rest}"
