"""The shared schedule (etl/load/schedule.py) on real PostgreSQL: concurrent claimers never get
the same source, a lease keeps a source from being claimed again until it expires or is released,
and a pass stores its next attempt as etl/tasks/due computes it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from conftest import NOW
from etl.config import Source
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.load.schedule import claim_due, store_due
from etl.load.schema import sources
from etl.load.sources import sync_sources

FEEDS = [Source(name=f"feed{i:03d}", kind="feed", url=f"http://127.0.0.{2 + i % 5}:9/{i}.xml", interval=60)
         for i in range(60)]


@pytest.fixture
def feeds(pg_engine):
    with pg_engine.begin() as conn:
        sync_sources(conn, FEEDS + [Source(name="folder", kind="files", path="/tmp")], NOW)
        return {r.name: r.id for r in conn.execute(select(sources.c.name, sources.c.id))}


def _claim(engine, owner, limit=10, now=NOW, lease=60.0):
    with engine.begin() as conn:
        return claim_due(conn, now, lease, limit, owner)


def test_concurrent_claimers_never_get_the_same_source(pg_engine, feeds):
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(6)

    def claimer(owner: str) -> None:
        start.wait()
        got = []
        while batch := _claim(pg_engine, owner, limit=3):
            got.extend(c.id for c in batch)
        claimed[owner] = got

    threads = [threading.Thread(target=claimer, args=(f"d{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [i for ids in claimed.values() for i in ids]
    assert sorted(everything) == sorted(feeds.values())  # every source once, whatever its kind (issue 22)
    with pg_engine.connect() as conn:
        owners = {r.id: r.lease_owner for r in conn.execute(select(sources.c.id, sources.c.lease_owner))}
    for owner, ids in claimed.items():
        assert all(owners[i] == owner for i in ids)


def test_a_lease_blocks_until_it_expires_or_is_released(pg_engine, feeds):
    first = _claim(pg_engine, "a", limit=100)
    assert len(first) == len(FEEDS) + 1  # the files source too
    assert _claim(pg_engine, "b", now=NOW + timedelta(seconds=59)) == []
    with pg_engine.begin() as conn:
        store_due(conn, first[0].id, NOW + timedelta(seconds=30), 30.0, 0)
    assert _claim(pg_engine, "b", now=NOW + timedelta(seconds=20)) == []  # released but not due yet
    assert [c.id for c in _claim(pg_engine, "b", now=NOW + timedelta(seconds=31))] == [first[0].id]
    expired = _claim(pg_engine, "c", limit=100, now=NOW + timedelta(seconds=61))
    assert len(expired) == len(FEEDS)  # the dead holder's lease ran out: reclaimable
    with pg_engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.id == first[0].id)).one()
    assert (row.last_delay, row.lease_owner) == (30.0, "b")


def test_disabled_and_future_sources_are_not_claimed(pg_engine, feeds):
    with pg_engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.name == "feed000").values(enabled=False))
        conn.execute(update(sources).where(sources.c.name == "feed001").values(next_attempt_at=NOW + timedelta(hours=1)))
    names = {c.name for c in _claim(pg_engine, "a", limit=100)}
    assert "feed000" not in names and "feed001" not in names and len(names) == len(FEEDS) - 1


def test_claiming_on_sqlite_is_refused_with_the_reason(sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine, NOW)
    with engine.begin() as conn, pytest.raises(ValueError, match="needs PostgreSQL, not sqlite"):
        claim_due(conn, NOW, 60, 10, "a")
    engine.dispose()
