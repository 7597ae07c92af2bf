"""The dispatcher keeps the poll queue shallow: procrastinate's fetch_job costs grow with the
number of waiting jobs, so a due source stays in the sources table until the queue has room."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from etl.config import Config, Source
from etl.executors.queue import POLL_QUEUE, QueueRuntime, conninfo_of, ensure_queue_schema, make_app
from etl.load.health import waiting_jobs
from etl.fetch.http import HttpClient
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.sources import sync_sources

FEEDS = [Source(name=f"feed{i:02d}", kind="feed", url=f"http://127.0.0.{2 + i % 3}:9/{i}.xml") for i in range(60)]


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_dispatch_claims_only_what_the_queue_has_room_for(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine, now())
    ensure_queue_schema(engine)
    with engine.begin() as conn:
        sync_sources(conn, FEEDS, now())  # every one due (never polled)
    with HttpClient() as client:
        runtime = QueueRuntime(engine, Config(tuple(FEEDS)), client, now, queue_target=25)
        app = make_app(conninfo_of(pg_url), runtime)
        with app.open():
            dispatch = app.tasks["dispatch"]
            dispatch(timestamp=0)
            assert _counts(engine) == (25, 25)
            dispatch(timestamp=1)  # the queue is full: nothing more is claimed
            assert _counts(engine) == (25, 25)
            with engine.begin() as conn:
                conn.execute(text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id IN "
                                  "(SELECT id FROM procrastinate_jobs ORDER BY id LIMIT 10)"))
            dispatch(timestamp=2)
            assert _counts(engine) == (25, 35)
    engine.dispose()


def _counts(engine) -> tuple[int, int]:
    """(polls waiting in the queue, sources leased)."""
    with engine.connect() as conn:
        leased = conn.execute(text("SELECT count(*) FROM sources WHERE lease_until IS NOT NULL")).scalar()
        return waiting_jobs(conn, POLL_QUEUE), leased
