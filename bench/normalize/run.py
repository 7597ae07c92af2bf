"""ZWNJ-repair benchmark on real news text that keeps its ZWNJ. Prints figures; asserts nothing.

    .venv/bin/python bench/normalize/run.py [--data /work/shared/data] [--hazm-python /tmp/hazm-venv/bin/python]

Dev set: every Fars News title, abstract and paragraph that contains a ZWNJ, in two splits:
"train" (what build_lexicon.py read) and "held-out" (never read by it). For each text:
reference = normalize(original); input = reference without any U+200C; restored = normalize(input).
ZWNJ positions are compared on the ZWNJ-free skeleton. "strict" uses the writer's own ZWNJ as
the reference (safe layer only, no repair), so every ZWNJ we add where Fars wrote a joined word
counts against us. The same figures are printed for hazm's Normalizer when its Python is given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import corpus  # noqa: E402
from etl.clean import learn, lexicon, zwnj  # noqa: E402
from etl.clean.text import normalize_safe, normalize_text, use_learned_lexicon  # noqa: E402

ZWNJ = "\u200c"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def positions(text: str) -> tuple[str, set[int]]:
    """The ZWNJ-free skeleton and the skeleton indices a ZWNJ precedes: "a‌b" -> ("ab", {1})."""
    skeleton, marks = [], set()
    for char in text:
        if char == ZWNJ:
            marks.add(len(skeleton))
        else:
            skeleton.append(char)
    return "".join(skeleton), marks


def visible(reference: str) -> str:
    """The reference without ZWNJ after a non-joining letter (کشور‌ها): it changes no glyph, and
    the rules never write one, so "R vis" leaves those out of the count."""
    return "".join(c for i, c in enumerate(reference) if c != ZWNJ or reference[i - 1] not in zwnj.NON_JOINING)


def compare(reference: str, output: str) -> Counts:
    """ZWNJ agreement; when the skeletons differ, positions are mapped through aligned characters."""
    ref_skel, ref_marks = positions(reference)
    out_skel, out_marks = positions(output)
    if ref_skel != out_skel:
        out_marks = _align(ref_skel, out_skel, out_marks)
    tp = len(ref_marks & out_marks)
    return Counts(tp, len(out_marks - ref_marks), len(ref_marks - out_marks))


def _align(ref_skel: str, out_skel: str, out_marks: set[int]) -> set[int]:
    """Output positions moved onto the reference skeleton; an unmatched one maps to -1 (a miss)."""
    mapping = {}
    for block in SequenceMatcher(None, out_skel, ref_skel, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k] = block.b + k
    return {mapping.get(i, -1 - i) for i in out_marks}


def spaced_positions(text: str) -> tuple[str, set[int], set[int]]:
    """The skeleton without ZWNJ and whitespace, and the skeleton indices a ZWNJ and a space
    precede: "a‌b c" -> ("abc", {1}, {2})."""
    skeleton, zwnjs, spaces = [], set(), set()
    for char in text:
        if char == ZWNJ:
            zwnjs.add(len(skeleton))
        elif char.isspace():
            spaces.add(len(skeleton))
        else:
            skeleton.append(char)
    return "".join(skeleton), zwnjs, spaces


def compare_spaced(reference: str, output: str) -> tuple[Counts, int]:
    """ZWNJ agreement when the input wrote every ZWNJ as a space, and how many of the
    reference's spaces the output removed (two words joined that the reference keeps apart)."""
    ref_skel, ref_z, ref_s = spaced_positions(reference)
    out_skel, out_z, out_s = spaced_positions(output)
    if ref_skel != out_skel:
        out_z, out_s = _align(ref_skel, out_skel, out_z), _align(ref_skel, out_skel, out_s)
    joined = len(ref_s - out_s - out_z)
    return Counts(len(ref_z & out_z), len(out_z - ref_z), len(ref_z - out_z)), joined


class Ours:
    name = "news-etl"

    def __call__(self, texts: list[str], repeat: int = 1) -> tuple[list[str], float]:
        seconds = float("inf")
        for _ in range(repeat):
            zwnj.clear_memo()  # each timed run starts cold: no word repaired yet
            start = time.perf_counter()
            out = [normalize_text(t) for t in texts]
            seconds = min(seconds, time.perf_counter() - start)
        return out, seconds


class Hazm:
    def __init__(self, python: str):
        self.python = python
        self.name = "hazm " + self._run(["مي روم"])[2]

    def __call__(self, texts: list[str], repeat: int = 1) -> tuple[list[str], float]:
        out, seconds, _ = self._run(texts, repeat)
        return out, seconds

    def _run(self, texts: list[str], repeat: int = 1) -> tuple[list[str], float, str]:
        proc = subprocess.run(
            [self.python, str(HERE / "hazm_worker.py"), str(repeat)],
            input=json.dumps(texts, ensure_ascii=False),
            capture_output=True, text=True, encoding="utf-8", check=True,
        )
        result = json.loads(proc.stdout)
        return result["texts"], result["seconds"], result["version"]


