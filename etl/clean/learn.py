"""Learn ZWNJ spellings from stored text, and read and write the learned lexicon file.

Most live feeds keep their ZWNJ, so articles already stored show how an outlet spells words the
packaged lexicon does not know (``تیم‌ملی``, ``منچستر‌یونایتد``, ``گل‌های`` in sports copy). A
spelling is learned when it is written with a ZWNJ at least ``min_count`` times and at least
``RATIO`` times as often as every other spelling of the same letters, and the rules would not
already produce it. Pure: texts in, a ``Learned`` out; the file is read and written by path.

The file is tab-separated, one spelling a line, ``#`` comments::

    # news-etl learned lexicon
    تیمملی<TAB>تیم‌ملی<TAB>14<TAB>0
    سیتی<TAB>‌سیتی<TAB>5<TAB>0

A piece line (a ZWNJ before or after the letters) is a learned first or second half of compounds:
``سیتی`` ended 5 different ZWNJ compounds and no joined word, so an unknown word ending in it
(برایتونسیتی) is split there when no rule reads it otherwise.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..defaults import LEXICON_MIN_COUNT
from .lexicon import TAGGED, Learned, Lexicon, with_learned
from .zwnj import LETTERS, NON_JOINING, PREFIXES, SUFFIXES, ZWNJ, _piece_reading, best_readings, split_word

# One sighting is enough, as long as no other spelling of the same letters was ever seen (RATIO):
# an entry only ever repairs those exact letters. Learned from Fars train + half of the Varzesh3
# dev split and scored on the other half, 1 recovers 0.9380 of the ZWNJ against 0.9367 for 2 and
# 0.9347 for 3, precision 0.9979 for all (bench/normalize/pieces_cv.py); applied to the 3,500
# ZWNJ-free texts of those splits, the 300 extra entries change 3 words, all rightly (یگان‌های).
MIN_COUNT = LEXICON_MIN_COUNT
RATIO = 3
# A piece (the سیتی of استوک‌سیتی, هال‌سیتی, من‌سیتی) is learned when it ends (or opens)
# PIECE_TYPES different ZWNJ compounds or more, each the usual spelling of its letters, and
# PIECE_RATIO times as many compounds as joined words that end (open) with it. Chosen by
# cross-validation on the Varzesh3 dev split (bench/normalize/pieces_cv.py).
PIECE_TYPES = 2
PIECE_RATIO = 2
PIECE_MIN = 3  # letters in a piece: two-letter halves (من, ها) are too common inside words
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
        others = sum(m for m, _ in seen) - n + (0 if _split_either_way(joined, base) else tally.joined[joined])
        if n >= min_count and n >= RATIO * others and _learnable(joined, form, base):
            entries[joined], counts[joined] = form, (n, others)
    pieces, piece_counts = learn_pieces(tally, forms)
    entries, pieces = settle(entries, base, pieces)
    # A word the stored text writes joined stays joined, whatever piece it ends or opens with.
    lex = with_learned(base, Learned(entries, pieces=pieces))
    for word, n in tally.joined.items():
        if n > sum(m for m, _ in forms.get(word, ())) and word not in entries and _piece_reading(word, lex):
            pieces[word], piece_counts[word] = word, (n, 0)
    return Learned(entries, {j: counts[j] for j in entries}, pieces, {p: piece_counts[p] for p in pieces})


def learn_pieces(tally: Tally, forms: dict[str, list[tuple[int, str]]]) -> tuple[dict, dict]:
    """First and second halves of many compounds, rarely inside a joined word: ``{"سیتی": "\u200cسیتی"}``."""
    partners: dict[str, set[str]] = collections.defaultdict(set)  # "\u200cسیتی" -> {"استوک", "هال"}
    for joined, seen in forms.items():
        n, form = max(seen)
        if n < RATIO * (sum(m for m, _ in seen) - n + tally.joined[joined]):
            continue  # not this compound's usual spelling: no evidence for its pieces
        halves = form.split(ZWNJ)
        if any(p[-1] in NON_JOINING for p in halves[:-1]):
            continue
        head, tail = halves[0], halves[-1]
        if halves[-2].endswith("می"):
            continue  # می‌/نمی‌/برمی‌ + a verb: the verb rules' business, no compound
        partners[ZWNJ + tail].add(form[: -len(tail)])
        partners[head + ZWNJ].add(form[len(head):])
    candidates = {key: len(v) for key, v in partners.items() if len(v) >= PIECE_TYPES
                  and len(key) > PIECE_MIN and key.strip(ZWNJ) not in SUFFIXES + PREFIXES + ("می", "نمی")}
    against: collections.Counter = collections.Counter()  # joined words that end (open) with a piece
    for word in tally.joined:
        for k in range(PIECE_MIN, len(word) - 1):
            # After ا د ر ... a joined word (منچسترسیتی) looks like the compound: no evidence.
            if ZWNJ + word[-k:] in candidates and word[-k - 1] not in NON_JOINING:
                against[ZWNJ + word[-k:]] += 1
            if word[:k] + ZWNJ in candidates:
                against[word[:k] + ZWNJ] += 1
    pieces, counts = {}, {}
    for key, n in candidates.items():
        if n >= PIECE_RATIO * against[key]:
            piece = key.strip(ZWNJ)
            if piece in pieces:  # a piece both first and second half: keep neither, too common
                del pieces[piece]
                continue
            pieces[piece], counts[piece] = key, (n, against[key])
    return pieces, counts


def _split_either_way(joined: str, base: Lexicon) -> bool:
    """Every reading the rules see has a ZWNJ (گلهای: گل‌های or گله‌ای), so the joined spelling
    is a ZWNJ lost, not a rival spelling: it is no evidence against the one the text writes."""
    readings = best_readings(joined, base)
    return len(readings) > 1 and joined not in readings


def _learnable(joined: str, form: str, base: Lexicon) -> bool:
    """Not a word as written (never list, a tagged word: برتر), well formed, and new to the rules."""
    if len(joined) < 3 or joined in base.never or base.stems.get(joined, (0,))[0] >= TAGGED:
        return False
    pieces = form.split(ZWNJ)
    if any(p[-1] in NON_JOINING for p in pieces[:-1]):
        return False  # a ZWNJ after ا د ذ ر ز ژ و is invisible: a typing habit, not a spelling
    return split_word(joined, base) != form


def stable(entries: dict[str, str], base: Lexicon) -> dict[str, str]:
    """Entries whose output a second pass leaves alone (repair stays idempotent with them)."""
    return settle(entries, base, {})[0]


def settle(entries: dict[str, str], base: Lexicon,
           pieces: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Entries and pieces whose output a second pass leaves alone (repair stays idempotent).

    A piece of an entry's form must not split again, a learned word must not be a piece of a
    packaged compound (that compound's output would split on the next pass), and a learned
    piece must not cut a piece of a packaged or learned compound.
    """
    packaged = {p for form in base.compounds.values() for p in form.split(ZWNJ)}
    entries = {j: f for j, f in entries.items() if j not in packaged}
    pieces = dict(pieces)
    for _ in range(5):
        lex = with_learned(base, Learned(entries, pieces=pieces))
        kept = {j: f for j, f in entries.items()
                if not any(split_word(p, lex) for p in f.split(ZWNJ))}
        words = packaged | {p for f in kept.values() for p in f.split(ZWNJ)}
        cutting = {_cut_piece(w, lex) for w in words if _piece_reading(w, lex)}
        kept_pieces = {p: f for p, f in pieces.items() if p not in cutting}
        if kept == entries and kept_pieces == pieces:
            return kept, kept_pieces
        entries, pieces = kept, kept_pieces
    return {}, {}  # never seen: entries that keep unsettling each other are all dropped


