"""What several benches share: a throwaway PostgreSQL database, the CPU and memory of a process
tree and of the PostgreSQL server (read from /proc), and each other's scripts.

    throwaway_database(admin_url)   a new empty database, dropped on the way out (failure or not)
    libpq_dsn(url)                  a SQLAlchemy URL as psycopg.connect() takes it
    TreeMemory(pid)                 peak PSS/RSS of a process and its descendants, and their CPU
    ServerCpu(dsn)                  CPU seconds of the whole PostgreSQL server between two readings
    DatabaseCpu(dsn)                CPU seconds of the server's processes serving one database
    cpu_seconds(pid, children)      utime + stime of one process
    tree_cpu(pid)                   the same of a live process and all its descendants
    machine_busy()                  busy and total CPU seconds of the whole machine so far
    bench_script("search/run.py")   another bench's script as a module, to reuse its pieces

A bench imports it with the repository on ``sys.path`` (``from bench.common import ...``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from etl.load.db import make_engine


@contextmanager
def throwaway_database(admin_url: str, prefix: str = "news_etl_bench") -> Iterator[str]:
    """The SQLAlchemy URL of a new empty database on the server of ``admin_url``; dropped on
    the way out, connections still open to it or not (``WITH (FORCE)``)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def bench_database(stack, database_url: str | None, database: str, pg_url: str, tmp: str) -> str:
    """The database a bench measures: ``database_url`` when given (kept), else a throwaway
    PostgreSQL database on ``pg_url``'s server (dropped when ``stack`` closes) or a SQLite file
    in the folder ``tmp``, by ``database``."""
    if database_url:
        return database_url
    if database == "postgresql":
        return stack.enter_context(throwaway_database(pg_url))
    return f"sqlite:///{tmp}/bench.db"


def libpq_dsn(url: str) -> str:
    """``postgresql+psycopg://u@h/db`` -> ``postgresql://u@h/db`` (what psycopg.connect() takes)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def bench_script(path: str) -> ModuleType:
    """``bench/PATH`` as a module (bench's folders are not packages), loaded once: another
    bench's corpus, queries and timing, imported rather than copied."""
    name = "bench_" + path.removesuffix(".py").replace("/", "_")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / path)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


class TreeMemory:
    """Peak of the summed PSS (and RSS) of a process and all its descendants, sampled every
    ``interval`` seconds, and the CPU seconds of each (the last value seen before it exited).

    PSS counts a page shared by n processes as 1/n in each, so the sum is the tree's real memory;
    the RSS sum counts shared pages (the workers' copy of the interpreter) once per process.
    Sampling costs this process CPU (every 20 ms, about a sixth of a core here, most of it finding
    the descendants in /proc): a long run on a small machine samples less often."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.peak_pss, self.peak_rss, self.peak_procs = pid, 0, 0, 0
        self.interval = interval
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _descendants(self.pid)
            pss = rss = 0
            for pid in pids:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds(pid, children=False))
                fields = _rollup(pid)
                pss += fields.get("Pss", 0)
                rss += fields.get("Rss", 0)
            self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)
            self.peak_procs = max(self.peak_procs, len(pids))
            time.sleep(self.interval)


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...); None once gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds so far of a live process and its descendants, those exited and reaped included."""
    return cpu_seconds(pid, children=True) + sum(cpu_seconds(child, children=False) for child in _descendants(pid)[1:])


def cpu_seconds(pid: int, children: bool) -> float:
    """utime + stime of a process (and, with ``children``, of its exited children it reaped)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """CPU seconds of the whole PostgreSQL server between two readings, when it runs on this
    machine (its postmaster is the parent of our backend): every backend, live or exited, and
    its background processes. None when the server is elsewhere."""

    def __init__(self, dsn: str):
        with psycopg.connect(dsn) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        fields = _stat(backend)
        self.postmaster = int(fields[1]) if fields is not None else None
        self.start = self.read()

    def read(self) -> float | None:
        return None if self.postmaster is None else tree_cpu(self.postmaster)

    def spent(self) -> float | None:
        end = self.read()
        return None if end is None or self.start is None else end - self.start


class DatabaseCpu:
    """CPU seconds of the PostgreSQL processes serving one database (its backends, its autovacuum
    workers) since this was made, when the server runs on this machine; None otherwise.

    Unlike ServerCpu it leaves out other databases' work on a shared server (and the server's
    shared processes: WAL writer, checkpointer). Backends are read from /proc every ``interval``
    seconds, so what each did in its last interval before it exited is missed."""

    def __init__(self, dsn: str, interval: float = 0.1):
        self.database = make_url(dsn).database
        self.postmaster = ServerCpu(dsn).postmaster
        self.cpu: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self._ours: dict[int, bool] = {}
        self.interval = interval
        self._stop = threading.Event()
        self._sample()
        self.start = dict(self.cpu)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def spent(self) -> float | None:
        """Stops sampling; the CPU seconds spent since the start."""
        self._stop.set()
        self._thread.join()
        self._sample()
        if self.postmaster is None:
            return None
        return sum(self.cpu.values()) - sum(self.start.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        if self.postmaster is None:
            return
        for pid in _descendants(self.postmaster)[1:]:
            if pid not in self._ours:
                self._ours[pid] = self.database in _cmdline(pid).split()
            if self._ours[pid]:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds(pid, children=False))


def _cmdline(pid: int) -> str:
    """The process title: 'postgres: 15/main: postgres news_etl_bench_1a2b3c4d 127.0.0.1(41234) idle'."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def _rollup(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0])
    return fields
