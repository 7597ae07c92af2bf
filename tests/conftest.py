"""Shared fixtures: real databases (a fresh PostgreSQL database per test, or a SQLite file).

PostgreSQL comes from $NEWS_ETL_TEST_PG (default: the local server on 127.0.0.1:5432, user
postgres). In CI (CI=true) an unreachable server is an error, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl.load.db import make_engine
from etl.load.migrate import upgrade

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
PG_ADMIN_URL = os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


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


@pytest.fixture
def pg_url(pg_admin):
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"news_etl_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'news.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request):
    """Each test using this runs on both databases."""
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine, NOW)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine, NOW)
    yield engine
    engine.dispose()


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m etl`` as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "etl", *args], capture_output=True, text=True,
        env=full_env, cwd=cwd or REPO, timeout=timeout,
    )
