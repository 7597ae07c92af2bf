"""Agency attribution accuracy on a hand-labelled sample of real Fars News text, before and after.

    .venv/bin/python bench/agency/run.py [--show-misses] [--before main] [--tiny]

Prints figures; asserts nothing. The labels are tests/data/agency_labels.tsv (its header says how
they were made): ``article`` rows are 100 articles of tests/data/fars-news (every 6th), loaded the
way a backfill loads them (record_to_item -> to_article) so ``meta["agency"]`` is what would be
stored; ``phrase`` rows are every distinct non-Fars attribution phrase of the dump, read as the
opening "به گزارش PHRASE، ..." of a body. A row is right when the agency equals the label ('-':
no agency stored). "before" is the reader news-etl used until now (bench/agency/baseline.py) on
the same cleaned text.

Then the unseen leads (bench/agency/unseen.py): real leads the table was not built from, with the
reader of ``--before`` (a git ref, default main) beside this one. ``--tiny``: 40 rows of each.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

import unseen  # noqa: E402
from baseline import lead_agency as before  # noqa: E402
from etl.clean.agency import lead_agency as after  # noqa: E402
from etl.clean.article import clean_text, to_article  # noqa: E402
from etl.fetch.records import record_to_item  # noqa: E402

DATA = REPO / "tests" / "data"
NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)


def labels() -> list[list[str]]:
    lines = (DATA / "agency_labels.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def articles() -> dict[str, dict]:
    found = []
    for name in ("fars-news-1.json", "fars-news-2.json"):
        found += json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))
    return {a["link"]: a for a in found}


def predictions(kind: str, ref: str, text: str, dump: dict[str, dict]) -> tuple[str | None, str | None]:
    if kind == "article":
        article = to_article(record_to_item(dump[ref], ref), NOW)
        return before(article.body), article.meta.get("agency")
    body = clean_text(f"به گزارش {text}، متن خبر.")
    return before(body), after(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--before", default="main", help="git ref whose reader is run beside this one on the unseen leads ('' to skip)")
    parser.add_argument("--tiny", action="store_true", help="40 rows of each sample (a smoke run)")
    args = parser.parse_args()
    dump = articles()
    score: dict[str, list[int]] = {}
    for kind, ref, text, label, _centre in labels()[:40] if args.tiny else labels():
        want = None if label == "-" else label
        old, new = predictions(kind, ref, text, dump)
        counts = score.setdefault(kind, [0, 0, 0])
        counts[0] += 1
        counts[1] += old == want
        counts[2] += new == want
        if args.show_misses and new != want:
            print(f"  miss [{kind}] {text or ref}: want {want!r}, got {new!r} (before: {old!r})")
    total = [sum(c[i] for c in score.values()) for i in range(3)]
    print(f"{'sample':10} {'rows':>5} {'before':>14} {'after':>14}")
    for kind, (n, old, new) in [*score.items(), ("all", total)]:
        print(f"{kind:10} {n:>5} {old:>6} ({old / n:6.1%}) {new:>6} ({new / n:6.1%})")

    rows = unseen.leads(40 if args.tiny else None)
    after_unseen = unseen.stored(rows, unseen.documents())
    if args.before and not unseen.has_ref(args.before):
        # A checkout without that ref (a detached CI checkout, a copy without .git) still runs the bench.
        print(f"before: git ref {args.before!r} is not in this checkout; its column is left out")
        args.before = ""
    before_unseen = unseen.stored_by(args.before, rows) if args.before else None
    unseen.report(rows, before_unseen, after_unseen, args.show_misses)


if __name__ == "__main__":
    main()
