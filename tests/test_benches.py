"""Every benchmark runs, at a tiny size, in the test suite (issue 27): a bench nobody runs rots
(`bench/search` crashed at its first batch after the load path changed, and nothing noticed).

Each runs as the user runs it, a script in a process of its own, and must finish and print its
figures; what the figures are is the bench's business (tests never assert timings)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import PG_ADMIN_URL, REPO

# (script, tiny arguments, a line the bench prints with its figures)
BENCHES = [
    ("bench/agency/run.py", ["--tiny"], "all"),
    ("bench/analysis/run.py", ["--tiny"], "p95"),
    ("bench/archive/run.py", ["--tiny"], "news-etl runs"),
    ("bench/backfill/run.py", ["--articles", "100"], "CPU per new article"),
    ("bench/cli/run.py", ["--runs", "1", "--articles", "20"], "news-etl -V"),
    ("bench/crawl/run.py", ["--tiny", "--delay", "0"], "requests:"),
    ("bench/dedup/run.py", ["--rewrites", "10"], "chance of sharing a bucket"),
    ("bench/hostile/run.py", ["--tiny"], "B/A"),
    # tests/data holds the same Fars News, Varzesh3 and virastar files as the shared data folder.
    ("bench/normalize/run.py", ["--tiny", "--data", "tests/data"], "chars/s"),
    ("bench/pages/run.py", [], "expected paragraphs"),
    ("bench/poll/run.py", ["--feeds", "20", "--hosts", "4"], "feeds/s"),
    ("bench/scale/run.py", ["--feeds", "20", "--hosts", "4", "--workers", "1"], "feeds/s"),
    ("bench/search/run.py", ["--tiny"], "p95"),
    ("bench/soak/run.py", ["--minutes", "0.2", "--feeds", "5"], "SIGTERM"),
    ("bench/web/run.py", ["--articles", "100", "--clients", "1", "--requests", "5"], "median"),
    ("bench/watches/run.py", ["--tiny"], "commit to webhook"),
]


@pytest.mark.slow
@pytest.mark.parametrize("script, args, marker", BENCHES, ids=[b[0].split("/")[1] + "/" + b[0].split("/")[2] for b in BENCHES])
def test_the_bench_runs_at_a_tiny_size_and_prints_its_figures(script, args, marker):
    env = {**os.environ, "NEWS_ETL_TEST_PG": PG_ADMIN_URL}
    done = subprocess.run([sys.executable, str(REPO / script), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{script}: exit {done.returncode}\n{done.stderr[-3000:]}"
    assert marker in done.stdout, f"{script} printed no figures:\n{done.stdout[-2000:]}"


def test_every_bench_is_in_the_smoke_test():
    """A new bench joins the list above, or this fails."""
    scripts = {str(p.relative_to(REPO)) for p in (REPO / "bench").glob("*/run.py")}
    assert scripts == {script for script, _, _ in BENCHES if script.endswith("/run.py")}
