"""A watch as the sources file declares it, checked when the file is read.

    [[watches]]
    name = "oil-ministry"
    query = '"وزارت نفت"'
    sources = ["irna", "mehr"]          # optional: only these sources
    agencies = ["ایرنا"]                 # optional: only articles attributed to these agencies
    webhook = "https://desk.example/hooks/news"
    secret_env = "OIL_WEBHOOK_SECRET"   # optional: sign each body (HMAC-SHA256) with $OIL_WEBHOOK_SECRET
    email = ["desk@example.org"]
    digest = "15m"                      # optional: one message per 15 minutes instead of one per hit
    on_update = false                   # optional: also an article whose edit makes it match

Every problem is a one-line ``ConfigError`` naming the file, the watch and the key. The secret is
never read here (only the name of its variable): the file is read by every command, and only the
delivery task needs the secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, Mapping, Sequence

__all__ = ["CHANNELS", "Watch", "parse_watches"]

CHANNELS = ("webhook", "email")
_KEYS = {"name", "query", "sources", "agencies", "webhook", "email", "digest", "secret_env", "on_update"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True, slots=True)
class Watch:
    """One ``[[watches]]`` table, every value typed and checked."""

    name: str
    query: str
    sources: tuple[str, ...] = ()  # empty: every source
    agencies: tuple[str, ...] = ()  # empty: any agency (or none)
    webhook: str | None = None
    email: tuple[str, ...] = ()
    digest: int | None = None  # seconds; None: one message per hit
    secret_env: str | None = None  # the variable holding the webhook's signing secret
    on_update: bool = False

    @property
    def channels(self) -> tuple[str, ...]:
        """The deliveries each hit gets: ``("webhook", "email")``, either or neither (Atom only)."""
        return tuple(c for c, wanted in zip(CHANNELS, (self.webhook, self.email)) if wanted)


def parse_watches(tables: Any, origin: str, source_names: Sequence[str]) -> tuple[Watch, ...]:
    """``[[watches]]`` of a sources file; ``source_names``: the file's sources (a watch's
    ``sources`` must name some of them: a typo would silently match nothing)."""
    if not isinstance(tables, list):
        raise _error(origin, "'watches' must be an array of tables ([[watches]])")
    watches: list[Watch] = []
    for index, table in enumerate(tables, start=1):
        watch = _parse_watch(table, origin, index, set(source_names))
        if any(w.name == watch.name for w in watches):
            raise _error(f"{origin}: watch {watch.name!r}", "key 'name': duplicate name")
        watches.append(watch)
    return tuple(watches)


def _error(where: str, why: str):
    from ..config import ConfigError
    return ConfigError(f"{where}: {why}")


class _Table:
    """One ``[[watches]]`` table and how to complain about it: ``fail(key, why)``."""

    def __init__(self, table: Mapping[str, Any], where: str) -> None:
        self.table, self.where = table, where

    def fail(self, key: str, why: str):
        return _error(self.where, f"key {key!r}: {why}")

    def text(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, "must be non-empty text")
        return value.strip() if value is not None else None

    def texts(self, key: str, what: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"must be a list of {what}")
        return tuple(dict.fromkeys(v.strip() for v in value))


def _parse_watch(table: Any, origin: str, index: int, sources: set[str]) -> Watch:
    where = f"{origin}: watch #{index}"
    if not isinstance(table, dict):
        raise _error(where, "must be a table")
    if isinstance(table.get("name"), str) and table["name"]:
        where = f"{origin}: watch {table['name']!r}"
    t = _Table(table, where)
    for key in table:
        if key not in _KEYS:
            raise t.fail(key, f"unknown key (expected one of {', '.join(sorted(_KEYS))})")
    return Watch(name=_name(t), query=_query(t), sources=_sources(t, sources),
                 agencies=t.texts("agencies", "agency names"), webhook=_webhook(t), email=_email(t),
                 digest=_digest(t), secret_env=_secret_env(t), on_update=_flag(t, "on_update"))


def _name(t: _Table) -> str:
    from ..config import NAME_RE
    name = t.text("name")
    if name is None:
        raise t.fail("name", "missing")
    if not NAME_RE.match(name):
        raise t.fail("name", "use letters, digits, '.', '_' or '-' (max 64)")
    return name


def _query(t: _Table) -> str:
    """The query, checked the way ``search`` reads it (no words, or too many, is an error)."""
    from ..load.search import QueryError, query_terms
    query = t.text("query")
    if query is None:
        raise t.fail("query", "missing (the words to watch for, as `news-etl search` takes them)")
    try:
        query_terms(query)
    except QueryError as exc:
        raise t.fail("query", str(exc)) from None
    return query


def _sources(t: _Table, known: set[str]) -> tuple[str, ...]:
    names = t.texts("sources", "source names")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise t.fail("sources", f"no source named {unknown[0]!r} in this file")
    return names


def _webhook(t: _Table) -> str | None:
    url = t.text("webhook")
    if url is not None and not re.match(r"^https?://[^/\s]+", url):
        raise t.fail("webhook", f"must be an http:// or https:// address, got {url!r}")
    return url


def _email(t: _Table) -> tuple[str, ...]:
    addresses = t.texts("email", "e-mail addresses")
    for address in addresses:
        if not _ADDRESS.match(parseaddr(address)[1] or "-") or "\n" in address or "\r" in address:
            raise t.fail("email", f"not an e-mail address: {address!r}")
    return addresses


def _digest(t: _Table) -> int | None:
    from ..config import parse_interval
    value = t.table.get("digest")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise t.fail("digest", f"wrong type {type(value).__name__} (expected a duration like '15m')")
    try:
        return parse_interval(value)
    except ValueError as exc:
        raise t.fail("digest", str(exc)) from None


def _secret_env(t: _Table) -> str | None:
    name = t.text("secret_env")
    if name is not None and not _ENV_NAME.match(name):
        raise t.fail("secret_env", f"must name an environment variable (letters, digits, '_'), got {name!r}")
    if name is not None and not t.table.get("webhook"):
        raise t.fail("secret_env", "signs webhook bodies: give the watch a webhook too")
    return name


def _flag(t: _Table, key: str) -> bool:
    value = t.table.get(key, False)
    if not isinstance(value, bool):
        raise t.fail(key, f"wrong type {type(value).__name__} (expected true or false)")
    return value
