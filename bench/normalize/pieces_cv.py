"""Cross-validate the learned-piece thresholds (etl/clean/learn.py) on the Varzesh3 dev split only.

    .venv/bin/python bench/normalize/pieces_cv.py [--data /work/shared/data] [--min-counts 1,2,3]

The dev documents are cut in two halves (alternate documents). For each fold the lexicon is
learned from the Fars train texts plus one half, as `news-etl lexicon learn` would, and scored on
the other half's ZWNJ texts; the two folds are summed. The held-out split is never read.
Prints P/R per setting; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import corpus  # noqa: E402
import run  # noqa: E402
from etl.clean import learn, lexicon, zwnj  # noqa: E402
from etl.clean.text import normalize_text, use_learned_lexicon  # noqa: E402

ZWNJ = "\u200c"


def dev_halves(data: Path) -> list[list[str]]:
    """The Varzesh3 dev documents (even indices) in two halves, by alternate document."""
    halves: list[list[str]] = [[], []]
    dev = [d for i, d in enumerate(corpus.documents(data, "varzesh3")) if i % 2 == 0]
    for k, doc in enumerate(dev):
        halves[k % 2].extend(corpus.texts(doc))
    return halves


def dev_folds(data: Path) -> list[tuple[learn.Tally, list[str]]]:
    """(spellings of Fars train + one dev half, the other half's ZWNJ texts), for each half."""
    fars = corpus.split_texts(data)["train"]
    halves = dev_halves(data)
    folds = []
    for k in (0, 1):
        tally = learn.count_spellings(map(normalize_text, fars + halves[k]))
        folds.append((tally, [t for t in halves[1 - k] if ZWNJ in t]))
    return folds


def score(learned: lexicon.Learned | None, texts: list[str]) -> run.Counts:
    use_learned_lexicon(learned)
    total = run.Counts()
    for text in texts:
        ref = normalize_text(text)
        total.add(run.compare(ref, normalize_text(ref.replace(ZWNJ, ""))))
    use_learned_lexicon(None)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA)
    parser.add_argument("--min-counts", help="score these sightings thresholds (e.g. 1,2,3) instead of the piece grid")
    args = parser.parse_args(argv)
    base = lexicon.load()
    folds = dev_folds(args.data)
    if args.min_counts:
        return score_min_counts(folds, base, [int(n) for n in args.min_counts.split(",")])
    settings = [(None, None, None, None)] + list(itertools.product((2, 3), (1, 2, 3), (3,), (2, 3)))
    print(f"{'types':>5} {'ratio':>5} {'min':>3} {'rest':>4} {'pieces':>6}  P      R")
    for types, ratio, least, rest in settings:
        total, n_pieces = run.Counts(), 0
        for tally, texts in folds:
            if types is None:
                saved = learn.learn_pieces
                learn.learn_pieces = lambda *a, **k: ({}, {})  # entries only: the lexicon before pieces
                learned = learn.learn(tally, base)
                learn.learn_pieces = saved
            else:
                learn.PIECE_TYPES, learn.PIECE_RATIO, learn.PIECE_MIN, zwnj.PIECE_REST = types, ratio, least, rest
                learned = learn.learn(tally, base)
            n_pieces += len(learned.pieces)
            total.add(score(learned, texts))
        label = "no pieces" if types is None else f"{types:>5} {ratio:>5} {least:>3} {rest:>4}"
        print(f"{label:<20} {n_pieces // 2:>6}  {total.precision:.4f} {total.recall:.4f}", flush=True)
    return 0


def score_min_counts(folds: list, base: lexicon.Lexicon, counts: list[int]) -> int:
    """P/R per ``--min-count``, the piece settings as shipped."""
    print(f"{'min-count':>9} {'entries':>7}  P      R")
    for least in counts:
        total, entries = run.Counts(), 0
        for tally, texts in folds:
            learned = learn.learn(tally, base, min_count=least)
            entries += len(learned.entries)
            total.add(score(learned, texts))
        print(f"{least:>9} {entries // 2:>7}  {total.precision:.4f} {total.recall:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
