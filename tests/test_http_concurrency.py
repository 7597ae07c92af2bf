"""How many sources are polled at once: a setting (``--concurrency``, ``NEWS_ETL_CONCURRENCY``,
default ``DEFAULT_CONCURRENCY``), honoured by ``fetch``; and sources taken one host at a time."""

from __future__ import annotations

import json
import threading

import pytest

from etl.cli import main
from etl.config import DEFAULT_CONCURRENCY, ConfigError, Source, build_settings
from etl.executors.once import spread_by_host
from httpserver import Recorded

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
EMPTY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def test_concurrency_comes_from_the_command_line_then_the_environment_then_the_default():
    assert build_settings(None, None, env={}).concurrency == DEFAULT_CONCURRENCY
    assert build_settings(None, None, env={"NEWS_ETL_CONCURRENCY": "7"}).concurrency == 7
    assert build_settings(None, None, env={"NEWS_ETL_CONCURRENCY": "7"}, concurrency=3).concurrency == 3


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5"])
def test_a_bad_concurrency_in_the_environment_is_one_line_naming_it(value):
    with pytest.raises(ConfigError, match=f"NEWS_ETL_CONCURRENCY: expected a positive whole number, got '{value}'"):
        build_settings(None, None, env={"NEWS_ETL_CONCURRENCY": value})


def test_bad_concurrency_exits_2_naming_the_variable(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWS_ETL_CONCURRENCY", "lots")
    assert main(["--database-url", sqlite_url, "--config", str(tmp_path / "none.toml"), "fetch"]) == 2
    assert "NEWS_ETL_CONCURRENCY" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fetch", "run"])
def test_concurrency_option_is_documented(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--concurrency" in capsys.readouterr().out


def test_sources_are_taken_one_host_at_a_time():
    urls = ["http://a.example/1", "http://a.example/2", "http://a.example/3", "http://b.example/1",
            "http://c.example:8080/1", "http://b.example/2"]
    feeds = [Source(name=f"s{i}", kind="feed", url=u) for i, u in enumerate(urls)]
    assert spread_by_host(feeds) == [0, 3, 4, 1, 5, 2]
    assert spread_by_host([]) == []


def meeting_point(together: threading.Event, active: list[int], lock: threading.Lock):
    """A feed that answers once the other feed's request is in flight too (or after 1 s)."""
    def reply(request: Recorded):
        with lock:
            active[0] += 1
            if active[0] == 2:
                together.set()
        together.wait(1.0)
        with lock:
            active[0] -= 1
        return 200, RSS, EMPTY
    return reply


@pytest.mark.slow
@pytest.mark.parametrize("concurrency, overlapped", [("1", False), ("2", True)])
def test_fetch_polls_as_many_sources_at_once_as_the_setting_says(sqlite_url, tmp_path, http_server, second_server,
                                                                 monkeypatch, capsys, concurrency, overlapped):
    together, active, lock = threading.Event(), [0], threading.Lock()
    for server in (http_server, second_server):
        server.route("/rss", meeting_point(together, active, lock))
    config = tmp_path / "sources.toml"
    config.write_text("".join(f'[[sources]]\nname = "s{i}"\nkind = "feed"\nurl = "{s.url("/rss")}"\n'
                              for i, s in enumerate((http_server, second_server))), encoding="utf-8")
    monkeypatch.setenv("NEWS_ETL_CONCURRENCY", concurrency)
    assert main(["--database-url", sqlite_url, "--config", str(config), "fetch", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["failed"] == 0
    assert together.is_set() is overlapped
