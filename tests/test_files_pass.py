"""Awkward local input fails alone, by name (issue 26, hostile input round 2, cases 3 and 8):
a file whose name is not UTF-8, a file that cannot be read, a FIFO, a record that crashes the
cleaner. Before, one such file failed every pass of its files source (the good file beside it was
never loaded), a FIFO blocked `backfill` forever, and a crashing record lost its whole shard."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select, text

from conftest import NOW, invoke
from etl.config import Source
from etl.load import prepare as prepare_module
from etl.load.schema import ingest_runs, source_files, sources
from etl.tasks import files as files_module
from etl.tasks.backfill import load_shard
from etl.tasks.context import Context
from etl.tasks.files import files_pass

WINDOWS_1256_NAME = "گزارش".encode("cp1256") + b".jsonl"  # an old Windows archive's Persian file name


def _records(first: int, count: int = 2) -> str:
    return "".join(json.dumps({"title": f"خبر {n}", "body": f"متن خبر شماره {n} از پوشه", "url": f"https://x.ir/{n}"},
                              ensure_ascii=False) + "\n" for n in range(first, first + count))


def _settled(path: Path) -> None:
    past = time.time() - 30
    os.utime(path, (past, past))


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "good.jsonl").write_text(_records(0), encoding="utf-8")
    odd = Path(os.fsdecode(os.fsencode(folder) + b"/" + WINDOWS_1256_NAME))
    odd.write_text(_records(10), encoding="utf-8")
    (folder / "locked.jsonl").write_text(_records(20), encoding="utf-8")
    os.mkfifo(folder / "pipe.jsonl")  # never opened: a pass would block on it
    for path in folder.iterdir():
        if path.is_file():
            _settled(path)
    return folder


def test_each_awkward_file_fails_alone_and_the_good_ones_load(engine, tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    real = files_module.sha256_of

    def unreadable(path: Path) -> str:
        if path.name == "locked.jsonl":  # as root every file is readable: the refusal is simulated
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(files_module, "sha256_of", unreadable)
    source = Source("drop", "files", path=str(folder))
    context = Context(engine, lambda: datetime.now(timezone.utc))
    report = files_pass(context, source)
    assert report.new == 4  # good.jsonl and the Windows-1256 name
    assert report.failure is not None and "locked.jsonl: cannot read: Permission denied" in report.error
    with engine.connect() as conn:
        stored = sorted(conn.execute(select(source_files.c.path)).scalars())
        row = conn.execute(select(sources).where(sources.c.name == "drop")).one()
        running = conn.execute(select(ingest_runs).where(ingest_runs.c.status == "running")).all()
    # The undecodable name is stored with its bytes escaped (``\\x90\\xd2...``): lossless, any database takes it.
    assert sorted(Path(p).name for p in stored) == sorted(["good.jsonl", WINDOWS_1256_NAME.decode("utf-8", "backslashreplace")])
    assert row.consecutive_failures == 1 and "locked.jsonl" in row.last_error and running == []
    monkeypatch.setattr(files_module, "sha256_of", real)  # readable again: the next pass takes it
    again = files_pass(context, source)
    assert (again.new, again.failure) == (2, None)


def test_a_fifo_named_on_the_command_line_is_skipped_not_opened(sqlite_url, tmp_path):
    (tmp_path / "good.jsonl").write_text(_records(0), encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.jsonl")
    done: list = []
    worker = threading.Thread(target=lambda: done.append(invoke(
        "--database-url", sqlite_url, "--config", "/dev/null", "backfill", str(tmp_path / "pipe.jsonl"),
        str(tmp_path / "good.jsonl"), "--source", "s", "--json")), daemon=True)
    worker.start()
    worker.join(60)
    assert done, "backfill blocked on the FIFO"
    report = json.loads(done[0].stdout)
    assert (done[0].returncode, report["new"], report["skipped"]) == (0, 2, 1)
    assert "not a regular file" in report["skipped_files"][0]["reason"]


def test_a_record_that_crashes_the_cleaner_fails_alone_and_the_shard_loads_the_rest(engine, tmp_path, monkeypatch):
    dump = tmp_path / "shard.jsonl"
    dump.write_text(_records(0, 10), encoding="utf-8")
    real = prepare_module.to_article

    def crashing(item, fetched_at, agencies=None):
        if item.location.endswith(":5"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(item, fetched_at, agencies)

    monkeypatch.setattr(prepare_module, "to_article", crashing)
    report = load_shard(Context(engine, lambda: NOW), Source("s", "files", path=str(dump)), [dump])
    assert (report.new, report.failed, report.failure) == (9, 1, None)
    assert report.errors[0].location.endswith(":5")
    assert report.errors[0].reason.startswith("unexpected error: RecursionError")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM ingest_runs")).scalars().all() == ["partial"]