def evaluate(engine, originals: list[str]) -> dict:
    refs, _ = engine(originals)
    restored, _ = engine([r.replace(ZWNJ, "") for r in refs])
    again, _ = engine(refs)
    safe = [normalize_safe(t) for t in originals]
    strict_restored, _ = engine([s.replace(ZWNJ, "") for s in safe])
    spec, strict, kept, kept_orig, vis = Counts(), Counts(), Counts(), Counts(), Counts()
    for i, ref in enumerate(refs):
        spec.add(compare(ref, restored[i]))
        vis.add(compare(visible(ref), restored[i]))
        strict.add(compare(safe[i], strict_restored[i]))
        kept.add(compare(ref, again[i]))
        kept_orig.add(compare(safe[i], ref))
    return {
        "texts": len(originals), "zwnj": spec.tp + spec.fn, "P": spec.precision, "R": spec.recall,
        "R vis": vis.recall,
        "strict P": strict.precision, "strict R": strict.recall, "kept": kept.recall,
        "kept orig": kept_orig.recall, "idempotent": sum(a == r for a, r in zip(again, refs)),
    }


def evaluate_spaced(engine, originals: list[str]) -> dict:
    """The spaced mode: every ZWNJ of the reference written as a space, as typed text and feeds
    that turned U+200C into a space give it (``کتاب ها``, ``می کند``, ``خانه ی``)."""
    refs, _ = engine(originals)
    restored, _ = engine([r.replace(ZWNJ, " ") for r in refs])
    spec, vis, joined, written = Counts(), Counts(), 0, 0
    for original, ref, out in zip(originals, refs, restored):
        counts, removed = compare_spaced(ref, out)
        spec.add(counts)
        vis.add(compare_spaced(visible(ref), out)[0])
        joined += removed
        written += _spaces_taken(normalize_safe(original), ref)
    return {"texts": len(originals), "zwnj": spec.tp + spec.fn, "P": spec.precision, "R": spec.recall,
            "R vis": vis.recall, "joined": joined, "taken": written}


def _spaces_taken(writer: str, ref: str) -> int:
    """Spaces of the writer's own text (safe layer) that the engine's reference writes as a ZWNJ:
    the joins the columns above cannot see, since the reference already holds them."""
    skel, _, spaces = spaced_positions(writer)
    ref_skel, zwnjs, _ = spaced_positions(ref)
    if skel != ref_skel:
        zwnjs = _align(skel, ref_skel, zwnjs)
    return len(spaces & zwnjs)


def against_baseline(texts: list[str], ref: str, repeat: int) -> tuple[float, float, str]:
    """CPU chars/s of this tree's normalize_text and of git ``ref``'s, the same harness
    (baseline_worker.py) alternated ``repeat`` times, best of each: (ours, theirs, their version)."""
    repo = HERE.parent.parent
    payload = json.dumps(texts, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(["git", "archive", "--format=tar", ref, "etl"], cwd=repo, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        ours = theirs = float("inf")
        version = ""
        for _ in range(repeat):
            ours = min(ours, _worker(str(repo), payload)["seconds"])
            result = _worker(tree, payload)
            theirs, version = min(theirs, result["seconds"]), result["version"]
    chars = sum(map(len, texts))
    return chars / ours, chars / theirs, version


def _worker(tree: str, payload: str) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "baseline_worker.py"), tree, "1"], input=payload,
                          capture_output=True, text=True, encoding="utf-8", check=True)
    return json.loads(proc.stdout)


def speed(engine, texts: list[str], repeat: int) -> float:
    """Characters per second, best of ``repeat`` runs (the least disturbed by other load)."""
    _, seconds = engine(texts, repeat)
    return sum(map(len, texts)) / seconds