def _cut_piece(word: str, lex: Lexicon) -> str:
    """The learned piece _piece_reading cut ``word`` at (its one cut)."""
    (form,) = _piece_reading(word, lex)
    head, tail = form.split(ZWNJ)
    return tail if tail in lex.tails else head


def write_learned(path: Path, learned: Learned, note: str = "") -> None:
    """The learned lexicon as a file (sorted, so the same spellings give the same bytes)."""
    lines = [HEADER, "# joined form<TAB>form with ZWNJ<TAB>times seen so<TAB>times seen otherwise",
             "# piece<TAB>ZWNJ+piece or piece+ZWNJ<TAB>compounds<TAB>joined words; word<TAB>word: kept joined",
             f"# version {learned.version}" + (f"; {note}" if note else "")]
    for joined, form in sorted(learned.entries.items()):
        n, others = learned.counts.get(joined, (0, 0))
        lines.append(f"{joined}\t{form}\t{n}\t{others}")
    for piece, form in sorted(learned.pieces.items()):  # pieces, then joined words kept as written
        n, others = learned.piece_counts.get(piece, (0, 0))
        lines.append(f"{piece}\t{form}\t{n}\t{others}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_learned(path: Path, base: Lexicon) -> Learned:
    """A learned lexicon file, checked line by line; unstable entries are dropped as ``learn`` would."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"learned lexicon {path}: cannot read it ({exc.__class__.__name__}: {exc})") from exc
    if not text.startswith(HEADER):
        raise LexiconError(f"learned lexicon {path}: not a learned lexicon (first line must be {HEADER!r})")
    entries, pieces, counts = {}, {}, {}
    for number, line in enumerate(text.splitlines(), 1):
        if line and not line.startswith("#"):
            joined, form, n, others = _entry(path, number, line)
            (pieces if form.strip(ZWNJ) == joined else entries)[joined] = form  # a piece or kept word
            counts[joined] = (n, others)
    entries, pieces = settle(entries, base, pieces)
    return Learned(entries, {j: counts[j] for j in entries}, pieces, {p: counts[p] for p in pieces})


def _entry(path: Path, number: int, line: str) -> tuple[str, str, int, int]:
    fields = line.split("\t")
    where = f"learned lexicon {path}, line {number}"
    if len(fields) != 4 or not fields[2].isdigit() or not fields[3].isdigit():
        raise LexiconError(f"{where}: expected joined<TAB>form<TAB>count<TAB>count, got {line[:60]!r}")
    joined, form = fields[0], fields[1]
    if form in (ZWNJ + joined, joined + ZWNJ, joined) and _TOKEN.fullmatch(joined) and ZWNJ not in joined:
        return joined, form, int(fields[2]), int(fields[3])  # a piece (‌سیتی, من‌) or a word kept joined
    if ZWNJ not in form or form.replace(ZWNJ, "") != joined or not _TOKEN.fullmatch(form):
        raise LexiconError(f"{where}: {form!r} is not {joined!r} with ZWNJ between letters")
    return joined, form, int(fields[2]), int(fields[3])
