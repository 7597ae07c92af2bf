"""Settings precedence and the sources file: valid tables load, invalid ones fail in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from etl.config import ConfigError, PageOptions, build_settings, load_config, load_sources, parse_interval


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_sources_file_is_valid():
    sources = load_sources(REPO / "config" / "sources.toml")
    assert sources and len({s.name for s in sources}) == len(sources)
    assert load_config(REPO / "config" / "sources.toml").sources == tuple(sources)


def test_full_source_table(tmp_path):
    [feed, files] = load_sources(write(tmp_path, """
[[sources]]
name = "mehr"
kind = "feed"
url = "https://www.mehrnews.com/rss"
interval = "15m"
full_text = true
selector = "div.item-text"

[[sources]]
name = "dumps"
kind = "files"
path = "/data/dumps"
pattern = "*.jsonl"
enabled = false
"""))
    assert (feed.name, feed.kind, feed.interval, feed.full_text, feed.enabled) == ("mehr", "feed", 900, True, True)
    assert feed.page == PageOptions(selector="div.item-text")
    assert (files.path, files.pattern, files.enabled, files.interval) == ("/data/dumps", "*.jsonl", False, 900)


@pytest.mark.parametrize("body, message", [
    ('[[sources]]\nname = "a"\nkind = "web"\n', "source 'a': key 'kind': must be one of feed, files, site, got 'web'"),
    ('[[sources]]\nname = "a"\nkind = "feed"\n', "source 'a': key 'url': missing (required for kind 'feed')"),
    ('[[sources]]\nname = "a"\nkind = "feed"\nurl = "file:///etc/passwd"\n', "source 'a': key 'url': must start with http:// or https://"),
    ('[[sources]]\nname = "a"\nkind = "files"\n', "source 'a': key 'path': missing (required for kind 'files')"),
    ('[[sources]]\nname = "a"\nkind = "files"\npath = "x"\ninterval = "soon"\n', "source 'a': key 'interval': expected seconds or a duration like '15m', got 'soon'"),
    ('[[sources]]\nname = "a"\nkind = "files"\npath = "x"\nenabled = "yes"\n', "source 'a': key 'enabled': wrong type str"),
    ('[[sources]]\nname = "a"\nkind = "files"\npath = "x"\nintervall = 5\n', "source 'a': key 'intervall': unknown key"),
    ('[[sources]]\nkind = "files"\npath = "x"\n', "source #1: key 'name': missing"),
    ('[[sources]]\nname = "a b"\nkind = "files"\npath = "x"\n', "source 'a b': key 'name': use letters"),
    ('[[sources]]\nname = "a"\nkind = "files"\npath = "x"\n[[sources]]\nname = "a"\nkind = "files"\npath = "y"\n', "source 'a': key 'name': duplicate name"),
    ('[[sources]\nname = "a"\n', "not valid TOML"),
    ('source = 1\n', "unknown top-level key 'source'"),
    # Option values are typed and checked when the file is read, not later inside the service (issue 22).
    ('[[sources]]\nname = "a"\nkind = "feed"\nurl = "http://x/rss"\nmax_interval = "bogus"\n',
     "source 'a': key 'max_interval': expected seconds or a duration like '15m', got 'bogus'"),
    ('[[sources]]\nname = "a"\nkind = "feed"\nurl = "http://x/rss"\nallowed_hosts = 5\n',
     "source 'a': key 'allowed_hosts': must be a list of host names"),
    ('[[sources]]\nname = "a"\nkind = "feed"\nurl = "http://x/rss"\nselector = ["x"]\n',
     "source 'a': key 'selector': wrong type list (expected text)"),
    ('[[sources]]\nname = "a"\nkind = "files"\npath = "x"\nfull_text = true\n',
     "source 'a': key 'full_text': not an option of kind 'files'"),
    ('[[sources]]\nname = "a"\nkind = "feed"\nurl = "http://x/rss"\nmin_interval = "2h"\nmax_interval = "1h"\n',
     "source 'a': key 'min_interval': must not exceed max_interval"),
    # Out of range (issue 26): a huge interval overflowed every date computed from it.
    ('[[sources]]\nname = "a"\nkind = "files"\npath = "x"\ninterval = "99999999999999d"\n',
     "source 'a': key 'interval': at most 30 days, got '99999999999999d'"),
    ('[[sources]]\nname = "a"\nkind = "feed"\nurl = "http://x/rss"\ncrawl = {every = "1d", days = 100000}\n',
     "source 'a': key 'crawl': days must be a whole number from 1 to 3660"),
])
def test_invalid_file_is_one_line_naming_file_source_and_key(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such sources file"):
        load_sources(tmp_path / "none.toml")
    assert load_sources(tmp_path / "none.toml", missing_ok=True) == []


@pytest.mark.parametrize("value, seconds", [(60, 60), ("60", 60), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 30s ", 30)])
def test_interval(value, seconds):
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", [0, -5, "0m", True, "15 minutes", "1.5h"])
def test_bad_interval(value):
    with pytest.raises(ValueError):
        parse_interval(value)


def test_settings_precedence():
    env = {"DATABASE_URL": "postgresql://db/env", "NEWS_ETL_CONFIG": "env.toml"}
    s = build_settings("sqlite:///cli.db", "cli.toml", env)
    assert (s.database_url, str(s.config_path), s.database_is_default) == ("sqlite:///cli.db", "cli.toml", False)
    s = build_settings(None, None, env)
    assert (s.database_url, str(s.config_path)) == ("postgresql://db/env", "env.toml")
    s = build_settings(None, None, {})
    assert (s.database_url, str(s.config_path), s.database_is_default, s.config_is_default) == (
        "sqlite:///news.db", "config/sources.toml", True, True)
