"""Stems for search: an inflected noun or adjective to the word a dictionary lists.

``"خبرنگاران"`` -> ``"خبرنگار"``, ``"دانشجویان"`` -> ``"دانشجو"``, ``"نمایندگان"`` -> ``"نماینده"``,
``"کشورهای"`` -> ``"کشور"``, ``"بزرگترین"`` -> ``"بزرگ"``. Only inflections are taken off (the
plurals ها, ان, یان, گان, the ezafe after a vowel, the possessives ش/شان/مان/تان, the comparative
of a gradable adjective), and only when what is left is a noun or an adjective hazm lists while
the word itself is not: a word of its own stays whole, however it ends (``باران`` is rain, not
loads; ``میزان``, ``سپاهان``, ``مردم``, ``استان``). Derivations stay apart: ``ایرانی`` is not
``ایران``, ``بیماری`` not ``بیمار``. Snowball's Persian stemmer (PyStemmer) was measured against
this on the same articles (bench/search/stems.py): it keeps ``خبرنگاران`` whole and cuts
``ایرانی`` to ``ایر``.

Pure: a folded word in, a folded word out; the packaged lexicon (never a learned one, so the
stems a database holds do not depend on which lexicon cleaned the text), read once.
"""

from __future__ import annotations

from functools import lru_cache

from . import lexicon
from .lexicon import TAGGED

__all__ = ["STEM_VERSION", "stem"]

# Bump when stem() changes what it returns: stored search documents hold stems (etl/load/migrate.py).
STEM_VERSION = 1

# Inflections, longest first within each kind; each is tried where its base condition holds.
_PLURAL = ("هایشان", "هایتان", "هایمان", "هاشان", "هاتان", "هامان", "هایی", "هایم", "هایت", "هایش", "هاست",
           "های", "ها")
_ANIMATE = ("ان",)                 # خبرنگاران, بیماران (after a consonant; یان after a vowel)
_CLITICS = ("شان", "مان", "تان", "ش")  # کتابش, کشورمان (not م, ت: مردم, کارت are words)
_COMPARATIVE = ("ترین", "تر")
_VOWELS = "او"


def stem(word: str) -> str:
    """The dictionary word ``word`` inflects, or ``word``: ``"خبرنگاران"`` -> ``"خبرنگار"``."""
    return _stem(word) if len(word) > 3 else word


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    lex = lexicon.load()
    if _word(word, lex):
        return word
    for base in _bases(word, lex):
        if _content(base, lex) or (_plural(word, base) and base in lex.stems):
            return base
        for inner in _bases(base, lex):  # two inflections: خبرنگارانش, کشورهایشان is one
            if _content(inner, lex):
                return inner
    return word


def _plural(word: str, base: str) -> bool:
    """ها after ``base``: a plural whatever the base (تیمها: تیم is no word hazm tags, but the
    outlets write it on its own), where ان or ی could end many a word of its own."""
    return word[len(base):].startswith("ها")


def _bases(word: str, lex: lexicon.Lexicon):
    """What ``word`` may inflect, one inflection off: ``"دانشجویان"`` -> ``"دانشجو"``, ..."""
    for end in _PLURAL + _CLITICS:
        if word.endswith(end) and len(word) - len(end) >= 2:
            yield word[: -len(end)]
    if word.endswith("گان") and len(word) >= 6:
        yield word[:-3] + "ه"  # نمایندگان, ستارگان: the ه of the singular becomes گ
    if word.endswith("یان") and word[-4:-3] in _VOWELS:
        yield word[:-3]  # دانشجویان, آقایان
    elif word.endswith(_ANIMATE) and word[-3:-2] not in _VOWELS:
        yield word[:-2]  # خبرنگاران, مربیان (ایرانیان is ایرانی's, a word hazm does not list)
    if word.endswith("ی") and word[-2:-1] in _VOWELS:
        yield word[:-1]  # the ezafe after a vowel: دانشجوی, نیروی
    for end in _COMPARATIVE:
        if word.endswith(end) and "g" in lex.stems.get(word[: -len(end)], (0, "", -1))[1]:
            yield word[: -len(end)]


def _word(word: str, lex: lexicon.Lexicon) -> bool:
    """A word hazm lists is a word of its own, whatever it ends with (باران, میزان, مردم)."""
    return lex.stems.get(word, (0,))[0] >= TAGGED


def _content(word: str, lex: lexicon.Lexicon) -> bool:
    """A noun or an adjective: tagged so by hazm, or a packaged compound (دانشآموز)."""
    strength, flags, _ = lex.stems.get(word, (0, "", -1))
    return (strength >= TAGGED and ("n" in flags or "a" in flags) and len(word) >= 2) or word in lex.compounds
