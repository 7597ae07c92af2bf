"""Learn ZWNJ spellings from stored text, and read and write the learned lexicon file.

Most live feeds keep their ZWNJ, so articles already stored show how an outlet spells words the
packaged lexicon does not know (``تیم‌ملی``, ``منچستر‌یونایتد``, ``گل‌های`` in sports copy). A
spelling is learned when it is written with a ZWNJ at least ``min_count`` times and at least
``RATIO`` times as often as every other spelling of the same letters, and the rules would not
already produce it. Pure: texts in, a ``Learned`` out; the file is read and written by path.

The file is tab-separated, one spelling a line, ``#`` comments::

    # news-etl learned lexicon
    تیمملی<TAB>تیم‌ملی<TAB>14<TAB>0
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .lexicon import TAGGED, Learned, Lexicon, with_learned
from .zwnj import LETTERS, NON_JOINING, ZWNJ, split_word

# Twice, not three times: learned from half of the Varzesh3 dev split (plus Fars train) and scored
# on the other half, 2 recovers 0.9205 of the ZWNJ against 0.9173 for 3 at the same precision
# (0.9978); one sighting (0.9234) would learn a writer's every slip.
MIN_COUNT = 2
RATIO = 3
HEADER = "# news-etl learned lexicon"
_TOKEN = re.compile(f"[{LETTERS}]+(?:{ZWNJ}[{LETTERS}]+)*")


class LexiconError(ValueError):
    """A learned lexicon file that cannot be used; names the file (and line). Not transient."""


@dataclass
class Tally:
    """How often each spelling occurs: with ZWNJ by form, without by word."""

    zwnj: collections.Counter = field(default_factory=collections.Counter)
    joined: collections.Counter = field(default_factory=collections.Counter)
    texts: int = 0

    def add(self, text: str) -> None:
        """Count the words of one normalized text: ``"تیم‌ملی و تیم"`` adds تیم‌ملی, و, تیم."""
        self.texts += 1
        for token in _TOKEN.findall(text):
            (self.zwnj if ZWNJ in token else self.joined)[token] += 1


def count_spellings(texts: Iterable[str]) -> Tally:
    tally = Tally()
    for text in texts:
        tally.add(text)
    return tally


def learn(tally: Tally, base: Lexicon, min_count: int = MIN_COUNT) -> Learned:
    """The spellings ``tally`` shows clearly that ``base`` does not produce, each one stable."""
    forms: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for form, n in tally.zwnj.items():
        forms[form.replace(ZWNJ, "")].append((n, form))
    entries, counts = {}, {}
    for joined, seen in forms.items():
        n, form = max(seen)
        others = sum(m for m, _ in seen) - n + tally.joined[joined]
        if n >= min_count and n >= RATIO * others and _learnable(joined, form, base):
            entries[joined], counts[joined] = form, (n, others)
    entries = stable(entries, base)
    return Learned(entries, {j: counts[j] for j in entries})


def _learnable(joined: str, form: str, base: Lexicon) -> bool:
    """Not a word as written (never list, a tagged word: برتر), well formed, and new to the rules."""
    if len(joined) < 3 or joined in base.never or base.stems.get(joined, (0,))[0] >= TAGGED:
        return False
    pieces = form.split(ZWNJ)
    if any(p[-1] in NON_JOINING for p in pieces[:-1]):
        return False  # a ZWNJ after ا د ذ ر ز ژ و is invisible: a typing habit, not a spelling
    return split_word(joined, base) != form


def stable(entries: dict[str, str], base: Lexicon) -> dict[str, str]:
    """Entries whose output a second pass leaves alone (repair stays idempotent with them).

    A piece of an entry's form must not split again, and a learned word must not be a piece
    of a packaged compound (that compound's output would split on the next pass).
    """
    pieces = {p for form in base.compounds.values() for p in form.split(ZWNJ)}
    entries = {j: f for j, f in entries.items() if j not in pieces}
    for _ in range(5):
        lex = with_learned(base, Learned(entries))
        kept = {j: f for j, f in entries.items()
                if not any(split_word(p, lex) for p in f.split(ZWNJ))}
        if kept == entries:
            return kept
        entries = kept
    return {}  # never seen: entries that keep unsettling each other are all dropped


def write_learned(path: Path, learned: Learned, note: str = "") -> None:
    """The learned lexicon as a file (sorted, so the same spellings give the same bytes)."""
    lines = [HEADER, "# joined form<TAB>form with ZWNJ<TAB>times seen so<TAB>times seen otherwise",
             f"# version {learned.version}" + (f"; {note}" if note else "")]
    for joined, form in sorted(learned.entries.items()):
        n, others = learned.counts.get(joined, (0, 0))
        lines.append(f"{joined}\t{form}\t{n}\t{others}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_learned(path: Path, base: Lexicon) -> Learned:
    """A learned lexicon file, checked line by line; unstable entries are dropped as ``learn`` would."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"learned lexicon {path}: cannot read it ({exc.__class__.__name__}: {exc})") from exc
    if not text.startswith(HEADER):
        raise LexiconError(f"learned lexicon {path}: not a learned lexicon (first line must be {HEADER!r})")
    entries, counts = {}, {}
    for number, line in enumerate(text.splitlines(), 1):
        if line and not line.startswith("#"):
            joined, form, n, others = _entry(path, number, line)
            entries[joined], counts[joined] = form, (n, others)
    entries = stable(entries, base)
    return Learned(entries, {j: counts[j] for j in entries})


def _entry(path: Path, number: int, line: str) -> tuple[str, str, int, int]:
    fields = line.split("\t")
    where = f"learned lexicon {path}, line {number}"
    if len(fields) != 4 or not fields[2].isdigit() or not fields[3].isdigit():
        raise LexiconError(f"{where}: expected joined<TAB>form<TAB>count<TAB>count, got {line[:60]!r}")
    joined, form = fields[0], fields[1]
    if ZWNJ not in form or form.replace(ZWNJ, "") != joined or not _TOKEN.fullmatch(form):
        raise LexiconError(f"{where}: {form!r} is not {joined!r} with ZWNJ between letters")
    return joined, form, int(fields[2]), int(fields[3])
