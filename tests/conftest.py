"""Shared fixtures and helpers, in one place: real databases (a PostgreSQL database per test,
cloned from a template migrated once per session, or a SQLite file), the command line in this
process or as a real process, a local HTTP site (``httpserver.py``), a throwaway PostgreSQL
cluster (``pgcluster.py``), a free port and waiting for a condition.

PostgreSQL comes from $NEWS_ETL_TEST_PG (default: the local server on 127.0.0.1:5432, user
postgres). In CI (CI=true) an unreachable server is an error, never a skip.

Which CLI helper to use (see tests/README.md): ``invoke`` runs ``etl.cli.main`` in this process
with its own streams, environment and working directory (fast: no interpreter start, no imports
again); ``run_cli`` starts ``python -m etl`` as a user would, for what only a process shows
(signals, kill -9, pipes closed early, a terminal, the installed console script, what a fresh
interpreter imports).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Mapping

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl.load.db import make_engine
from etl.load.migrate import upgrade

# Fixtures of these modules are every test's: http_server, second_server, pg_cluster.
pytest_plugins = ["httpserver", "pgcluster"]

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
PG_ADMIN_URL = os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_admin():
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure: decide skip or fail below
        engine.dispose()
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(message)
    return engine


@pytest.fixture(scope="session")
def pg_admin():
    engine = _pg_admin()
    yield engine
    engine.dispose()


def _database_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _create_database(admin, template: str | None = None) -> str:
    name = f"news_etl_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return name


def _drop_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_template(pg_admin):
    """A database migrated once per test session (per xdist worker) by this checkout's code; each
    ``pg_url`` is a copy of it. Nothing connects to it after the migration, as CREATE DATABASE
    ... TEMPLATE requires."""
    name = _create_database(pg_admin)
    engine = make_engine(_database_url(name))
    upgrade(engine, NOW)
    engine.dispose()
    yield name
    _drop_database(pg_admin, name)


@pytest.fixture
def pg_url(pg_admin, pg_template):
    """A new PostgreSQL database for one test with the current schema (a copy of the migrated
    template), dropped afterwards."""
    name = _create_database(pg_admin, pg_template)
    yield _database_url(name)
    _drop_database(pg_admin, name)


@pytest.fixture
def pg_empty_url(pg_admin):
    """A new, empty PostgreSQL database (no schema): for tests of the migration path itself."""
    name = _create_database(pg_admin)
    yield _database_url(name)
    _drop_database(pg_admin, name)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'news.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request):
    """Each test using this runs on both databases."""
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_db_url(request):
    """Each test using this runs on both databases, each empty (no schema): the migration path."""
    return request.getfixturevalue("pg_empty_url" if request.param == "postgresql" else "sqlite_url")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine, NOW)  # a no-op on a copy of the template; creates the SQLite schema
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def scalar(engine, sql: str, **params):
    """One value of one query: ``scalar(engine, "SELECT count(*) FROM articles")``."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


# --- the command line -------------------------------------------------------------------------


@dataclass
class Result:
    """What a command did: the same fields as ``subprocess.CompletedProcess`` (text mode)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Result:
    """``news-etl ARGS`` in this process: ``etl.cli.main`` with its own stdout and stderr, the
    environment changed by ``env`` (a value of ``""`` as a user's ``VAR=``), in ``cwd`` (default:
    the repository, as ``run_cli``). Whatever a command sets for its process (logging, a learned
    lexicon) is put back afterwards, so the next command starts as a new process would."""
    from etl.cli import main
    from etl.clean.text import learned_lexicon, use_learned_lexicon

    out, err = io.StringIO(), io.StringIO()
    lexicon = learned_lexicon()
    with _environment(env or {}), _working_directory(cwd or REPO), _logging_restored(), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        finally:
            use_learned_lexicon(lexicon)
    return Result(list(args), code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(changes: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m etl`` as a real process, as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "etl", *args], capture_output=True, text=True,
        env=full_env, cwd=cwd or REPO, timeout=timeout,
    )


# --- time and ports ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.2):
    """Poll ``condition`` until it returns something true (returned) or ``timeout`` seconds pass
    (an AssertionError naming ``what``). An exception counts as not yet: the database may be down
    or not created yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception:
            result = None
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Mailbox:
    """What the ``smtp_server`` fixture received: ``messages`` as (recipients, raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"

    def parsed(self) -> list:
        """The messages as ``email.message.EmailMessage`` objects."""
        import email
        import email.policy
        return [email.message_from_bytes(raw, policy=email.policy.default) for _, raw in self.messages]


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd): ``(controller, mailbox)``; ``controller.port``."""
    from aiosmtpd.controller import Controller
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