def evaluation_sets(data: Path, fars: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every text that contains a ZWNJ, per split; "reliable" keeps only texts whose writer
    uses ZWNJ consistently (corpus.reliable), where the strict columns are the fair ones."""
    varzesh3 = corpus.varzesh3_texts(data)
    with_zwnj = {
        "fars train": fars["train"], "fars held-out": fars["held-out"],
        "varzesh3 dev": varzesh3["dev"], "varzesh3 held-out": varzesh3["held-out"],
    }
    sets = {name: [t for t in texts if ZWNJ in t] for name, texts in with_zwnj.items()}
    for name in ("fars held-out", "varzesh3 held-out"):
        sets[name.split()[0] + " reliable"] = [t for t in sets[name] if corpus.reliable(normalize_safe(t))]
    return sets


def learned_from_dev(data: Path, fars: dict[str, list[str]]) -> lexicon.Learned:
    """What `news-etl lexicon learn` would learn had the train and dev texts been stored."""
    stored = fars["train"] + corpus.varzesh3_texts(data)["dev"]
    return learn.learn(learn.count_spellings(map(normalize_text, stored)), lexicon.load())


def print_row(engine: str, split: str, f: dict) -> None:
    print(f"{engine:<12} {split:<18} {f['texts']:>5} {f['zwnj']:>6}  {f['P']:.4f} {f['R']:.4f} {f['R vis']:.4f}"
          f"   {f['strict P']:.4f}   {f['strict R']:.4f}  {f['kept']:.4f} {f['kept orig']:.4f}"
          f"  {f['idempotent']:>5}/{f['texts']}")


def print_spaced_row(engine: str, split: str, f: dict) -> None:
    print(f"{engine:<12} {split:<18} {f['texts']:>5} {f['zwnj']:>6}  {f['P']:.4f} {f['R']:.4f} {f['R vis']:.4f}"
          f"  {f['joined']:>6}  {f['taken']:>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per engine; the best counts")
    parser.add_argument("--hazm-python", default=os.environ.get("HAZM_PYTHON"),
                        help="python of a virtualenv with hazm installed (or $HAZM_PYTHON)")
    parser.add_argument("--baseline", default="main", help="git ref whose normalize_text is timed beside"
                        " this tree's in the same run ('' to skip)")
    parser.add_argument("--no-learn", action="store_true",
                        help="skip the second table (a lexicon learned from the train and dev texts)")
    parser.add_argument("--tiny", action="store_true", help="60 texts per row, one run, no learned table,"
                        " no baseline (a smoke run)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.repeat, args.no_learn, args.baseline = 1, True, ""

    lexicon.load.cache_clear()
    start = time.perf_counter()
    lexicon.load()
    print(f"lexicon load: {1000 * (time.perf_counter() - start):.1f} ms")

    engines = [Ours()]
    if args.hazm_python and Path(args.hazm_python).exists():
        engines.append(Hazm(args.hazm_python))
    else:
        print("hazm: skipped (pass --hazm-python /tmp/hazm-venv/bin/python or set HAZM_PYTHON)")

    splits = corpus.split_texts(args.data)
    rows = evaluation_sets(args.data, splits)
    if args.tiny:
        splits = {name: texts[:300] for name, texts in splits.items()}
        rows = {name: texts[:60] for name, texts in rows.items()}
    print(f"\n{'engine':<12} {'text':<18} {'texts':>5} {'zwnj':>6}  {'P':<6} {'R':<6} {'R vis':<6}   "
          f"{'strict P':<8} {'strict R':<8} {'kept':<6} {'kept orig':<9} idempotent")
    for engine in engines:
        for name, texts in rows.items():
            print_row(engine.name, name, evaluate(engine, texts))

    print("\nspaced: the same texts with every ZWNJ of the reference written as a space; 'joined' counts"
          " spaces of the reference the output removed, 'taken' spaces of the writer's own text the reference"
          " (the engine on the original) writes as a ZWNJ")
    print(f"{'engine':<12} {'text':<18} {'texts':>5} {'zwnj':>6}  {'P':<6} {'R':<6} {'R vis':<6}  {'joined':>6}  {'taken':>6}")
    for engine in engines:
        for name, texts in rows.items():
            print_spaced_row(engine.name, name, evaluate_spaced(engine, texts))

    if not args.no_learn:
        learned = learned_from_dev(args.data, splits)
        version = use_learned_lexicon(learned)
        print(f"\nwith a lexicon learned (etl.clean.learn, as `news-etl lexicon learn` does) from the"
              f" normalized fars train + varzesh3 dev texts, as if stored: {len(learned.entries)}"
              f" spellings + {len(learned.heads | learned.tails)} pieces, {len(learned.kept)} words kept joined;"
              f" normalizer {version}")
        for name, texts in rows.items():
            print_row(engines[0].name, name, evaluate(engines[0], texts))
        use_learned_lexicon(None)

    import virastar  # noqa: E402  (it reads this module's engines)
    cases = virastar.pairs(args.data / "virastar" / "virastar.js")
    print(f"\nvirastar's test file as a peer suite ({len(cases)} cases; its ZWNJ words only, see virastar.py):")
    for engine in engines:
        virastar.print_score(engine.name, virastar.evaluate(engine, cases), show=False)

    everything = [t for texts in splits.values() for t in texts]
    print(f"\nspeed over all {len(everything)} Fars texts ({sum(map(len, everything))} chars),"
          f" best of {args.repeat} runs, ours starting with an empty word memo each run:")
    rates = {engine.name: speed(engine, everything, args.repeat) for engine in engines}
    for name, rate in rates.items():
        print(f"  {name:<12} {rate:>12,.0f} chars/s")
    if len(rates) == 2:
        ours, theirs = rates.values()
        print(f"  speed-up: {ours / theirs:.1f}x")
    if args.baseline and subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.baseline}^{{commit}}"],
                                        cwd=HERE.parent.parent, capture_output=True).returncode:
        print(f"baseline: git ref {args.baseline!r} is not in this checkout; its speed is left out")
    elif args.baseline:
        ours, theirs, version = against_baseline(everything, args.baseline, args.repeat)
        print(f"CPU chars/s, this tree and {args.baseline} (rules {version}) alternated {args.repeat} times,"
              f" best of each: {ours:,.0f} and {theirs:,.0f} ({ours / theirs:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
