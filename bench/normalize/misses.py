"""ZWNJ misses and false additions on a tuning split, by class. Prints; asserts nothing.

    .venv/bin/python bench/normalize/misses.py [--split "varzesh3 dev"] [--learned | --cv] [--spaced] [--show 40]

``--spaced`` writes every ZWNJ of the reference as a space instead of removing it (run.py's
spaced table) and also lists the spaces the output removed.

Only the tuning splits ("fars train", "varzesh3 dev") are accepted: the held-out splits are for
reporting (run.py), and looking at their misses would tune the rules on them.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import build_lexicon  # noqa: E402
import corpus  # noqa: E402
import pieces_cv  # noqa: E402
import run  # noqa: E402
from etl.clean import lexicon, spaced, zwnj  # noqa: E402
from etl.clean.text import normalize_text, use_learned_lexicon  # noqa: E402

ZWNJ = "\u200c"
TUNING = ("fars train", "varzesh3 dev")
_TOKEN = re.compile(f"[{zwnj.LETTERS}]+(?:{ZWNJ}[{zwnj.LETTERS}]+)*")


def words_at(text: str, marks: set[int], spaced: bool = False) -> list[str]:
    """The reference words holding each skeleton position: ("کتاب‌ها", {4}) -> ["کتاب‌ها"].
    ``spaced``: the skeleton has no whitespace either (run.spaced_positions), and a word is
    the run of tokens around the position joined by ZWNJ or one space."""
    if spaced:
        return _spaced_words_at(text, marks)
    spans, out = [], []
    for match in _TOKEN.finditer(text):
        start = len(text[:match.start()].replace(ZWNJ, ""))  # the token's first skeleton index
        spans.append((start, start + len(match.group().replace(ZWNJ, "")), match.group()))
    for mark in sorted(marks):
        out.extend(word for start, end, word in spans if start < mark < end)
    return out


def _spaced_words_at(text: str, marks: set[int]) -> list[str]:
    """"X Y" or "X‌Y" around each skeleton position without whitespace: ("کتاب ها", {4}) -> ["کتاب ها"]."""
    spans = []
    for match in re.finditer(r"\S+", text):
        start = len(re.sub(r"\s", "", text[:match.start()]).replace(ZWNJ, ""))
        spans.append((start, start + len(match.group().replace(ZWNJ, "")), match.group()))
    out = []
    for mark in sorted(marks):
        for k, (start, end, word) in enumerate(spans):
            if start < mark < end:
                out.append(word)
            elif end == mark and k + 1 < len(spans):
                out.append(f"{word} {spans[k + 1][2]}")
    return out


def classify(word: str) -> str:
    """Why a reference word lost its ZWNJ: the first piece boundary the output lacks decides."""
    lex = lexicon.active()
    joined = word.replace(ZWNJ, "")
    pieces = word.split(ZWNJ)
    if any(p[-1] in zwnj.NON_JOINING for p in pieces[:-1]):
        return "after non-joining letter"
    last = pieces[-1]
    if last in zwnj.CLITICS or last in ("یشان", "یمان", "یتان"):
        return "شان/مان clitic"
    if len(zwnj.best_readings(joined, lex)) > 1:
        return "ambiguous (two readings)"
    known = [p for p in pieces if p in lex.stems or p in lex.verb_forms or p in zwnj.SUFFIXES]
    if len(known) < len(pieces):
        return "unknown piece (names, foreign words)"
    return "known pieces, no rule"


def classify_spaced(word: str) -> str:
    """Why a reference word's space was kept where the reference has a ZWNJ."""
    lex = lexicon.active()
    pieces = word.strip(".,،:؛!؟()\"«»").split(ZWNJ)
    joined = "".join(pieces)
    if any(p and p[-1] in zwnj.NON_JOINING for p in pieces[:-1]):
        return "after non-joining letter (never written)"
    if pieces[0] in spaced.PREPOSITIONS:
        return "after a preposition (kept apart)"
    if any(p in lex.participles or p in spaced.COPULA or (p in lex.verb_forms and p[-1] != "ی") for p in pieces[1:]):
        return "verb after its complement (kept apart)"
    keys = list(spaced._without_endings(joined))
    if any(key in lex.compounds for key in keys):
        if any(key in lex.apart for key in keys):
            return "compound the outlets write apart (apart.txt)"
        return "packaged compound not joined"
    if pieces[-1] in zwnj.CLITICS + zwnj.PLURAL or pieces[-1] in ("ی", "ای", "ام", "اش"):
        return "suffix after an unknown stem"
    return "no evidence (names, unknown compounds)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA)
    parser.add_argument("--split", default="varzesh3 dev", choices=TUNING)
    parser.add_argument("--learned", action="store_true", help="with the lexicon run.py learns")
    parser.add_argument("--cv", action="store_true", help="varzesh3 dev, each half with the packaged"
                        " lexicon rebuilt from Fars train and the other half (build_lexicon.py: it reads"
                        " varzesh3 dev, so the half scored must be left out)")
    parser.add_argument("--spaced", action="store_true", help="every reference ZWNJ written as a space")
    parser.add_argument("--show", type=int, default=30, help="most frequent words shown per class")
    args = parser.parse_args(argv)
    splits = corpus.split_texts(args.data)
    if args.cv:
        folds, args.split = cv_folds(args.data), "varzesh3 dev, cross-validated"
    else:
        learned = run.learned_from_dev(args.data, splits) if args.learned else None
        folds = [(lambda: use_learned_lexicon(learned), run.evaluation_sets(args.data, splits)[args.split])]
    by_class: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    added: collections.Counter = collections.Counter()
    joined: collections.Counter = collections.Counter()
    for use, texts in folds:
        use()
        if args.spaced:
            tally_spaced_misses(texts, by_class, added, joined)
        else:
            tally_misses(texts, by_class, added)
    use_learned_lexicon(None)
    zwnj.use_lexicon(None)
    total = sum(sum(c.values()) for c in by_class.values())
    n_texts = sum(len(texts) for _, texts in folds)
    print(f"{args.split}{' (spaced)' if args.spaced else ''}: {n_texts} texts, {total} missed ZWNJ,"
          f" {sum(added.values())} added wrongly")
    for name, counter in sorted(by_class.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"\n{name}: {sum(counter.values())}")
        print("  " + "  ".join(f"{w} {n}" for w, n in counter.most_common(args.show)))
    print(f"\nadded wrongly: {sum(added.values())}")
    print("  " + "  ".join(f"{w} {n}" for w, n in added.most_common(args.show)))
    if args.spaced:
        print(f"\nspaces removed (words the reference keeps apart, joined): {sum(joined.values())}")
        print("  " + "  ".join(f"{w} {n}" for w, n in joined.most_common(args.show)))
    return 0


