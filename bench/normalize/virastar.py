"""virastar's test file as a peer suite for ZWNJ decisions. Prints; asserts nothing.

    .venv/bin/python bench/normalize/virastar.py [--data /work/shared/data] [--hazm-python PY] [--show]

virastar (brothersincode/virastar, MIT) is a Persian text cleaner; its ``test/virastar.js`` pairs
an input with the output its authors expect (``assert.strictEqual(virastar.cleanup(IN, ...),
OUT)``). Only its ZWNJ decisions are compared: every word of an expected output written with a
ZWNJ between letters (58 of them) is looked for in our output of the input, letters compared
after folding the spellings virastar rewrites by its own rules (Arabic ي ك ة, hamza, harakat,
digits, punctuation). A word is "right" when ours has the same letters with the same ZWNJs,
"wrong" when ours has the same letters with a ZWNJ the expected word lacks (خان‌های for
خانه‌ای); the rest are missed. Its punctuation, quote, digit and hamza rules are its own.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import corpus  # noqa: E402
import run  # noqa: E402

ZWNJ = "\u200c"
_STRING = r"'((?:[^'\\]|\\.)*)'"
# cleanup('IN'[, options]), 'OUT' (the options are an object literal or a name).
_PAIR = re.compile(r"virastar\.cleanup\(\s*" + _STRING + r"\s*(?:,\s*(?:\{[^}]*\}|\w+))?\s*\)\s*,\s*" + _STRING, re.S)
_WORD = re.compile("[\u0621-\u063a\u0641-\u065f\u0670-\u06d3\u06d5\u06fa-\u06ff\u200c]+")
# virastar's own spellings, folded away before comparing: Arabic yeh/kaf/teh marbuta, hamza
# forms, harakat (its outputs keep some), kashida.
_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "ە": "ه", "ے": "ی", "ہ": "ه",
                       **{chr(c): "" for c in (*range(0x064B, 0x0660), 0x0670, 0x0640)}})


def pairs(path: Path) -> list[tuple[str, str]]:
    """(input, expected output) of every cleanup() assertion, JavaScript escapes decoded."""
    source = path.read_text(encoding="utf-8")
    return [(_unescape(m.group(1)), _unescape(m.group(2))) for m in _PAIR.finditer(source)]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value)


def words(text: str) -> list[str]:
    """Persian words, folded, ZWNJ kept between letters: "خانه‌ای بر" -> ["خانه‌ای", "بر"]."""
    out = []
    for word in _WORD.findall(text.translate(_FOLD)):
        word = word.strip(ZWNJ)
        if word:
            out.append(re.sub(ZWNJ + "+", ZWNJ, word))
    return out


@dataclass
class Score:
    expected: int = 0
    right: int = 0
    wrong: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)
    wrongs: list[tuple[str, str]] = field(default_factory=list)


def score(outputs: list[str], expected: list[str]) -> Score:
    """Each expected ZWNJ word against the word of the same letters in our output."""
    result = Score()
    for ours, theirs in zip(outputs, expected):
        found = collections.defaultdict(list)
        for word in words(ours):
            found[word.replace(ZWNJ, "")].append(word)
        for word in words(theirs):
            candidates = found.get(word.replace(ZWNJ, ""), [])
            mine = candidates.pop(0) if candidates else None
            if mine is not None and not run.positions(mine)[1] <= run.positions(word)[1]:
                result.wrong += 1  # a ZWNJ the expected word does not have
                result.wrongs.append((mine, word))
            if ZWNJ not in word:
                continue
            result.expected += 1
            if mine == word:
                result.right += 1
            elif mine is None or run.positions(mine)[1] <= run.positions(word)[1]:
                result.missed.append((mine or "-", word))
    return result


def evaluate(engine, cases: list[tuple[str, str]]) -> Score:
    outputs, _ = engine([source for source, _ in cases])
    return score(outputs, [out for _, out in cases])


def print_score(name: str, result: Score, show: bool) -> None:
    print(f"  {name:<12} {result.right}/{result.expected} ZWNJ words right, {result.wrong} wrong")
    if show:
        for mine, word in result.missed:
            print(f"    missed: {word} (ours: {mine})")
        for mine, word in result.wrongs:
            print(f"    wrong:  {mine} (expected {word})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA)
    parser.add_argument("--hazm-python", default=os.environ.get("HAZM_PYTHON"))
    parser.add_argument("--show", action="store_true", help="list the missed and wrong words")
    args = parser.parse_args(argv)
    cases = pairs(args.data / "virastar" / "virastar.js")
    engines = [run.Ours()]
    if args.hazm_python and Path(args.hazm_python).exists():
        engines.append(run.Hazm(args.hazm_python))
    print(f"virastar's test file: {len(cases)} cases")
    for engine in engines:
        print_score(engine.name, evaluate(engine, cases), args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
