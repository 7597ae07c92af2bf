"""How fast the command line answers: the median of N starts of `news-etl -V`, of
`news-etl articles --limit 1` and of `news-etl search WORD` on a SQLite database, beside
`python -c pass` and `python -c "import sqlalchemy"` measured in the same run.

    .venv/bin/python bench/cli/run.py [--runs 10] [--articles 600]

Each figure is a whole process, as a user's shell starts it (the installed console script,
output to /dev/null). It prints figures and asserts nothing; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FARS = REPO / "tests" / "data" / "fars-news" / "fars-news-1.json"
BIN = Path(sys.executable).parent
NEWS_ETL = BIN / "news-etl"


def median_start(argv: list[str], runs: int, env: dict[str, str], cwd: Path) -> float:
    """Median wall time of ``runs`` starts of ``argv`` (one warm-up start first, not counted)."""
    times = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()[-300:]}")
        if attempt:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def prepare(folder: Path, articles: int, env: dict[str, str]) -> None:
    """A SQLite database holding the first ``articles`` Fars News articles."""
    data = folder / "fars.jsonl"
    import json
    items = json.loads(FARS.read_text(encoding="utf-8"))[:articles]
    data.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    subprocess.run([str(NEWS_ETL), "backfill", str(data), "--source", "fars", "--no-progress", "--workers", "0"],
                   check=True, env=env, cwd=folder, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="starts per command (the median is printed)")
    parser.add_argument("--articles", type=int, default=600, help="articles in the SQLite database searched")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'news.db'}", "NEWS_ETL_CONFIG": "/dev/null"}
        prepare(folder, args.articles, env)
        commands = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ('python -c "import sqlalchemy"', [sys.executable, "-c", "import sqlalchemy"]),
            ("news-etl -V", [str(NEWS_ETL), "-V"]),
            ("news-etl articles --limit 1", [str(NEWS_ETL), "articles", "--limit", "1"]),
            ("news-etl search مجلس", [str(NEWS_ETL), "search", "مجلس"]),
        ]
        figures = [(name, median_start(argv, args.runs, env, folder)) for name, argv in commands]
    base = figures[0][1]
    print(f"median of {args.runs} starts each; SQLite database of {args.articles} articles; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<32} {'median s':>9} {'x python':>9}")
    for name, seconds in figures:
        print(f"{name:<32} {seconds:>9.3f} {seconds / base:>9.1f}")


if __name__ == "__main__":
    main()
