"""Time and peak memory for the large hostile inputs of issues 14 and 26, each against a
baseline measured in the same run.

    .venv/bin/python bench/hostile/run.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                          [--only html,line,nul,deep,...] [--tiny]

Each case runs in its own subprocess, so "peak" is that process's maximum resident set size
(everything: interpreter, libraries, input). Prints two tables; asserts nothing. ``--tiny`` runs
every case on small inputs (a smoke run: the figures then mean nothing). Issue 14's cases, each
against a baseline input of the same size:

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

Issue 26's cases (``bench/hostile/round2.py``), each the same attack now (A) and with its defence
switched off (B, what the code did before), or at the limit (A) against an ordinary input (B):

  pages     three crawled article pages of 200,000 nested <div>s through the crawl's page path
            (``page_article``): A the extraction budget refuses them; B the budget off
  item      one feed with a 14 MB item, read and cleaned as a poll does: A now (no feedparser
            sanitizer, the 8 MiB record cap); B feedparser's sanitizer on and no cap
  budget    A a page at the extraction budget (just under 30,000 elements); B an ordinary page
            (3,000 elements): what the budget allows one page to cost
  sitemap   a 44 MB sitemap (50,000 URLs) served gzipped by a loopback server: A fetched into a
            temporary file and read streaming; B held in memory and parsed whole (the page cap raised)
  robots    a 12 MB robots.txt of 480,000 rules: parse time and the cost of one rule check;
            A read to 500 KiB; B read whole
  slowloris 1,100 connections that never finish their request head, against ``news-etl serve``'s
            app limited to 1,024 open files: how long a request from another address then takes;
            A the guarded protocol (etl/web/server.py); B uvicorn's plain h11 protocol
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


TINY = False  # --tiny: every case on small inputs


def _size(full: int, tiny: int) -> int:
    return tiny if TINY else full


def case_html(flat: bool, workdir: Path, pg: str) -> str:
    from etl.clean.article import to_article
    from etl.fetch.feedfile import parse_feed
    from etl.models import RawItem
    depth = _size(100_000, 1_000)
    description = "&lt;div&gt;" * depth + "متن خبر" + "&lt;/div&gt;" * depth
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
        megabytes = _size(200, 9)  # over the 8 MiB record cap either way
        if flat:
            line = json.dumps({"title": "t", "body": "متن " * 750}, ensure_ascii=False).encode() + b"\n"
            for _ in range(megabytes * 1_000_000 // len(line)):
                out.write(line)
        else:
            out.write(b'{"body": "')
            for _ in range(megabytes):
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
    n, m = _size(1_000_000, 10_000), _size(100_000, 1_000)
    line = (b"[1," * n + b"1" + b"]" * n) if not flat else (b"[" + b"1," * n + b"1]")
    record = (b'{"a":' * m + b"1" + b"}" * m) if not flat else (b'{"a":[' + b"1," * (3 * m) + b"1]}")
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
    rows = _size(10_000, 200)
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, rows + 1):
            title = f"خبر شماره {i}" + ("\u0000" if i == rows - 10 and not flat else "")
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
    settings = HttpSettings(total_timeout=2.0) if TINY else HttpSettings()
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


def _cases() -> dict:
    import round2  # noqa: E402  (beside this file)
    return {**CASES, **round2.CASES}


def _child(case: str, flat: bool, pg: str) -> dict:
    args = [sys.executable, __file__, "--child", case, "--pg", pg] + (["--flat"] if flat else []) + \
        (["--tiny"] if TINY else [])
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "detail": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    global TINY
    sys.path.insert(0, str(Path(__file__).parent))
    import round2  # noqa: E402
    cases = _cases()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", default=",".join(cases))
    parser.add_argument("--tiny", action="store_true", help="small inputs: a smoke run, not a measurement")
    parser.add_argument("--child", choices=cases, help=argparse.SUPPRESS)
    parser.add_argument("--flat", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    TINY = round2.TINY = args.tiny
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(cases[args.child](args.flat, Path(tmp), args.pg))
        return
    chosen = args.only.split(",")
    first = [c for c in chosen if c in CASES]
    if first:
        print(f"{'case':6} {'attack s':>9} {'peak MB':>8} {'baseline s':>10} {'peak MB':>8} {'ratio':>6}  "
              "what happened")
    for case in first:
        attack, base = _child(case, False, args.pg), _child(case, True, args.pg)
        ratio = attack["seconds"] / base["seconds"] if base["seconds"] else float("nan")
        print(f"{case:6} {attack['seconds']:9.2f} {attack['peak_mb']:8.0f} {base['seconds']:10.2f} "
              f"{base['peak_mb']:8.0f} {ratio:6.2f}  {attack['detail']}", flush=True)
    second = [c for c in chosen if c in round2.CASES]
    if second:
        print(f"\n{'case':9} {'A s':>8} {'A MB':>6} {'B s':>8} {'B MB':>6} {'B/A s':>6}  A | B (see the docstring)")
    for case in second:
        a, b = _child(case, False, args.pg), _child(case, True, args.pg)
        ratio = b["seconds"] / a["seconds"] if a["seconds"] else float("nan")
        print(f"{case:9} {a['seconds']:8.2f} {a['peak_mb']:6.0f} {b['seconds']:8.2f} {b['peak_mb']:6.0f} "
              f"{ratio:6.1f}  A: {a['detail']} | B: {b['detail']}", flush=True)


if __name__ == "__main__":
    main()
