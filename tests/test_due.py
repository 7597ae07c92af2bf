"""One due policy for every kind, on both executors (issue 22): the same sequence of pass outcomes
gives the same next attempts, stored in the same way on the source's row, whether the local
executor or a queue worker ran the passes. The policy itself is etl/tasks/due.py; here it is
driven through each executor's own entry point for a pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import NOW
from etl.config import Config, Source
from etl.executors.local import LocalExecutor, LocalOptions
from etl.executors.queue import QueueRuntime
from etl.fetch.errors import FetchError
from etl.load.schema import sources
from etl.load.sources import sync_sources
from etl.models import RunReport
from etl.tasks.lifecycle import perform

# (what the pass did, seconds until the next attempt); interval 60: max 240, failure cap 960.
OUTCOMES = [
    ("news", 60),                   # healthy with news: the interval
    ("quiet", 90),                  # nothing new: stretched 1.5x ...
    ("quiet", 135),
    ("http 503", 60),               # a failure backs off from the interval ...
    ("http 503", 120),              # ... doubling
    ("http 429 retry-after 900", 900),  # the server's pause when longer than the backoff
    ("blocked", 1920),              # a bot wall: 4x the backoff of the 4th failure (60 x 8 x 4)
    ("database", 60),               # not the source's fault: from the interval again, failures kept
    ("database", 120),
    ("news", 60),                   # news after a stretch: back to the interval
    ("quiet", 90),
]


def fake_pass(outcome: str):
    """A pass whose run ends as ``outcome`` says, through the real run life cycle."""
    def work(run) -> None:
        if outcome == "news":
            run.report.new = 3
        elif outcome.startswith("http"):
            status = int(outcome.split()[1])
            retry_after = float(outcome.rsplit(" ", 1)[1]) if "retry-after" in outcome else None
            raise FetchError(run.source.url, f"HTTP {status}", transient=True, status=status, retry_after=retry_after)
        elif outcome == "blocked":
            raise FetchError(run.source.url, "blocked: ArvanCloud challenge", transient=True, status=200,
                             kind="blocked", blocked_by="ArvanCloud")
        elif outcome == "database":
            from sqlalchemy.exc import OperationalError
            raise OperationalError("UPDATE sources", {}, Exception("deadlock detected"))

    def run_pass(context, source) -> RunReport:
        return perform(context, source, RunReport(kind="fetch", source=source.name), {}, work, record_pass=True)
    return run_pass


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def drive_local(engine, source: Source, clock: Clock) -> list[tuple]:
    seen = []
    for outcome, _ in OUTCOMES:
        executor = LocalExecutor(engine, Config((source,)), LocalOptions(config_path=None), None, clock,
                                 pass_fn=fake_pass(outcome), uniform=lambda a, b: 0.0)
        executor._needs_sync = False
        seen.append(_step(engine, source, clock, lambda: executor.pass_and_time(source)))
    return seen


def drive_queue(engine, source: Source, clock: Clock) -> list[tuple]:
    with engine.connect() as conn:
        source_id = conn.execute(select(sources.c.id).where(sources.c.name == source.name)).scalar()
    seen = []
    for outcome, _ in OUTCOMES:
        runtime = QueueRuntime(engine, Config((source,)), None, clock, pass_fn=fake_pass(outcome),
                               uniform=lambda a, b: 0.0)
        seen.append(_step(engine, source, clock, lambda: runtime.pass_(source_id)))
    return seen


def _step(engine, source: Source, clock: Clock, run) -> tuple:
    started = clock.now
    run()
    with engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.name == source.name)).one()
    clock.now = row.next_attempt_at  # the next pass comes when it is due
    return ((row.next_attempt_at - started).total_seconds(), row.consecutive_failures, row.last_delay,
            row.database_failures)


@pytest.mark.parametrize("kind", ["feed", "files", "site"])
def test_both_executors_give_the_same_next_attempts_from_the_same_outcomes(pg_engine, kind):
    where = {"url": "http://127.0.0.1:9/x"} if kind != "files" else {"path": "/nonexistent"}
    local, queued = (Source(name=name, kind=kind, interval=60, **where) for name in ("local", "queued"))
    with pg_engine.begin() as conn:
        sync_sources(conn, [local, queued], NOW)
    by_local = drive_local(pg_engine, local, Clock())
    by_queue = drive_queue(pg_engine, queued, Clock())
    assert by_local == by_queue
    assert [delay for delay, *_ in by_local] == [delay for _, delay in OUTCOMES]
    # Failures count the source's own failed passes only; a database failure is not one of them.
    assert [failures for _, failures, *_ in by_local] == [0, 0, 0, 1, 2, 3, 4, 4, 4, 0, 0]
    assert [db for *_, db in by_local] == [0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]


def test_a_database_that_cannot_be_reached_backs_off_from_memory(tmp_path):
    """When the database is gone the local executor keeps the next attempt in memory and backs
    off from the interval up to max_interval, as it would with the row."""
    from etl.load.db import make_engine
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'news.db'}")  # a folder that does not exist
    source = Source(name="a", kind="feed", url="http://127.0.0.1:9/x", interval=60)
    clock = Clock()
    executor = LocalExecutor(engine, Config((source,)), LocalOptions(config_path=None), None, clock,
                             uniform=lambda a, b: 0.0)
    delays = []
    for _ in range(4):
        started = clock.now
        clock.now = executor.pass_and_time(source)
        delays.append((clock.now - started).total_seconds())
    assert delays == [60, 120, 240, 240]  # up to max_interval (4x the interval)
    assert clock.now - NOW == timedelta(seconds=660)


def test_a_value_the_database_refuses_counts_against_the_source_a_lost_database_does_not():
    from sqlalchemy.exc import DataError, OperationalError
    from etl.models import Failure
    from etl.tasks.due import State, next_delay, timing_of
    refused = Failure.database(DataError("INSERT", {}, Exception("invalid byte sequence for encoding UTF8")))
    lost = Failure.database(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert (refused.kind, refused.transient, lost.kind, lost.transient) == ("rejected", False, "database", True)
    timing = timing_of(Source(name="a", kind="feed", url="http://x", interval=60))
    assert next_delay(timing, State(failures=3), refused) == (240, State(3, None, 0))  # the source's 3rd failure
    assert next_delay(timing, State(failures=3), lost) == (60, State(3, None, 1))  # not the source's


@pytest.mark.parametrize("failures, network, blocked", [
    (1, 60, 240),       # interval 60: a wall backs off 4x longer from the first failure on ...
    (2, 120, 480),
    (3, 240, 960),
    (4, 480, 1920),
    (5, 960, 3840),     # ... the network error reaches its cap (16x the interval) ...
    (6, 960, 3840),     # ... and the wall its own, 4x that
    (20, 960, 3840),
])
def test_a_bot_wall_backs_off_longer_than_a_network_error(failures, network, blocked):
    from etl.models import Failure
    from etl.tasks.due import State, next_delay, timing_of
    timing = timing_of(Source(name="a", kind="feed", url="http://x", interval=60))
    lost = Failure("network", "http://x: timeout (transient)", transient=True)
    walled = Failure("blocked", "http://x: blocked: ArvanCloud challenge (transient)", transient=True,
                     status=200, blocked_by="ArvanCloud")
    assert next_delay(timing, State(failures=failures), lost)[0] == network
    assert next_delay(timing, State(failures=failures), walled)[0] == blocked


def test_a_walls_cap_is_at_most_a_day_and_retry_after_still_counts():
    from etl.models import Failure
    from etl.tasks.due import State, next_delay, timing_of
    walled = Failure("blocked", "x: blocked: Cloudflare challenge", transient=True, retry_after=50000.0)
    hourly = timing_of(Source(name="a", kind="feed", url="http://x", interval=3600))  # failure cap 6 h
    assert next_delay(hourly, State(failures=30), Failure("blocked", "x", transient=True))[0] == 86400
    assert next_delay(timing_of(Source(name="b", kind="feed", url="http://x", interval=60)),
                      State(failures=1), walled)[0] == 50000.0
