"""The ZWNJ-repair lexicon: data files under ``etl/clean/data/``, read once on first use.

The files are derived from hazm's word list (MIT, see ``data/NOTICE``) and real news text by
``bench/normalize/build_lexicon.py``; this module only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    return Lexicon(compounds, stems, never, forms, participles)


def _rows(path, width: int):
    """Tab-separated rows of a data file, comments (#) and blank lines skipped."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            yield tuple(line.split("\t", width - 1)) if width > 1 else (line,)
