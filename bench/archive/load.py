"""The archive bench's load: a streamed dump of the analysis corpus, then `news-etl backfill` in
one process for its first 90% and `backfill --queue` over two `news-etl worker`s for the rest.

    write_dump(folder, count)                   OUTLET.jsonl under folder/backfill and folder/queue
    load_in_one_process(url, files, n)          8 backfills in turn: wall, CPU split, peak memory
    load_on_workers(url, files, n, logs)        8 queued backfills drained by 2 workers: the same

Every command is the installed product's, as a user runs it (``python -m etl``, default cleaners,
``--config /dev/null``); CPU and memory are read from /proc (bench/common.py).
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench" / "analysis"))

import corpus  # noqa: E402  (bench/analysis/corpus.py)

from bench.common import DatabaseCpu, ServerCpu, TreeMemory, libpq_dsn, machine_busy, tree_cpu  # noqa: E402
from etl.load.db import make_engine  # noqa: E402

PARTS = ("backfill", "queue")
QUEUED_SHARE = 10  # one article in ten goes through the queue
# Memory is sampled this often (seconds): every 20 ms, as bench/backfill does for its short runs,
# would cost this process a sixth of a core beside what it measures.
SAMPLE = 0.1
# Shards are cleaned inside the worker (etl/tasks/backfill.py: the parallelism comes from the
# workers), so one shard at a time per worker keeps two workers to the machine's two cores.
WORKER_CONCURRENCY = 1


def etl(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "etl", "--database-url", url, "--config", "/dev/null", *args]


def write_dump(folder: Path, count: int) -> tuple[dict[str, dict[str, Path]], dict[str, int]]:
    """The corpus of ``count`` articles as one JSONL file per outlet and part, written as it is
    generated (nothing held in memory): the first 90% under folder/backfill, the rest under
    folder/queue. Returns {part: {outlet: path}} and the records of each part."""
    cut = count - count // QUEUED_SHARE
    files: dict[str, dict[str, Path]] = {part: {} for part in PARTS}
    for part in PARTS:
        (folder / part).mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        out = {}
        for n, (outlet, record) in enumerate(corpus.iter_records(count)):
            part = PARTS[n >= cut]
            if (part, outlet) not in out:
                files[part][outlet] = folder / part / f"{outlet}.jsonl"
                out[part, outlet] = stack.enter_context(files[part][outlet].open("w", encoding="utf-8"))
            out[part, outlet].write(json.dumps(record, ensure_ascii=False) + "\n")
    return files, {"backfill": cut, "queue": count - cut}


def write_more(folder: Path, count: int, tag: str) -> dict[str, Path]:
    """``count`` more articles of the same corpus (another seed), one JSONL file per outlet, their
    addresses tagged so no key meets a stored one: what a kept archive grows by."""
    files: dict[str, Path] = {}
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        out = {}
        for outlet, record in corpus.iter_records(count, seed=sum(map(ord, tag))):
            if outlet not in out:
                files[outlet] = folder / f"{outlet}.jsonl"
                out[outlet] = stack.enter_context(files[outlet].open("w", encoding="utf-8"))
            record = {**record, "link": record["link"].replace("/news/", f"/{tag}/")}
            out[outlet].write(json.dumps(record, ensure_ascii=False) + "\n")
    return files


def wal_position(engine) -> int:
    """The server's current write-ahead log position in bytes (its difference: WAL written)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")).scalar())


@dataclass
class Load:
    """What one way of loading cost: wall seconds and CPU seconds by where they were spent."""

    articles: int
    wall: float = 0.0
    new: int = 0
    failed: int = 0
    cpu: dict[str, float | None] = field(default_factory=dict)
    server: float | None = None  # the whole PostgreSQL server's CPU seconds meanwhile (any database's work)
    peaks: list[TreeMemory] = field(default_factory=list)  # one per process tree watched
    busy: float = 0.0  # share of the whole machine busy meanwhile (other jobs included)
    shards: int = 0
    deferring: float = 0.0  # wall seconds of `backfill --queue` (part of wall)

    def per_article(self) -> dict[str, float]:
        """CPU milliseconds per article of each place that spent some (None: not measured)."""
        return {name: 1000 * seconds / max(1, self.articles) for name, seconds in self.cpu.items()
                if seconds is not None}


