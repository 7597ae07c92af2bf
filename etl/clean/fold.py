"""Search folding: one lossy spelling per word, applied to documents and queries alike.

``fold`` is not ``normalize_text``. Normalizing keeps text readable (ZWNJ, Persian digits,
punctuation); folding throws away whatever would stop two spellings of a word from matching:
``"می‌شود ۱۴۰۴، علي"`` -> ``"می شود 1404 علی"``. A ZWNJ becomes a space on purpose, so
``می‌شود`` folds to the two words ``می شود`` and a query for either spelling matches both.

``fold_query`` turns a user query into ``Term`` s (words that must appear adjacently), and
``snippet`` marks those terms in the original, unfolded text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .text import normalize_text

__all__ = ["Term", "fold", "fold_query", "fold_with_offsets", "snippet"]

ZWNJ = "\u200c"

# Arabic letters an Arabic keyboard or old web text uses where Persian has its own: one spelling.
# ئ (U+0626) stays: it is a letter of Persian words (رئیس, مسئول) and folding it to ی would
# merge words a reader tells apart. آ stays for the same reason (آب is not اب).
_LETTERS = {
    "\u064a": "ی", "\u0649": "ی", "\u0643": "ک", "\u0629": "ه", "\u06d5": "ه",
    "\u0623": "ا", "\u0625": "ا", "\u0671": "ا", "\u0624": "و",
    # ۀ is ه + hamza above, written as one letter or as two (ه + U+0654, a mark removed below).
    "\u06c0": "ه",
}

# Harakat, superscript alef and kashida only vocalize or stretch a word.
_REMOVED = {chr(cp) for cp in range(0x064B, 0x0660)} | {"\u0670", "\u0640"}

# A soft hyphen is a hyphenation hint inside a word: a space there would split the word.
_REMOVED_FORMAT = {"\u00ad"}

# Arabic presentation forms (ﻻ ﺑ ﷲ) come from PDF copy-paste; NFKC turns them into letters.
_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]")

# Categories that separate words: spaces, controls, format characters (ZWNJ, ZWJ, bidi marks),
# punctuation (، ؛ ؟ « » and ASCII) and symbols.
_SEPARATOR_CATEGORIES = ("Z", "C", "P", "S")


@dataclass(frozen=True)
class Term:
    """Folded words that must appear adjacently, in order: ``Term(("می", "شود"), True)``.

    ``phrase`` is true for a quoted query part and for a single token that folds to several
    words; a one-word unquoted term has ``phrase=False``.
    """

    words: tuple[str, ...]
    phrase: bool


def fold(text: str) -> str:
    """Search spelling of a text: ``"می‌شود، علي ۱۴۰۴"`` -> ``"می شود علی 1404"``."""
    return " ".join(text.translate(_FOLD_TABLE).split())


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold`` plus, per folded character, the index of the original character it came from.

    ``"می‌شود"`` -> ``("می شود", [0, 1, 2, 3, 4, 5])``: the space comes from the ZWNJ at 2.
    """
    chars: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        for out in _fold_char(char):
            # Spaces collapse: none at the start, never two in a row.
            if out == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(out)
            origins.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        origins.pop()
    return "".join(chars), origins


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """Search spelling of one character: ``"ي"`` -> ``"ی"``, ``"۴"`` -> ``"4"``, ``"،"`` -> ``" "``."""
    if char in _LETTERS:
        return _LETTERS[char]
    if char in _REMOVED or char in _REMOVED_FORMAT:
        return ""
    if _PRESENTATION.match(char):
        letters = unicodedata.normalize("NFKC", char)
        # Unassigned code points in the range normalize to themselves: fold those like any other.
        if letters != char:
            return "".join(_fold_char(c) for c in letters)
    digit = unicodedata.digit(char, None)
    if digit is not None:
        # Persian, Arabic-Indic and every other script's digits (and ² ①) read as ASCII.
        return str(digit)
    if unicodedata.category(char)[0] in _SEPARATOR_CATEGORIES:
        return " "
    return char.casefold()


