"""Each command imports what it uses: `-V`, `--help` and the light commands never load the crawl
stack, the web stack, the queue or numpy (issue 28). What a fresh interpreter has imported is
only visible in a new process, so each case starts one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, invoke

HEAVY = ("trafilatura", "lxml", "procrastinate", "starlette", "uvicorn", "jinja2", "numpy", "apscheduler",
         "feedparser", "pyarrow")
PROBE = """
import contextlib, io, json, sys
from etl.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code or 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_by(*argv: str, cwd) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=cwd, timeout=60)
    report = json.loads(done.stdout)
    return report["code"], {name.split(".")[0] for name in report["modules"]}


@pytest.mark.parametrize("argv", [["-V"], ["--help"], ["search", "--help"]])
def test_version_and_help_load_neither_the_library_nor_sqlalchemy(argv, tmp_path):
    code, top = loaded_by(*argv, cwd=tmp_path)
    assert code == 0
    assert not top & {*HEAVY, "sqlalchemy", "psycopg", "requests", "bs4", "jdatetime"}, top


@pytest.mark.parametrize("argv", [["articles", "--limit", "1"], ["sources"], ["runs"], ["status"],
                                  ["search", "نخست‌وزیر"], ["trends", "نفت", "--by", "month"], ["outlets", "نفت"],
                                  ["stories"]])
def test_light_commands_leave_the_heavy_stacks_unloaded(argv, tmp_path):
    db = ["--database-url", f"sqlite:///{tmp_path / 'news.db'}", "--config", "/dev/null"]
    assert invoke(*db, "db", "upgrade").returncode == 0  # `status` reads a database, never creates one
    code, top = loaded_by(*db, *argv, cwd=tmp_path)
    assert code == 0, argv
    assert not top & set(HEAVY), sorted(top & set(HEAVY))


def test_the_probe_sees_a_heavy_command_load_its_stack(tmp_path):
    """The probe itself works: `serve` on a database without schema stops early, but has loaded
    the web stack by then."""
    code, top = loaded_by("--database-url", f"sqlite:///{tmp_path / 'news.db'}", "--config", "/dev/null",
                          "serve", "--port", "0", cwd=REPO)
    assert code == 1 and {"starlette", "uvicorn"} <= top
