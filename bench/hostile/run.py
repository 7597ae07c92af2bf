"""Time and peak memory for the large hostile inputs of issue 14, each against a baseline of the
same size measured in the same run.

    .venv/bin/python bench/hostile/run.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                          [--only html,line,nul,deep]

Each case runs in its own subprocess, so "peak" is that process's maximum resident set size
(everything: interpreter, libraries, input). Prints a table; asserts nothing. Cases:

  html  one feed item whose description is escaped HTML nested 100,000 deep (2.3 MB), through the
        reader and the cleaner; baseline: a flat description of the same size
  line  a JSONL file with one 200 MB line between two articles (the line is skipped); baseline:
        reading 200 MB of ordinary 3 KB lines (parsing only, no cleaning)
  deep  a 2 MB JSONL line 1,000,000 deep and a .json record 100,000 deep; baseline: the same bytes
        as flat arrays within the depth limit
  nul   a backfill of 10,000 rows into PostgreSQL with a NUL in row 9,990; baseline: the same
        file without the NUL
  slow  a page on a loopback server that sends its body at 1 byte/s (with a Content-Length),
        fetched with the product's default HTTP settings (its total deadline ends it); baseline:
        the same page sent at once
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

GOOD = {"title": "خبر فوری", "body": "متن خبر می‌رسد و ادامه دارد"}


def _feed(description: str) -> bytes:
    return ('<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://e.ir/1</link>'
            f"<description>{description}</description></item></channel></rss>").encode()


def case_html(flat: bool, workdir: Path, pg: str) -> str:
    from etl.clean.article import to_article
    from etl.fetch.feedfile import parse_feed
    from etl.models import RawItem
    description = "&lt;div&gt;" * 100_000 + "متن خبر" + "&lt;/div&gt;" * 100_000
    if flat:  # the same number of bytes, in sibling paragraphs
        unit = "&lt;p&gt;متن&lt;/p&gt;"
        description = unit * (len(description) // len(unit))
    start = time.perf_counter()
    items = [i for i in parse_feed(_feed(description), "deep.xml") if isinstance(i, RawItem)]
    body = to_article(items[0], _now()).body
    return _result(start, f"{len(description) / 1e6:.1f} MB description -> {len(body):,} chars")


def case_line(flat: bool, workdir: Path, pg: str) -> str:
    from etl.fetch.files import iter_paths
    path = workdir / "line.jsonl"
    good = json.dumps(GOOD, ensure_ascii=False).encode() + b"\n"
    with path.open("wb") as out:
        out.write(good)
        if flat:
            line = json.dumps({"title": "t", "body": "متن " * 750}, ensure_ascii=False).encode() + b"\n"
            for _ in range(200_000_000 // len(line)):
                out.write(line)
        else:
            out.write(b'{"body": "')
            for _ in range(200):
                out.write(b"x" * 1_000_000)
            out.write(b'"}\n')
        out.write(good)
    start = time.perf_counter()
    count, errors = 0, []
    for item in iter_paths([path]):  # counted, not kept: the peak is the reader's own
        count += 1
        if hasattr(item, "reason"):
            errors.append(item.reason)
    return _result(start, f"{count:,} items, errors: {errors[:1]}")


def case_deep(flat: bool, workdir: Path, pg: str) -> str:
    import io

    from etl.fetch.files import parse_stream
    line = (b"[1," * 1_000_000 + b"1" + b"]" * 1_000_000) if not flat else (b"[" + b"1," * 1_000_000 + b"1]")
    record = (b'{"a":' * 100_000 + b"1" + b"}" * 100_000) if not flat else (b'{"a":[' + b"1," * 300_000 + b"1]}")
    start = time.perf_counter()
    jsonl = list(parse_stream(io.BytesIO(line + b"\n"), "deep.jsonl"))
    js = list(parse_stream(io.BytesIO(b"[" + record + b"]"), "deep.json"))
    return _result(start, f"jsonl: {_what(jsonl)}; json: {_what(js)}")


def case_nul(flat: bool, workdir: Path, pg: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from etl.config import Source
    from etl.load.db import make_engine
    from etl.load.migrate import upgrade
    from etl.tasks.backfill import Backfill, run_backfill
    from etl.tasks.context import Context
    path = workdir / "rows.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, 10_001):
            title = f"خبر شماره {i}" + ("\u0000" if i == 9_990 and not flat else "")
            out.write(json.dumps({"title": title, "body": f"متن خبر {i} " * 40, "url": f"https://e.ir/n/{i}"}) + "\n")
    name = f"news_etl_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(pg).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine, _now())
        start = time.perf_counter()
        report = run_backfill(Context(engine, _now), Backfill(Source("bench", "files"), [path], in_config=False))
        return _result(start, f"{report.line()}; error: {report.error}")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def case_slow(flat: bool, workdir: Path, pg: str) -> str:
    import socket
    import threading
    from etl.fetch.http import FetchError, HttpClient, HttpSettings
    body = "<html><body><p>متن خبر</p></body></html>".encode() * 40
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        try:
            if flat:
                conn.sendall(body)
            else:
                for byte in body:  # 1 byte/s: each byte resets a read timeout, not the deadline
                    conn.sendall(bytes([byte]))
                    time.sleep(1.0)
        except OSError:
            pass  # the client hung up at its deadline
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    settings = HttpSettings()
    start = time.perf_counter()
    with HttpClient(settings) as client:
        try:
            response = client.get(f"http://127.0.0.1:{server.getsockname()[1]}/page", allow_loopback=True)
            outcome = f"{len(response.body)} bytes"
        except FetchError as exc:
            outcome = f"FetchError (transient={exc.transient}): {exc.reason}"
    return _result(start, f"deadline {settings.total_timeout:.0f} s -> {outcome}")


def _now():
    from datetime import datetime, timezone
    return datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def _what(found: list) -> str:
    return ", ".join(f"{type(f).__name__}{': ' + f.reason if hasattr(f, 'reason') else ''}" for f in found)


def _result(start: float, detail: str) -> str:
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return json.dumps({"seconds": seconds, "peak_mb": peak_mb, "detail": detail}, ensure_ascii=False)


CASES = {"html": case_html, "line": case_line, "deep": case_deep, "nul": case_nul, "slow": case_slow}


def _child(case: str, flat: bool, pg: str) -> dict:
    args = [sys.executable, __file__, "--child", case, "--pg", pg] + (["--flat"] if flat else [])
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "detail": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--flat", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(CASES[args.child](args.flat, Path(tmp), args.pg))
        return
    print(f"{'case':6} {'attack s':>9} {'peak MB':>8} {'baseline s':>10} {'peak MB':>8} {'ratio':>6}  what happened")
    for case in args.only.split(","):
        attack, base = _child(case, False, args.pg), _child(case, True, args.pg)
        ratio = attack["seconds"] / base["seconds"] if base["seconds"] else float("nan")
        print(f"{case:6} {attack['seconds']:9.2f} {attack['peak_mb']:8.0f} {base['seconds']:10.2f} "
              f"{base['peak_mb']:8.0f} {ratio:6.2f}  {attack['detail']}", flush=True)


if __name__ == "__main__":
    main()
