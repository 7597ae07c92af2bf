"""Words as the terms analysis counts them: folded (one spelling per letter and digit, ZWNJ
compounds kept whole), Persian stopwords left out, inflected forms merged under one key.

Pure functions over stored (normalized) text; no database, no clock.

* Stopwords: hazm's list (``data/stopwords-fa.txt``, MIT, see ``data/SOURCE.md``), folded the
  same way, with and without their ZWNJ (``می‌شود`` and ``میشود``).
* Inflections: a suffix written after a ZWNJ is dropped when it is a plural, comparative,
  ezafe or pronoun ending (``تحریم‌ها`` -> ``تحریم``, ``بزرگ‌ترین`` -> ``بزرگ``, ``خانه‌ی`` ->
  ``خانه``); a plural or comparative ending written joined is dropped only when what is left is
  itself a word of the same texts and the whole is no dictionary word of its own (``کشورها`` ->
  ``کشور`` when ``کشور`` occurs; ``تنها``, ``برتر``, ``دفتر`` stay: hazm tags them as words).
  Verbs (``می``/``نمی`` + stem) are left as written: their person endings are not inflections
  of a topic. Snowball's Persian stemmer (PyStemmer) was measured and not used: it cuts words
  to non-words and merges different ones (``دانشگاه`` -> ``دانش``, ``تحریم`` -> ``تحر``,
  ``ایرانی`` -> ``ایر``) while leaving ``نماینده`` and ``نمایندگان`` apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..clean.fold import fold
from ..clean.lexicon import TAGGED, load
from ..clean.zwnj import COMPARATIVE, PLURAL

ZWNJ = "\u200c"
STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords-fa.txt"
# Endings dropped after a ZWNJ: plural, comparative, after a silent ه (ezafe, indefinite,
# pronouns), the ezafe ی, and the plural pronouns.
APART = frozenset(PLURAL + COMPARATIVE + ("ای", "ام", "ات", "اش", "ی", "یی", "شان", "مان", "تان"))
# Endings dropped when written joined, if the rest is a word of the same texts.
JOINED = tuple(sorted(set(PLURAL + ("ترین", "تر")), key=len, reverse=True))
VERB_PREFIXES = ("می", "نمی")
# A clause ends at these: no two-word phrase spans them.
CLAUSE_MARKS = frozenset(".!?؟،؛:;,«»()[]{}\"“”…")
# What surrounds a word without being part of it: punctuation, symbols, quotes.
_LEAD = re.compile(r"[^\w\u200c]*")
_TRAIL = re.compile(r"[^\w\u200c]*$")
_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The folded stopwords, each with and without its ZWNJ."""
    out: set[str] = set()
    for line in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines():
        for raw in words(line):
            word = folded(raw)
            out.update((word, word.replace(ZWNJ, "")))
    return frozenset(out)


def is_stopword(word: str) -> bool:
    """``"می‌شود"`` -> True, ``"میشود"`` -> True, ``"تحریم"`` -> False."""
    stop = stopwords()
    return word in stop or word.replace(ZWNJ, "") in stop


def words(text: str) -> list[str]:
    """A text's tokens as written, split at white space (punctuation still on them):
    ``"تحریم‌ها، علي"`` -> ``["تحریم‌ها،", "علي"]``. ``token`` reads each distinct one once."""
    return text.split()


@dataclass(frozen=True, slots=True)
class Token:
    surface: str  # the word as written, without the punctuation around it: تحریم‌ها
    word: str | None  # its search folding, ZWNJ kept (None: a token that is no single word)
    opens: bool  # a clause mark before it
    closes: bool  # a clause mark after it


