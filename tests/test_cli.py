"""The command line: help with examples, usage errors, configuration errors, JSON output."""

from __future__ import annotations

import argparse
import json

import pytest

from conftest import DATA, run_cli
from etl.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subparsers(sub, (*prefix, name))


def test_every_command_has_help_ending_with_an_example():
    commands = list(_subparsers(build_parser()))
    names = {" ".join(c) for c, _ in commands}
    assert {"backfill", "sources", "runs", "errors", "articles", "db", "db upgrade", "db schema"} <= names
    for command, parser in commands:
        help_text = parser.format_help().rstrip()
        last = help_text.splitlines()[-1].strip()
        assert "Example:" in help_text and last.startswith("news-etl "), f"{' '.join(command)}: {last}"
        assert parser.description, command


def test_python_dash_m_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("news-etl ")


@pytest.mark.parametrize("args", [[], ["backfill"], ["backfill", "x"], ["nope"], ["runs", "--limit", "0"]])
def test_usage_errors_exit_2(args, capsys):
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2


def test_missing_path_is_a_usage_error(sqlite_url, capsys):
    assert main(["--database-url", sqlite_url, "backfill", "/no/such/dir", "--source", "s"]) == 2
    assert capsys.readouterr().err.strip() == "news-etl: error: no such file or directory: /no/such/dir"


def test_invalid_config_is_one_line_and_exit_2(sqlite_url, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[[sources]]\nname = "x"\nkind = "feed"\n', encoding="utf-8")
    assert main(["--database-url", sqlite_url, "--config", str(config), "sources"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"news-etl: error: {config}: source 'x': key 'url': missing (required for kind 'feed')"


def test_unusable_database_url_exit_2(capsys):
    assert main(["--database-url", "mysql://x/y", "runs"]) == 2
    assert "only PostgreSQL and SQLite are supported" in capsys.readouterr().err


def test_unreachable_database_is_one_line(capsys):
    # Port 9 on loopback: nothing listens, so the connection is refused at once.
    code = main(["--database-url", "postgresql://postgres@127.0.0.1:9/x", "runs"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("news-etl: error: database unavailable:") and "\n" not in err


def test_options_before_or_after_the_command(sqlite_url, tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text('[[sources]]\nname = "only"\nkind = "files"\npath = "x"\n', encoding="utf-8")
    assert main(["sources", "--database-url", sqlite_url, "--config", str(config), "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["only"]
    assert main(["--database-url", sqlite_url, "--config", str(config), "sources", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["only"]


def test_backfill_json_report_and_runs(sqlite_url, capsys):
    assert main(["--database-url", sqlite_url, "backfill", str(DATA / "seed"), "--source", "seed", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {k: report[k] for k in ("seen", "new", "updated", "unchanged", "failed")} == {
        "seen": 1, "new": 1, "updated": 0, "unchanged": 0, "failed": 0}
    assert main(["--database-url", sqlite_url, "runs", "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert (run["kind"], run["source"], run["status"], run["new"]) == ("backfill", "seed", "ok", 1)
    assert main(["--database-url", sqlite_url, "runs"]) == 0
    assert "backfill  seed" in capsys.readouterr().out


def test_db_upgrade_reports_versions(sqlite_url, capsys):
    assert main(["--database-url", sqlite_url, "db", "upgrade"]) == 0
    from etl.load.schema import SCHEMA_VERSION
    assert f"schema version {SCHEMA_VERSION} (was empty)" in capsys.readouterr().out
    assert main(["--database-url", sqlite_url, "db", "upgrade"]) == 0
    assert f"schema version {SCHEMA_VERSION} (was version {SCHEMA_VERSION})" in capsys.readouterr().out
