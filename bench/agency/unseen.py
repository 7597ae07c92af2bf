"""The unseen leads of bench/agency/run.py: real leads the agency table was not built from.

``tests/data/agency_leads.tsv`` (its header says how the labels were made): 499 Varzesh3 articles
and 167 Fars News articles that ``agency_labels.tsv`` does not hold, each loaded the way a backfill
loads it. A lead is right when the stored outlet equals the label ('-': none stored); it is
misattributed when an outlet is stored that is not the one its attribution names. "before" is the
reader of a git ref (default main), run in a subprocess on the same articles.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)


def leads(limit: int | None = None) -> list[tuple[str, int, str, str | None]]:
    """(kind, index, link, label or None) of every labelled lead."""
    rows = []
    for line in (DATA / "agency_leads.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, index, link, label, _note = line.split("\t")
            rows.append((kind, int(index), link, None if label == "-" else label))
    return rows[:limit] if limit else rows


def documents() -> dict[str, list[dict]]:
    docs = {"varzesh3": json.loads((DATA / "varzesh3" / "varzesh3-1.json").read_text(encoding="utf-8")), "fars": []}
    for name in ("fars-news-1.json", "fars-news-2.json"):
        docs["fars"] += json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))
    return docs


def stored(rows, docs) -> list[str | None]:
    """The outlet this tree's cleaner stores for each lead (``meta["agency"]``)."""
    from etl.clean.article import to_article
    from etl.fetch.records import record_to_item
    return [to_article(record_to_item(docs[kind][index], link), NOW).meta.get("agency")
            for kind, index, link, _ in rows]


def has_ref(ref: str) -> bool:
    """Whether git knows ``ref`` here (a commit), so ``stored_by`` can extract its cleaner."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=REPO,
                          capture_output=True)
    return proc.returncode == 0


def stored_by(ref: str, rows) -> list[str | None]:
    """The same with the cleaner of git ``ref`` (extracted to a temporary tree)."""
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(["git", "archive", "--format=tar", ref, "etl"], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        script = ("import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(1, sys.argv[2]); import unseen; "
                  "rows = [tuple(r) for r in json.load(sys.stdin)]; "
                  "print(json.dumps(unseen.stored(rows, unseen.documents()), ensure_ascii=False))")
        proc = subprocess.run([sys.executable, "-c", script, tree, str(Path(__file__).parent)],
                              input=json.dumps(rows, ensure_ascii=False), capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def score(rows, got: list[str | None]) -> dict[str, tuple[int, int, int]]:
    """Per kind and "all": (leads, right, misattributed)."""
    out: dict[str, list[int]] = {}
    for (kind, _, _, want), agency in zip(rows, got):
        for key in (kind, "all"):
            counts = out.setdefault(key, [0, 0, 0])
            counts[0] += 1
            counts[1] += agency == want
            counts[2] += agency is not None and agency != want
    return {k: tuple(v) for k, v in out.items()}


def report(rows, before: list[str | None] | None, after: list[str | None], show_misses: bool) -> None:
    print("\nunseen leads (tests/data/agency_leads.tsv): right, and stored with another outlet than the attribution names")
    print(f"{'sample':10} {'leads':>5} {'before right':>16} {'wrong outlet':>12} {'after right':>16} {'wrong outlet':>12}")
    old = score(rows, before) if before is not None else {}
    for key, (n, right, wrong) in sorted(score(rows, after).items(), key=lambda kv: kv[0] == "all"):
        b = old.get(key)
        first = f"{b[1]:>6} ({b[1] / n:6.1%}) {b[2]:>12}" if b else f"{'-':>16} {'-':>12}"
        print(f"{key:10} {n:>5} {first} {right:>6} ({right / n:6.1%}) {wrong:>12}")
    if show_misses:
        for (kind, index, link, want), agency in zip(rows, after):
            if agency != want:
                print(f"  miss [{kind} {index}] {link}: want {want!r}, got {agency!r}")