def load_in_one_process(url: str, files: dict[str, Path], articles: int) -> Load:
    """`news-etl backfill FILE --source OUTLET --no-progress --json` for each outlet in turn. Each
    process's own CPU (utime + stime) as last sampled: the kernel's figure for the reaped command
    holds the cleaning workers only when their forkserver was reaped before the command exited,
    which it sometimes is not (the main process then came out negative); a sample misses at most
    the last interval of a process (0.1 s of a backfill of minutes)."""
    load = Load(articles, cpu={"main process": 0.0, "cleaning workers": 0.0})  # workers: with their forkserver
    database, server, busy = DatabaseCpu(libpq_dsn(url)), ServerCpu(libpq_dsn(url)), machine_busy()
    start = time.perf_counter()
    for outlet, path in files.items():
        proc = subprocess.Popen(etl(url, "backfill", str(path), "--source", outlet, "--no-progress", "--json"),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree = TreeMemory(proc.pid, SAMPLE)
        out, err = proc.communicate()
        tree.stop()
        if proc.returncode != 0:
            raise SystemExit(f"backfill of {outlet} failed (exit {proc.returncode}): {err.strip()[-500:]}")
        report = json.loads(out)
        load.new, load.failed = load.new + report["new"], load.failed + report["failed"]
        cleaning = sum(v for pid, v in tree.cpu.items() if pid != proc.pid)
        load.cpu["main process"] += tree.cpu.get(proc.pid, 0.0)
        load.cpu["cleaning workers"] += cleaning
        load.peaks.append(tree)
    load.wall = time.perf_counter() - start
    load.cpu["PostgreSQL"], load.server = database.spent(), server.spent()
    load.busy = _busy_since(busy)
    return load


def load_on_workers(url: str, files: dict[str, Path], articles: int, logs: Path, workers: int = 2) -> Load:
    """Start ``workers`` `news-etl worker`s (their logs in ``logs``) and wait until they are
    registered; then, on the clock, `news-etl backfill --queue FILE --source OUTLET` for each
    outlet and the wait until every shard job it deferred has finished; then SIGTERM. CPU counts
    the clocked span only (not the workers' start)."""
    load = Load(articles)
    engine = make_engine(url)
    mark = _marks(engine)
    procs = [_start_worker(url, logs / f"worker-{n}.log") for n in range(workers)]
    trees = [TreeMemory(p.pid, SAMPLE) for p in procs]
    try:
        _wait_for_workers(engine, procs)
        before = sum(tree_cpu(p.pid) for p in procs)
        database, server = DatabaseCpu(libpq_dsn(url)), ServerCpu(libpq_dsn(url))
        busy, deferring = machine_busy(), children_cpu()
        start = time.perf_counter()
        for outlet, path in files.items():
            _defer(url, outlet, path)
        load.deferring = time.perf_counter() - start
        load.cpu["deferring"] = children_cpu() - deferring  # the workers, alive, are not reaped children
        load.shards, load.failed = _drain(engine, procs, mark["jobs"])
        load.wall = time.perf_counter() - start
        load.cpu["workers"] = sum(tree_cpu(p.pid) for p in procs) - before
        load.cpu["PostgreSQL"], load.server = database.spent(), server.spent()
        load.busy = _busy_since(busy)
        with engine.connect() as conn:
            load.new = conn.execute(text("SELECT coalesce(sum(new), 0) FROM ingest_runs WHERE id > :run"),
                                    {"run": mark["run"]}).scalar()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for tree in trees:
            tree.stop()
        engine.dispose()
    load.peaks = trees
    return load


def _start_worker(url: str, log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # a file, not a pipe: a pipe nobody reads would stall a chatty worker
        proc = subprocess.Popen(etl(url, "worker", "--concurrency", str(WORKER_CONCURRENCY)), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=out)
    proc.log = log
    return proc


def children_cpu() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _marks(engine) -> dict[str, int]:
    """The last run and job ids before this load (a kept database holds earlier ones)."""
    with engine.connect() as conn:
        run, jobs = conn.execute(text("SELECT (SELECT coalesce(max(id), 0) FROM ingest_runs), "
                                      "(SELECT coalesce(max(id), 0) FROM procrastinate_jobs)")).one()
    return {"run": run, "jobs": jobs}


def _defer(url: str, outlet: str, path: Path) -> None:
    done = subprocess.run(etl(url, "backfill", "--queue", str(path), "--source", outlet),
                          cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"backfill --queue of {outlet} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")


def _wait_for_workers(engine, procs: list[subprocess.Popen], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(procs)
        with engine.connect() as conn:
            live = conn.execute(text("SELECT count(*) FROM procrastinate_workers "
                                     "WHERE last_heartbeat > now() - interval '10 seconds'")).scalar()
        if live >= len(procs):
            return
        time.sleep(0.2)
    raise SystemExit(f"{len(procs)} workers did not register within {timeout:.0f} s")


def _drain(engine, procs: list[subprocess.Popen], after: int) -> tuple[int, int]:
    """Wait until no shard job (of id above ``after``) waits or runs; returns (shards, failed)."""
    while True:
        _check_alive(procs)
        with engine.connect() as conn:
            shards, pending, failed = conn.execute(text(
                "SELECT count(*), count(*) FILTER (WHERE status IN ('todo', 'doing')), "
                "count(*) FILTER (WHERE status NOT IN ('todo', 'doing', 'succeeded')) "
                "FROM procrastinate_jobs WHERE task_name = 'load_shard' AND id > :after"), {"after": after}).one()
        if not pending:
            return shards, failed
        time.sleep(0.25)


def _check_alive(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is not None:
            raise SystemExit(f"a worker exited (exit {proc.returncode}): {proc.log.read_text()[-800:]}")


def _busy_since(before: tuple[float, float]) -> float:
    after = machine_busy()
    return (after[0] - before[0]) / max(1e-9, after[1] - before[1])
