"""Settings (command line + environment) and the sources file, turned into typed objects once.

Nothing here runs on import; the CLI builds a ``Settings`` and passes it down.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .defaults import CONCURRENCY

if TYPE_CHECKING:
    from .watches.model import Watch

DEFAULT_DATABASE_URL = "sqlite:///news.db"
DEFAULT_CONFIG_PATH = "config/sources.toml"
DEFAULT_INTERVAL = 900
KINDS = ("feed", "files", "site")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RE = _NAME_RE  # a source's or a watch's name
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Sources polled at once by `fetch` and `run` (threads: most of their time is spent waiting on
# per-host politeness or the network). Sized by bench/poll: see the README.
DEFAULT_CONCURRENCY = CONCURRENCY


class ConfigError(ValueError):
    """A configuration problem, phrased as one line naming the file, the source and the key."""


# Bounds of every duration in the sources file: a second up to 30 days. A larger interval is a
# typo (``interval = "99999999999999d"`` overflowed every datetime computed from it).
MIN_SECONDS = 1
MAX_SECONDS = 30 * 86400
MAX_CRAWL_DAYS = 3660


@dataclass(frozen=True, slots=True)
class PageOptions:
    """How a source's article pages are read (a feed's full text, a site's crawled pages)."""

    selector: str | None = None  # a CSS selector for the main text instead of trafilatura's choice
    allowed_hosts: tuple[str, ...] = ()  # hosts besides the source's own site its pages may be on


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    """A feed's or a site's archive crawl through sitemaps (``etl/crawl``)."""

    sitemaps: tuple[str, ...] = ()  # instead of discovery (robots.txt, well-known paths)
    every: int | None = None  # seconds between scheduled crawls; None: not scheduled (a site: its interval)
    days: int = 2  # a scheduled crawl covers the last ``days`` days


@dataclass(frozen=True, slots=True)
class Source:
    """One ``[[sources]]`` table, every value typed and checked when the file is read."""

    name: str
    kind: str
    url: str | None = None  # feed, site
    path: str | None = None  # files
    pattern: str | None = None  # files
    interval: int = DEFAULT_INTERVAL
    full_text: bool = False  # feed
    enabled: bool = True
    min_interval: int | None = None  # adaptive polling: default ``interval``
    max_interval: int | None = None  # adaptive polling and backoff: default 4x ``interval``
    page: PageOptions = PageOptions()  # feed, site
    crawl: CrawlOptions = CrawlOptions()  # feed, site
    description: str | None = None
    language: str | None = None
    proxy: str | None = None  # feed, site: "http://HOST:PORT" every request of the source goes through

    @property
    def crawl_every(self) -> int | None:
        """Seconds between scheduled crawls: a site's ``interval`` unless ``crawl.every`` says
        otherwise; a feed only with ``crawl = {...}``; None when it is not crawled on a schedule."""
        if self.kind == "site":
            return self.crawl.every or self.interval
        return self.crawl.every if self.kind == "feed" else None


@dataclass(frozen=True, slots=True)
class Config:
    """The sources file: its sources, the ``[agencies]`` table every cleaning path honours, and
    its ``[[watches]]`` (etl/watches/model.py)."""

    sources: tuple[Source, ...] = ()
    # canonical agency name -> its spellings (etl/clean/agency.py adds them to the bundled table)
    agencies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    watches: tuple[Watch, ...] = ()

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    database_is_default: bool
    config_path: Path
    config_is_default: bool
    concurrency: int = DEFAULT_CONCURRENCY


def build_settings(
    database_url: str | None, config: str | None, env: Mapping[str, str] | None = None,
    concurrency: int | None = None,
) -> Settings:
    """Resolve settings: command-line value, then environment, then the embedded default."""
    env = os.environ if env is None else env
    db = database_url or env.get("DATABASE_URL") or None
    cfg = config or env.get("NEWS_ETL_CONFIG") or None
    return Settings(
        database_url=db or DEFAULT_DATABASE_URL,
        database_is_default=db is None,
        config_path=Path(cfg or DEFAULT_CONFIG_PATH),
        config_is_default=cfg is None,
        concurrency=concurrency or _env_concurrency(env),
    )


def _env_concurrency(env: Mapping[str, str]) -> int:
    """``NEWS_ETL_CONCURRENCY``, else the default; a value that is not a positive number is an error."""
    value = env.get("NEWS_ETL_CONCURRENCY", "").strip()
    if not value:
        return DEFAULT_CONCURRENCY
    if not value.isdigit() or int(value) == 0:
        raise ConfigError(f"NEWS_ETL_CONCURRENCY: expected a positive whole number, got {value!r}")
    return int(value)


