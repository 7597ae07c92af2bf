"""How the packaged lexicon's sources and its "apart" threshold do on text they did not read.

    .venv/bin/python bench/normalize/lexicon_cv.py [--data /work/shared/data] [--apart 5x5,1000x1000]

Cross-validated on the tuning splits alone: each of Varzesh3 dev and Fars train is cut in two
halves (alternate documents). For each half the lexicon is built by build_lexicon.py from the
other outlet's tuning split alone, and from that plus the other half, and scored on the half's
ZWNJ texts, joined (every ZWNJ removed) and spaced (every ZWNJ a space). The held-out splits are
never read. Prints P/R; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import build_lexicon  # noqa: E402
import corpus  # noqa: E402
import run  # noqa: E402
from etl.clean import zwnj  # noqa: E402
from etl.clean.text import normalize_text  # noqa: E402

ZWNJ = "\u200c"


def halves(data: Path, outlet: str) -> list[list[str]]:
    """An outlet's tuning documents in two halves, by alternate document."""
    if outlet == "varzesh3":
        docs = [d for i, d in enumerate(corpus.documents(data, "varzesh3")) if i % 2 == 0]
    else:
        docs = [d for i, d in enumerate(corpus.documents(data)) if not corpus.is_held_out(i)]
    cut: list[list[str]] = [[], []]
    for k, doc in enumerate(docs):
        cut[k % 2].extend(corpus.texts(doc))
    return cut


def score(texts: list[str]) -> tuple[run.Counts, run.Counts]:
    """(joined, spaced) counts on ``texts`` with the lexicon in use."""
    joined, spaced = run.Counts(), run.Counts()
    for text in texts:
        ref = normalize_text(text)
        joined.add(run.compare(ref, normalize_text(ref.replace(ZWNJ, ""))))
        spaced.add(run.compare_spaced(ref, normalize_text(ref.replace(ZWNJ, " ")))[0])
    return joined, spaced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA)
    parser.add_argument("--apart", default="5x5", help="settings MINxRATIO of build_lexicon.APART_MIN, "
                        "APART_RATIO, comma separated (1000x1000: no compound kept apart but the phrases)")
    parser.add_argument("--outlets", default="varzesh3,fars")
    args = parser.parse_args(argv)
    other = {"varzesh3": corpus.train_texts(args.data), "fars": corpus.varzesh3_texts(args.data)["dev"]}
    print(f"{'tested':<9} {'lexicon built from':<28} {'apart':>9} {'joined P':>8} {'joined R':>8}"
          f" {'spaced P':>8} {'spaced R':>8}")
    for outlet in args.outlets.split(","):
        cut = halves(args.data, outlet)
        for apart in args.apart.split(","):
            build_lexicon.APART_MIN, build_lexicon.APART_RATIO = map(float, apart.split("x"))
            for with_half in (False, True):
                joined, spaced = run.Counts(), run.Counts()
                for k in (0, 1):
                    lex, _ = build_lexicon.build(args.data, other[outlet] + (cut[1 - k] if with_half else []))
                    zwnj.use_lexicon(lex)
                    scored = score([t for t in cut[k] if ZWNJ in t])
                    joined.add(scored[0])
                    spaced.add(scored[1])
                zwnj.use_lexicon(None)
                sources = ("the other outlet" + (" + other half" if with_half else ""))
                print(f"{outlet:<9} {sources:<28} {apart:>9} {joined.precision:>8.4f} {joined.recall:>8.4f}"
                      f" {spaced.precision:>8.4f} {spaced.recall:>8.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