class _FoldTable(dict):
    """``str.translate`` table filled on first use of each code point, from ``_fold_char``."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        # Bounded, so text made of every code point cannot grow the table without end;
        # past the bound a character is folded again each time it is met.
        if len(self) < 65536:
            self[codepoint] = folded
        return folded


_FOLD_TABLE = _FoldTable()

# A quoted phrase ("...", «...» or “...”), else a run of unquoted tokens (normalized as one text).
_QUERY_PART = re.compile(
    r'"(?P<q1>[^"]*)"|«(?P<q2>[^»]*)»|“(?P<q3>[^”]*)”'
    r'|(?P<free>[^\s"«»“”]+(?:\s+[^\s"«»“”]+)*)'
)


def fold_query(query: str) -> list[Term]:
    """Terms of a user query: ``'"وزارت خارجه" میشود'`` ->
    ``[Term(("وزارت", "خارجه"), True), Term(("می", "شود"), True)]``.
    """
    terms: list[Term] = []
    for match in _QUERY_PART.finditer(query):
        free = match.group("free")
        if free is None:
            quoted = match.group("q1") or match.group("q2") or match.group("q3") or ""
            terms.append(_term(normalize_text(quoted), phrase=True))
        else:
            terms.extend(_free_terms(free))
    return _unique(term for term in terms if term.words)


def _free_terms(text: str) -> list[Term]:
    """Unquoted query text, one term per token: ``"میشود علي"`` -> ``[("می","شود") phrase, ("علی",)]``.

    The whole run is normalized before it is split, so the normalizer can join ``می شود``
    into ``می‌شود`` (one token, one phrase) exactly as it does in a stored article.
    """
    return [_term(token, phrase=False) for token in _compounds(normalize_text(text).split())]


def _compounds(tokens: list[str]) -> list[str]:
    """Tokens, with those that spell a known compound when joined, joined by a ZWNJ.

    ``["رئیس", "جمهور", "گفت"]`` -> ``["رئیس‌جمهور", "گفت"]``. The normalizer does not join two
    words written apart (that is often wrong in prose), but a searcher who types ``رئیس جمهور``
    means the compound, and must get the same term as for ``رئیس‌جمهور`` and ``رئیسجمهور``.
    """
    out: list[str] = []
    for token in tokens:
        if out and _is_compound(out[-1], token):
            out[-1] += ZWNJ + token
        else:
            out.append(token)
    return out


def _is_compound(left: str, right: str) -> bool:
    """Whether the normalizer splits ``left + right`` exactly there: ``("رئیس", "جمهور")`` -> True."""
    return normalize_text(left + right) == left + ZWNJ + right


def _term(normalized: str, phrase: bool) -> Term:
    """One folded term from normalized text: ``"می‌شود"`` -> ``Term(("می", "شود"), True)``."""
    words = tuple(fold(normalized).split())
    # A token that folds to several words only matches where those words are adjacent.
    return Term(words, phrase or len(words) > 1)


def _unique(terms) -> list[Term]:
    """Terms in first-seen order without repeats: ``[a, b, a]`` -> ``[a, b]``."""
    return list(dict.fromkeys(terms))


def snippet(text: str, terms: list[Term], width: int = 160, mark: tuple[str, str] = ("«", "»")) -> str:
    """A window of the original text around the first hit, hits marked.

    ``snippet("گفت: این کار انجام می‌شود.", fold_query("میشود"))`` ->
    ``"گفت: این کار انجام «می‌شود»."``. Without a hit: the first ``width`` characters.
    """
    hits = _hits(text, terms)
    first = hits[0] if hits else (0, 0)
    start, end = _window(text, first, width)
    shown = [(s, e) for s, e in hits if start <= s and e <= end]
    body = _marked(text, start, end, shown, mark)
    prefix = "…" if text[:start].strip() else ""
    suffix = "…" if text[end:].strip() else ""
    return prefix + " ".join(body.split()) + suffix


def _hits(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Original ``(start, end)`` of every term hit, found on the folded text.

    ``("کار می‌شود", [Term(("می", "شود"), True)])`` -> ``[(4, 10)]``.
    """
    pattern = _terms_pattern(terms)
    if pattern is None:
        return []
    folded, origins = fold_with_offsets(text)
    return [_original_span(text, origins, m.start(), m.end()) for m in pattern.finditer(folded)]


def _terms_pattern(terms: list[Term]) -> re.Pattern | None:
    """Whole-word regex for the terms on folded text: ``[("می","شود")]`` -> ``(?<!\\S)(?:می\\ شود)(?!\\S)``."""
    phrases = sorted({" ".join(term.words) for term in terms if term.words}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, phrases)) + r")(?!\S)")


def _original_span(text: str, origins: list[int], start: int, end: int) -> tuple[int, int]:
    """Folded ``[start, end)`` back to the original, with marks trailing the last letter kept.

    In ``"شودَ"`` the fatha folds to nothing but belongs to the word: the span covers it.
    """
    original_end = origins[end - 1] + 1
    while original_end < len(text) and _fold_char(text[original_end]) == "":
        original_end += 1
    return origins[start], original_end


def _window(text: str, hit: tuple[int, int], width: int) -> tuple[int, int]:
    """About ``width`` characters holding the hit, cut between words.

    The hit sits a third of the way in: a reader wants more of what follows it.
    """
    hit_start, hit_end = hit
    spare = max(0, width - (hit_end - hit_start))
    start = max(0, hit_start - spare // 3)
    end = min(len(text), max(start + width, hit_end))
    start = max(0, min(start, end - width))
    return _word_start(text, start, hit_start), _word_end(text, end, hit_end)


_SPACE = re.compile(r"\s+")


def _word_start(text: str, start: int, limit: int) -> int:
    """``start`` moved forward, at most to ``limit``, off a cut word: ``("ab cd", 1, 5)`` -> ``3``."""
    if start == 0 or text[start - 1].isspace():
        return start
    space = _SPACE.search(text, start, limit)
    return space.end() if space else start


def _word_end(text: str, end: int, limit: int) -> int:
    """``end`` moved back, at most to ``limit``, off a cut word: ``("ab cd", 4, 0)`` -> ``2``."""
    if end == len(text) or text[end].isspace():
        return end
    spaces = list(_SPACE.finditer(text, limit, end))
    return spaces[-1].start() if spaces else end


def _marked(text: str, start: int, end: int, hits: list[tuple[int, int]], mark: tuple[str, str]) -> str:
    """``text[start:end]`` with each hit wrapped: ``("a bc d", 0, 6, [(2, 4)])`` -> ``"a «bc» d"``."""
    out: list[str] = []
    cursor = start
    for hit_start, hit_end in hits:
        out += [text[cursor:hit_start], mark[0], text[hit_start:hit_end], mark[1]]
        cursor = hit_end
    out.append(text[cursor:end])
    return "".join(out)
