"""The ZWNJ-repair lexicon: data files under ``etl/clean/data/``, read once on first use, plus an
optional learned lexicon (``etl/clean/learn.py``) laid over them.

The files are derived from hazm's word list (MIT, see ``data/NOTICE``) and real news text by
``bench/normalize/build_lexicon.py``; this module only reads them. Which lexicon the repair
uses is chosen once, at the edge (``etl.clean.text.use_learned_lexicon``), never from here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

# Suffixes a verb form takes after a present stem (می‌روم) and after a past stem (می‌رفتم).
PRESENT_ENDINGS = ("م", "ی", "د", "یم", "ید", "ند")
PAST_ENDINGS = ("", "م", "ی", "یم", "ید", "ند")
# "می‌توان"/"نمی‌توان" is the one bare present stem news text uses after می.
BARE_PRESENT = ("توان",)

# Stem strength: how sure we are the stem is a real word; a split needs one clear winner.
# The frequency class of a stem is round(4 * log10(frequency + 1)) from hazm's counts, -1 unknown.
WEAK, SEEN, TAGGED = 1, 2, 3


@dataclass(frozen=True)
class Lexicon:
    """Everything the repair rules look up; built from data files, or in memory by the generator."""

    compounds: dict[str, str]          # joined form -> form with ZWNJ: نخستوزیر -> نخست‌وزیر
    stems: dict[str, tuple[int, str, int]]  # word -> (strength, flags: n noun a adjective p plural, freq class)
    never: frozenset[str]              # joined forms that are words as written: میدان, بیشتر
    verb_forms: frozenset[str]         # what may follow می/نمی: دهند, رفتم, توان
    participles: frozenset[str]        # past stem + ه: کرده, رفته (take اند/ایم/ام with ZWNJ)
    # Pieces learned from stored text (learn.py): a first half (من in من‌سیتی) and a second half
    # (سیتی) of many ZWNJ compounds; an unseen word ending or starting so may be split there.
    heads: frozenset[str] = frozenset()
    tails: frozenset[str] = frozenset()
    # Compounds (joined forms) whose pieces written apart are a spelling of their own (رئیس جمهور,
    # تیم ملی, به طور): a space between them is the writer's, not a lost ZWNJ (zwnj.join_spaced).
    apart: frozenset[str] = frozenset()


def verb_tables(pairs: list[tuple[str, str]]) -> tuple[frozenset[str], frozenset[str]]:
    """Verb forms and participles from (past, present) stems: ("داد", "ده") -> {"دهند", ...}, {"داده"}."""
    forms = set(BARE_PRESENT)
    participles = set()
    for past, present in pairs:
        if present:
            forms.update(present + end for end in PRESENT_ENDINGS)
        if past:
            forms.update(past + end for end in PAST_ENDINGS)
            participles.update((past + "ه", "ن" + past + "ه"))
    return frozenset(forms), frozenset(participles)


@cache
def load() -> Lexicon:
    """The packaged lexicon, read once per process (about 0.1 s; see bench/normalize)."""
    data = resources.files("etl.clean") / "data"
    compounds = dict(_rows(data / "zwnj_lexicon.txt", 2))
    stems = {w: (int(s), flags, int(f)) for w, s, flags, f in _rows(data / "stems.txt", 4)}
    never = frozenset(word for (word,) in _rows(data / "never_split.txt", 1))
    forms, participles = verb_tables(list(_rows(data / "verb_stems.txt", 2)))
    apart = frozenset(word for (word,) in _rows(data / "apart.txt", 1))
    return Lexicon(compounds, stems, never, forms, participles, apart=apart)


def _rows(path, width: int):
    """Tab-separated rows of a data file, comments (#) and blank lines skipped."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            yield tuple(line.split("\t", width - 1)) if width > 1 else (line,)


@dataclass(frozen=True)
class Learned:
    """Spellings learned from stored text: joined form -> form with ZWNJ (تیمملی -> تیم‌ملی)."""

    entries: dict[str, str]
    # joined form -> (times written as the entry, times written otherwise): the evidence.
    counts: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)
    # Learned pieces, as written in the file: "سیتی" -> "\u200cسیتی" (a second half), "من" ->
    # "من\u200c" (a first half), and the joined words stored text writes so that a piece would
    # cut ("الکتریسیتی" -> itself: left as written). Counts: (compounds with the piece, joined
    # words ending or opening with it), or for a joined word (times seen joined, 0).
    pieces: dict[str, str] = field(default_factory=dict)
    piece_counts: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    @property
    def version(self) -> str:
        """12 hex digits of SHA-256 over the sorted entries and pieces: same spellings, same version."""
        digest = hashlib.sha256()
        for joined, form in sorted(self.entries.items()):
            digest.update(f"{joined}\t{form}\n".encode("utf-8"))
        for piece, form in sorted(self.pieces.items()):  # none: the version of a file without pieces
            digest.update(f"piece\t{form}\n".encode("utf-8"))
        return digest.hexdigest()[:12]

    @property
    def heads(self) -> frozenset[str]:
        return frozenset(p for p, f in self.pieces.items() if f.endswith("\u200c"))

    @property
    def tails(self) -> frozenset[str]:
        return frozenset(p for p, f in self.pieces.items() if f.startswith("\u200c"))

    @property
    def kept(self) -> frozenset[str]:
        return frozenset(p for p, f in self.pieces.items() if f == p)


def with_learned(base: Lexicon, learned: Learned | None) -> Lexicon:
    """``base`` with the learned spellings added; an entry never overrides the never list."""
    if not learned or not (learned.entries or learned.pieces):
        return base
    extra = {j: f for j, f in learned.entries.items() if j not in base.never}
    return replace(base, compounds={**base.compounds, **extra}, never=base.never | learned.kept,
                   heads=base.heads | learned.heads, tails=base.tails | learned.tails)


_ACTIVE: dict[str, Lexicon] = {}


def active() -> Lexicon:
    """The lexicon the repair uses now: the packaged one, or the one ``use`` installed."""
    return _ACTIVE.get("lexicon") or load()


def apart(joined: str) -> bool:
    """Whether the pieces of the compound ``joined`` written apart are a phrase of their own in
    the lexicon in use: ``"ایرانامروز"`` ("Iran today") -> True."""
    return joined in active().apart


def use(lexicon: Lexicon | None) -> None:
    """Install ``lexicon`` for every later repair in this process (None: the packaged one)."""
    _ACTIVE.pop("lexicon", None)
    if lexicon is not None:
        _ACTIVE["lexicon"] = lexicon