def parse_interval(value: Any) -> int:
    """Seconds from ``900``, ``"900"``, ``"15m"``, ``"2h"``: ``"15m" -> 900``; between a second
    and 30 days."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration like '15m'")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ValueError(f"expected seconds or a duration like '15m', got {value!r}")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_SECONDS:
        raise ValueError(f"must be positive, got {value!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"at most 30 days, got {value!r}")
    return seconds


def load_config(path: Path, missing_ok: bool = False) -> Config:
    """Read and validate a sources file. Raises ConfigError with one line naming file, source, key."""
    if not path.exists():
        if missing_ok:
            return Config()
        raise ConfigError(missing_sources(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


def append_source(path: Path, block: str) -> Config:
    """Append a ``[[sources]]`` block to the sources file, once the file with it passes every check
    ``load_config`` makes (a name already taken, a bad key: ConfigError, and the file is unchanged).
    The file is replaced in one step (a temporary file renamed over it), comments and all kept."""
    if not path.is_file():
        raise ConfigError(missing_sources(path) if not path.exists() else f"{path}: not a file to add a source to")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    updated = text + ("" if not text or text.endswith("\n") else "\n") + ("\n" if text else "") + block
    try:
        config = parse_config(tomllib.loads(updated), str(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: the new source is not valid TOML: {exc}") from None
    temporary = path.with_name(f".{path.name}.adding")
    temporary.write_text(updated, encoding="utf-8")
    os.replace(temporary, path)
    return config


def load_sources(path: Path, missing_ok: bool = False) -> list[Source]:
    """The sources of ``load_config``."""
    return list(load_config(path, missing_ok).sources)


def missing_sources(path: Path) -> str:
    """The one-line error for a sources file that is not there. A relative path is relative to the
    working directory, so it is shown resolved too; an empty configuration must be asked for."""
    where = f" ({path.resolve()})" if not path.is_absolute() else ""
    return (f"{path}: no such sources file{where}; name one with --config FILE or NEWS_ETL_CONFIG "
            "(--config /dev/null for none)")


def parse_config(data: Mapping[str, Any], origin: str) -> Config:
    unknown = set(data) - {"sources", "agencies", "watches"}
    if unknown:
        raise ConfigError(f"{origin}: unknown top-level key {sorted(unknown)[0]!r} "
                          "(expected [[sources]], [agencies] or [[watches]])")
    agencies = parse_agencies(data.get("agencies", {}), origin)
    tables = data.get("sources", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{origin}: 'sources' must be an array of tables ([[sources]])")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        source = _parse_source(table, origin, index)
        if source.name in seen:
            raise ConfigError(f"{origin}: source {source.name!r}: key 'name': duplicate name")
        seen.add(source.name)
        sources.append(source)
    return Config(tuple(sources), agencies, _watches(data, origin, seen))


def _watches(data: Mapping[str, Any], origin: str, source_names: set[str]) -> tuple[Watch, ...]:
    if "watches" not in data:
        return ()
    from .watches.model import parse_watches  # only a file with watches needs their parser
    return parse_watches(data["watches"], origin, sorted(source_names))


def parse_sources(data: Mapping[str, Any], origin: str) -> list[Source]:
    return list(parse_config(data, origin).sources)


def parse_agencies(table: Any, origin: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``[agencies]`` as ``canonical = ["spelling", ...]``: ``{"ایرنا": ["ایرنا‌"]}`` -> ``(("ایرنا", ("ایرنا‌",)),)``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: 'agencies' must be a table ([agencies]) of name = [spellings]")
    parsed = []
    for name, spellings in table.items():
        if not name.strip() or not isinstance(spellings, list) or not all(
                isinstance(s, str) and s.strip() for s in spellings):
            raise ConfigError(f"{origin}: agencies: key {name!r}: must be a list of non-empty spellings")
        parsed.append((name.strip(), tuple(s.strip() for s in spellings)))
    return tuple(parsed)


# Which keys each kind takes; every value is checked by its parser below.
_COMMON = {"name", "kind", "interval", "min_interval", "max_interval", "enabled", "description", "language"}
_KEYS = {
    "feed": _COMMON | {"url", "full_text", "selector", "allowed_hosts", "sitemaps", "crawl", "proxy"},
    "files": _COMMON | {"path", "pattern"},
    "site": _COMMON | {"url", "selector", "allowed_hosts", "sitemaps", "crawl", "proxy"},
}
_ALL_KEYS = set().union(*_KEYS.values())


class _Table:
    """One ``[[sources]]`` table and how to complain about it: ``fail(key, why)``."""

    def __init__(self, table: Mapping[str, Any], where: str) -> None:
        self.table, self.where = table, where

    def fail(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.where}: key {key!r}: {why}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"wrong type {type(value).__name__} (expected text)")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"wrong type {type(value).__name__} (expected true or false)")
        return value

    def seconds(self, key: str, default: Any = None) -> int | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.fail(key, f"wrong type {type(value).__name__}")
        try:
            return parse_interval(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def texts(self, key: str, what: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"must be a list of {what}")
        return tuple(v.strip() for v in value)


def _parse_source(table: Any, origin: str, index: int) -> Source:
    where = f"{origin}: source #{index}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    name = table.get("name")
    if isinstance(name, str) and name:
        where = f"{origin}: source {name!r}"
    t = _Table(table, where)
    for key in ("name", "kind"):
        if key not in table:
            raise t.fail(key, "missing")
    name, kind = t.text("name"), t.text("kind")
    if not _NAME_RE.match(name):
        raise t.fail("name", "use letters, digits, '.', '_' or '-' (max 64)")
    if kind not in KINDS:
        raise t.fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    for key in table:
        if key not in _ALL_KEYS:
            raise t.fail(key, "unknown key")
        if key not in _KEYS[kind]:
            raise t.fail(key, f"not an option of kind {kind!r}")
    return Source(name=name, kind=kind, **_location(t, kind), **_timing(t), enabled=t.flag("enabled", True),
                  full_text=t.flag("full_text", False), page=_page(t), crawl=_crawl(t),
                  description=t.text("description"), language=t.text("language"), proxy=_proxy(t))


def _location(t: _Table, kind: str) -> dict[str, Any]:
    if kind == "files":
        path = t.text("path")
        if not path:
            raise t.fail("path", "missing (required for kind 'files')")
        return {"path": path, "pattern": t.text("pattern")}
    url = t.text("url")
    if not url:
        raise t.fail("url", f"missing (required for kind {kind!r})")
    if not re.match(r"^https?://", url):
        raise t.fail("url", "must start with http:// or https://")
    return {"url": url}


def _timing(t: _Table) -> dict[str, Any]:
    interval = t.seconds("interval", DEFAULT_INTERVAL)
    low, high = t.seconds("min_interval"), t.seconds("max_interval")
    if low is not None and high is not None and low > high:
        raise t.fail("min_interval", f"must not exceed max_interval ({low} s > {high} s)")
    return {"interval": interval, "min_interval": low, "max_interval": high}


def _page(t: _Table) -> PageOptions:
    return PageOptions(selector=t.text("selector"), allowed_hosts=t.texts("allowed_hosts", "host names"))


def _proxy(t: _Table) -> str | None:
    """``proxy = "http://user:pw@127.0.0.1:3128"``: an http forward proxy (etl/fetch/proxy.py)."""
    value = t.text("proxy")
    if value is None:
        return None
    from .fetch.proxy import ProxyError, parse_proxy  # only a file that names a proxy pays for it
    try:
        parse_proxy(value)
    except ProxyError as exc:
        raise t.fail("proxy", str(exc)) from None
    return value.strip()


def _crawl(t: _Table) -> CrawlOptions:
    """``sitemaps = ["..."]`` and ``crawl = {every = "1d", days = 2}`` (etl/crawl)."""
    sitemaps = t.texts("sitemaps", "sitemap URLs")
    crawl = t.table.get("crawl")
    if crawl is None:
        return CrawlOptions(sitemaps=sitemaps)
    if not isinstance(crawl, dict) or set(crawl) - {"every", "days"}:
        raise t.fail("crawl", "must be a table like {every = \"1d\", days = 2}")
    days = crawl.get("days", 2)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_CRAWL_DAYS:
        raise t.fail("crawl", f"days must be a whole number from 1 to {MAX_CRAWL_DAYS}, got {days!r}")
    try:
        every = parse_interval(crawl.get("every", "1d"))
    except ValueError as exc:
        raise t.fail("crawl", f"every: {exc}") from None
    return CrawlOptions(sitemaps=sitemaps, every=every, days=days)
