"""Settings (command line + environment) and the sources file, turned into typed objects once.

Nothing here runs on import; the CLI builds a ``Settings`` and passes it down.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .defaults import CONCURRENCY

DEFAULT_DATABASE_URL = "sqlite:///news.db"
DEFAULT_CONFIG_PATH = "config/sources.toml"
DEFAULT_INTERVAL = 900
KINDS = ("feed", "files", "site")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Sources polled at once by `fetch` and `run` (threads: most of their time is spent waiting on
# per-host politeness or the network). Sized by bench/poll: see the README.
DEFAULT_CONCURRENCY = CONCURRENCY


class ConfigError(ValueError):
    """A configuration problem, phrased as one line naming the file, the source and the key."""


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    kind: str
    url: str | None = None
    path: str | None = None
    pattern: str | None = None
    interval: int = DEFAULT_INTERVAL
    full_text: bool = False
    enabled: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)
    # The sources file's [agencies] table (canonical name, spellings), the same for all its sources.
    agencies: tuple[tuple[str, tuple[str, ...]], ...] = ()


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
    """Seconds from ``900``, ``"900"``, ``"15m"``, ``"2h"``: ``"15m" -> 900``."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration like '15m'")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ValueError(f"expected seconds or a duration like '15m', got {value!r}")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"must be positive, got {value!r}")
    return seconds


def load_sources(path: Path, missing_ok: bool = False) -> list[Source]:
    """Read and validate a sources file. Raises ConfigError with one line naming file, source, key."""
    if not path.exists():
        if missing_ok:
            return []
        raise ConfigError(missing_sources(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_sources(data, str(path))


def missing_sources(path: Path) -> str:
    """The one-line error for a sources file that is not there. A relative path is relative to the
    working directory, so it is shown resolved too; an empty configuration must be asked for."""
    where = f" ({path.resolve()})" if not path.is_absolute() else ""
    return (f"{path}: no such sources file{where}; name one with --config FILE or NEWS_ETL_CONFIG "
            "(--config /dev/null for none)")


def parse_sources(data: Mapping[str, Any], origin: str) -> list[Source]:
    unknown = set(data) - {"sources", "agencies"}
    if unknown:
        raise ConfigError(f"{origin}: unknown top-level key {sorted(unknown)[0]!r} (expected [[sources]] or [agencies])")
    agencies = parse_agencies(data.get("agencies", {}), origin)
    tables = data.get("sources", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{origin}: 'sources' must be an array of tables ([[sources]])")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        source = replace(_parse_source(table, origin, index), agencies=agencies)
        if source.name in seen:
            raise ConfigError(f"{origin}: source {source.name!r}: key 'name': duplicate name")
        seen.add(source.name)
        sources.append(source)
    return sources


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


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "kind": str, "url": str, "path": str, "pattern": str,
    "interval": (int, str), "full_text": bool, "enabled": bool,
}
# Keys later features read from the same table (per-source extractor selector, allowed hosts, ...).
_OPTION_KEYS = {"selector", "allowed_hosts", "description", "language", "min_interval", "max_interval",
                "sitemaps", "crawl"}


def _check_crawl_keys(table: Mapping[str, Any], fail) -> None:
    """``sitemaps = ["..."]`` and ``crawl = {every = "1d", days = 2}`` (etl/crawl)."""
    sitemaps = table.get("sitemaps", [])
    if not isinstance(sitemaps, list) or not all(isinstance(u, str) and u for u in sitemaps):
        raise fail("sitemaps", "must be a list of sitemap URLs")
    crawl = table.get("crawl")
    if crawl is None:
        return
    if not isinstance(crawl, dict) or set(crawl) - {"every", "days"}:
        raise fail("crawl", "must be a table like {every = \"1d\", days = 2}")
    days = crawl.get("days", 2)
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise fail("crawl", f"days must be a positive whole number, got {days!r}")
    try:
        parse_interval(crawl.get("every", "1d"))
    except ValueError as exc:
        raise fail("crawl", f"every: {exc}") from None


def _parse_source(table: Any, origin: str, index: int) -> Source:
    where = f"{origin}: source #{index}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    name = table.get("name")
    if isinstance(name, str) and name:
        where = f"{origin}: source {name!r}"

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: key {key!r}: {why}")

    for key, value in table.items():
        if key in _FIELDS:
            if not isinstance(value, _FIELDS[key]) or (key == "interval" and isinstance(value, bool)):
                raise fail(key, f"wrong type {type(value).__name__}")
        elif key not in _OPTION_KEYS:
            raise fail(key, "unknown key")
    for key in ("name", "kind"):
        if key not in table:
            raise fail(key, "missing")
    if not _NAME_RE.match(table["name"]):
        raise fail("name", "use letters, digits, '.', '_' or '-' (max 64)")
    kind = table["kind"]
    if kind not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind in ("feed", "site") and not table.get("url"):
        raise fail("url", f"missing (required for kind {kind!r})")
    if kind in ("feed", "site") and not re.match(r"^https?://", table["url"]):
        raise fail("url", "must start with http:// or https://")
    _check_crawl_keys(table, fail)
    if kind == "files" and not table.get("path"):
        raise fail("path", "missing (required for kind 'files')")
    try:
        interval = parse_interval(table.get("interval", DEFAULT_INTERVAL))
    except ValueError as exc:
        raise fail("interval", str(exc)) from None
    return Source(
        name=table["name"], kind=kind, url=table.get("url"), path=table.get("path"),
        pattern=table.get("pattern"), interval=interval,
        full_text=table.get("full_text", False), enabled=table.get("enabled", True),
        options={k: v for k, v in table.items() if k in _OPTION_KEYS},
    )