def tally_misses(texts: list[str], by_class: dict, added: collections.Counter) -> None:
    """Count each reference ZWNJ the repair misses (by class) and each it adds wrongly."""
    for original in texts:
        ref = normalize_text(original)
        out = normalize_text(ref.replace(ZWNJ, ""))
        ref_skel, ref_marks = run.positions(ref)
        out_skel, out_marks = run.positions(out)
        if ref_skel != out_skel:
            continue  # rare; run.py aligns these, here they are skipped
        for word in words_at(ref, ref_marks - out_marks):
            by_class[classify(word)][word] += 1
        for word in words_at(out, out_marks - ref_marks):
            added[word] += 1


def tally_spaced_misses(texts: list[str], by_class: dict, added: collections.Counter,
                        joined: collections.Counter) -> None:
    """tally_misses for the spaced mode, plus the reference spaces the output removed."""
    for original in texts:
        ref = normalize_text(original)
        out = normalize_text(ref.replace(ZWNJ, " "))
        ref_skel, ref_z, ref_s = run.spaced_positions(ref)
        out_skel, out_z, out_s = run.spaced_positions(out)
        if ref_skel != out_skel:
            continue
        for word in words_at(ref, ref_z - out_z, spaced=True):
            by_class[classify_spaced(word.replace(" ", ZWNJ))][word] += 1
        for word in words_at(out, out_z - ref_z, spaced=True):
            added[word] += 1
        for word in words_at(ref, ref_s - out_s - out_z, spaced=True):
            joined[word] += 1


def cv_folds(data: Path) -> list[tuple]:
    """(a function that puts in use the lexicon built from Fars train + one Varzesh3 dev half,
    the other half's ZWNJ texts), for each half."""
    fars, halves = corpus.split_texts(data)["train"], pieces_cv.dev_halves(data)
    folds = []
    for k in (0, 1):
        lex, _ = build_lexicon.build(data, fars + halves[k])
        folds.append((lambda lex=lex: zwnj.use_lexicon(lex), [t for t in halves[1 - k] if ZWNJ in t]))
    return folds


if __name__ == "__main__":
    sys.exit(main())