@lru_cache(maxsize=200_000)
def token(raw: str) -> Token:
    """``"«تحریم‌ها،"`` -> ``Token("تحریم‌ها", "تحریم‌ها", opens=True, closes=True)``; ``"علي"`` ->
    ``Token("علي", "علی", False, False)``."""
    if raw.isalpha():  # most tokens: letters only, nothing around them
        word = folded(raw)
        return Token(raw, word if word and " " not in word else None, False, False)
    lead = _LEAD.match(raw).group()
    trail = _TRAIL.search(raw, len(lead)).group()
    surface = raw[len(lead):len(raw) - len(trail)].strip(ZWNJ)
    opens, closes = not CLAUSE_MARKS.isdisjoint(lead), not CLAUSE_MARKS.isdisjoint(trail)
    word = folded(surface)
    return Token(surface, word if word and " " not in word else None, opens, closes)


def folded(word: str) -> str:
    """Search folding (etl/clean/fold.py) of one word, its ZWNJ kept: ``"علي"`` -> ``"علی"``."""
    return ZWNJ.join(p for p in (fold(part) for part in word.split(ZWNJ)) if p)


def countable(word: str) -> bool:
    """A (folded) word worth counting: two letters or more, no digit, not a stopword."""
    return len(word.replace(ZWNJ, "")) >= 2 and not _DIGIT.search(word) and not is_stopword(word)


@lru_cache(maxsize=200_000)
def base(word: str) -> str:
    """The word without the endings written after a ZWNJ, and without its ZWNJ, so every
    spelling of one form is one key: ``"تحریم‌ها"`` -> ``"تحریم"``, ``"رئیس‌جمهور"`` ->
    ``"رئیسجمهور"``, ``"می‌گویند"`` -> ``"میگویند"`` (a verb keeps its endings)."""
    parts = [p for p in word.split(ZWNJ) if p]
    if parts and parts[0] not in VERB_PREFIXES:
        while len(parts) > 1 and parts[-1] in APART:
            parts.pop()
    return "".join(parts)


def merged(key: str, known: frozenset[str] | set[str]) -> str:
    """A key with a joined plural or comparative ending dropped when the rest is a known key
    and the whole no dictionary word: ``("کشورهای", {"کشور"})`` -> ``"کشور"``;
    ``("تنها", {"تن"})`` -> ``"تنها"`` (hazm tags تنها as a word); ``("تقاضای", {"تقاضا"})`` ->
    ``"تقاضا"``."""
    if _is_word(key):
        return key
    for ending in JOINED:
        if key.endswith(ending):
            stem = key[:-len(ending)]
            if len(stem) >= 2 and stem in known:
                return stem
    # The ezafe after a long vowel is a joined ی: تقاضای -> تقاضا, آمریکای -> آمریکا.
    if key.endswith(("ای", "وی")) and len(key) >= 4 and key[:-1] in known:
        return key[:-1]
    return key


# hazm tags some inflected forms as words (تقاضای, with a frequency of 0): a tagged word is a
# word of its own only when hazm saw it at least about 100 times (frequency class 8).
WORD_CLASS = 8


@lru_cache(maxsize=200_000)  # as token(): read once per distinct key, not once per call of keys()
def _is_word(key: str) -> bool:
    """Whether hazm's lexicon has the joined form as a word in its own right: ``"تنها"`` -> True."""
    lexicon = load()
    entry = lexicon.stems.get(key)
    return key in lexicon.never or (entry is not None and entry[0] >= TAGGED and entry[2] >= WORD_CLASS)


def keys(distinct: Iterable[str]) -> dict[str, tuple[Token, str | None]]:
    """Per distinct token, what it is and its key (``merged(base(word))`` over the vocabulary of
    these tokens), or None for a token not counted (a stopword, a number, punctuation): the
    table a document's tokens are looked up in, built once per distinct token rather than per
    occurrence."""
    read = {raw: token(raw) for raw in distinct}
    counted = {raw: t.word for raw, t in read.items() if t.word and countable(t.word)}
    known = {base(w) for w in counted.values()}
    table: dict[str, tuple[Token, str | None]] = {}
    for raw, t in read.items():
        key = merged(base(counted[raw]), known) if raw in counted else None
        # A merged key that is a stopword (آنها -> آن) is not counted either.
        table[raw] = (t, None if key is None or is_stopword(key) else key)
    return table
