"""Search folding: one lossy spelling per word, applied to documents and queries alike.

``fold`` is not ``normalize_text``. Normalizing keeps text readable (ZWNJ, Persian digits,
punctuation); folding throws away whatever would stop two spellings of a word from matching:
``"می‌شود ۱۴۰۴، علي"`` -> ``"می شود 1404 علی"``. A ZWNJ becomes a space on purpose, so
``می‌شود`` folds to the two words ``می شود`` and a query for either spelling matches both.

``fold_document`` is what search indexes (the folded words, then each ZWNJ compound joined, then
the stem of each inflected word, marked: ``ـخبرنگار`` for ``خبرنگاران``), ``fold_query`` turns a
user query into ``Term`` s (words that must appear adjacently, with the spellings a dropped or
misplaced ZWNJ gives them), ``stem_spellings`` gives a one-word term the spellings that match the
word's other forms; etl/clean/snippet.py shows the hits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .lexicon import apart
from .stem import stem
from .text import normalize_text

__all__ = ["DOCUMENT_BYTES", "MAX_WORDS", "STEM_MARK", "QueryTooLong", "Term", "document", "fold",
           "fold_document", "fold_fields", "fold_query", "fold_parts", "fold_with_offsets", "indexed_document",
           "search_tokens", "stem_spellings", "vanishes"]

ZWNJ = "\u200c"
# Marks a stem in a search document: "ـخبرنگار" stands for خبرنگاران, خبرنگارانش ... Folding
# removes the kashida from every text and query, so no word of either can ever equal a marked stem,
# and both PostgreSQL's parser and SQLite's unicode61 tokenizer keep it as part of the word.
STEM_MARK = "\u0640"

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
    words; a one-word unquoted term has ``phrase=False``. ``variants`` are other spellings of
    the same term, each a word sequence that must appear adjacently; the term matches where
    its words or any variant do: ``Term(("می", "شود"), True, (("میشود",),))``.
    """

    words: tuple[str, ...]
    phrase: bool
    variants: tuple[tuple[str, ...], ...] = ()

    @property
    def spellings(self) -> tuple[tuple[str, ...], ...]:
        """The words first, then each variant: what a search ORs together for this term."""
        return (self.words, *self.variants)


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


# The fold table, except that a ZWNJ stays, so ``fold_document`` can see compounds.
_KEEP_ZWNJ_TABLE = _FoldTable({0x200C: ZWNJ})


def fold_document(text: str) -> str:
    """What search indexes for a text: its folded words, then each ZWNJ compound once, joined,
    then the stem of each inflected word once, marked (``STEM_MARK``).

    ``"حرف‌هایشان را گفتند"`` -> ``"حرف هایشان را گفتند حرفهایشان ـحرف"``. The parts match a
    query typed with a ZWNJ or a space, the joined form one typed without either (``حرفهایشان``),
    which the normalizer cannot always split (``حرفهای`` is حرف‌های or حرفه‌ای); the stems match
    a query for another form of the word (``خبرنگار`` finds ``خبرنگاران``). Both go after the
    text so that phrases keep their adjacency.
    """
    return indexed_document(*fold_parts(text))


# PostgreSQL refuses a tsvector over 1 MiB ("string is too long for tsvector"), and one article of
# 250,000 distinct words failed its whole batch on every poll. A tsvector takes at most about three
# times its document's bytes (short distinct words: 2.84 times, measured), so what search indexes
# is cut at 256 KiB; the stored body is never cut. Both databases index the same document.
DOCUMENT_BYTES = 256 * 1024


def document(words: list[str], joined: list[str], limit: int = DOCUMENT_BYTES) -> str:
    """``words`` then ``joined``, space-separated, in at most ``limit`` UTF-8 bytes: past it, the
    words that fit in three quarters of it (the text's start: title, summary, lead), then the
    joined compounds that fit in the rest. Under the limit (every ordinary article) it is the
    plain join: ``(["حرف", "ها"], ["حرفها"])`` -> ``"حرف ها حرفها"``."""
    text = " ".join(words + joined)
    if len(text) * 4 <= limit or len(text.encode("utf-8", "surrogatepass")) <= limit:
        return text
    kept = _fitting(words, limit * 3 // 4)
    return " ".join(kept + _fitting(joined, limit - len(" ".join(kept).encode("utf-8", "surrogatepass")) - 1))


def _fitting(words: list[str], room: int) -> list[str]:
    """The longest prefix of ``words`` whose join takes at most ``room`` bytes."""
    used, count = -1, 0
    for word in words:
        used += len(word.encode("utf-8", "surrogatepass")) + 1
        if used > room:
            break
        count += 1
    return words[:count]


def indexed_document(words: list[str], joined: list[str]) -> str:
    """``search_tokens`` as one text within ``DOCUMENT_BYTES``: the words first, then the joined
    compounds and marked stems in what is left (``document``)."""
    tokens = search_tokens(words, joined)
    return document(words, tokens[len(words):])


def search_tokens(words: list[str], joined: list[str]) -> list[str]:
    """A document's words, its compounds joined, and the marked stems of its inflected words:
    ``(["خبرنگاران", "گفتند"], [])`` -> ``["خبرنگاران", "گفتند", "ـخبرنگار"]``.

    A stem the document also holds as a word needs no mark (a query for any form matches the
    stem itself too: ``stem_spellings``), nor does one of two letters (آن of آنها): about 2.6
    stems for every 100 distinct words of the real articles, not 5.9.
    """
    present = set(words) | set(joined)
    stems = dict.fromkeys(STEM_MARK + root for word in dict.fromkeys(words + joined)
                          if (root := stem(word)) != word and len(root) > 2 and root not in present)
    return [*words, *joined, *stems]


def stem_spellings(term: Term) -> tuple[tuple[str, ...], ...]:
    """The spellings that find a one-word term's other forms: the marked stem (any inflected
    form), and the stem itself when the query was an inflected form:
    ``Term(("خبرنگاران",), False)`` -> ``(("ـخبرنگار",), ("خبرنگار",))``. A phrase, quoted or a
    compound, stays exact: ``()``."""
    if term.phrase or len(term.words) != 1:
        return ()
    root = stem(term.words[0])
    return ((STEM_MARK + root,),) + (((root,),) if root != term.words[0] else ())


# A token holding a ZWNJ; only those can be compounds, and they are few, so the rest of the text
# never passes through a Python loop.
_ZWNJ_TOKEN = re.compile(r"\S*\u200c\S*")


def fold_parts(text: str) -> tuple[list[str], list[str]]:
    """``fold(text).split()`` and the ZWNJ compounds joined (each once, in order), from one
    pass of the fold table: ``"حرف‌هایشان را"`` -> ``(["حرف", "هایشان", "را"], ["حرفهایشان"])``."""
    kept = text.translate(_KEEP_ZWNJ_TABLE)
    joined: dict[str, None] = {}
    for token in _ZWNJ_TOKEN.findall(kept):
        parts = [part for part in token.split(ZWNJ) if part]
        if len(parts) > 1:
            joined["".join(parts)] = None
    return kept.replace(ZWNJ, " ").split(), list(joined)


def fold_fields(*fields: str | None) -> str:
    """``fold_document`` of an article's fields (title, summary, body), one per line (what the
    loader indexes: etl/load/prepare.py)."""
    return fold_document("\n".join(field for field in fields if field))

# A quoted phrase ("...", «...» or “...”), else a run of unquoted tokens (normalized as one text).
_QUERY_PART = re.compile(
    r'"(?P<q1>[^"]*)"|«(?P<q2>[^»]*)»|“(?P<q3>[^”]*)”'
    r'|(?P<free>[^\s"«»“”]+(?:\s+[^\s"«»“”]+)*)'
)


def fold_query(query: str) -> list[Term]:
    """Terms of a user query: ``'"وزارت خارجه" میشود'`` ->
    ``[Term(("وزارت", "خارجه"), True), Term(("می", "شود"), True, (("میشود",),))]``.

    Raises ``QueryTooLong`` past ``MAX_WORDS`` words, so the database query stays small.
    """
    terms: list[Term] = []
    for match in _QUERY_PART.finditer(query):
        free = match.group("free")
        if free is None:
            quoted = match.group("q1") or match.group("q2") or match.group("q3") or ""
            terms.append(_term(normalize_text(quoted).split(), phrase=True))
        else:
            terms.extend(_free_terms(free))
    terms = _unique(term for term in terms if term.words)
    _check_length(sum(len(term.words) for term in terms))
    return terms


def _check_length(words: int) -> None:
    if words > MAX_WORDS:
        raise QueryTooLong(f"query of {words} words is too long: at most {MAX_WORDS} words are searched")


MAX_WORDS = 64


class QueryTooLong(ValueError):
    """A query with more than ``MAX_WORDS`` words (terminal: the same query fails again)."""


def _free_terms(text: str) -> list[Term]:
    """Unquoted query text, one term per token: ``"میشود علي"`` -> ``[("می","شود") phrase, ("علی",)]``.

    The whole run is normalized before it is split, so the normalizer can join ``می شود``
    into ``می‌شود`` (one token, one phrase) exactly as it does in a stored article.
    """
    tokens = normalize_text(text).split()
    _check_length(len(tokens))  # before the per-pair work below
    return _with_joined_runs([_term([token], phrase=False) for token in _compounds(tokens)])


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
    """Whether the normalizer splits ``left + right`` exactly there, and the two written apart are
    no phrase of their own: ``("رئیس", "جمهور")`` -> True, ``("ایران", "امروز")`` -> False."""
    return normalize_text(left + right) == left + ZWNJ + right and not apart(left + right)


def _term(tokens: list[str], phrase: bool) -> Term:
    """One folded term from normalized tokens: ``["می‌شود"]`` -> ``Term(("می", "شود"), True, (("میشود",),))``."""
    folded = [tuple(fold(token).split()) for token in tokens]
    words = tuple(word for token in folded for word in token)
    # A token that folds to several words only matches where those words are adjacent.
    return Term(words, phrase or len(words) > 1, _variants(words, [t for t in folded if t]))


def _variants(words: tuple[str, ...], tokens: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """Other spellings of a term whose ZWNJ a writer may have dropped or misplaced.

    Each token joined (``می شود`` -> ``میشود``: text where the normalizer could not split it,
    or the joined form ``fold_document`` indexes), and a joined token with its affix split off
    (``حرفهایشان`` -> ``حرف هایشان``: text that kept the ZWNJ); a one-token term gets every
    split (``نامهای`` is نام‌های or نامه‌ای), a phrase the first of each token.
    """
    joined = tuple("".join(token) for token in tokens)
    if len(tokens) == 1 and len(tokens[0]) == 1:
        splits = _affix_splits(tokens[0][0])
    else:
        splits = [tuple(part for token in tokens for part in _first_split(token))]
    return tuple(v for v in dict.fromkeys((joined, *splits)) if v and v != words)


# Inflections written after a ZWNJ (or a space) in standard spelling; longest first.
_SUFFIXES = ("هایشان", "هایتان", "هایمان", "هایش", "هایت", "هایم", "هایی", "های", "ها", "ترین", "تر")
# After a final ه (نامه‌ای, خانه‌ام) the indefinite and pronoun endings take a ZWNJ too.
_AFTER_HEH = ("ای", "ام", "ات", "اش", "ی")
_PREFIXES = ("نمی", "می")


def _first_split(token: tuple[str, ...]) -> tuple[str, ...]:
    """A folded token's words, a one-word token split at its affix: ``("کتابها",)`` -> ``("کتاب", "ها")``."""
    found = _affix_splits(token[0]) if len(token) == 1 else []
    return found[0] if found else token


def _affix_splits(word: str) -> list[tuple[str, ...]]:
    """A joined word with its inflection apart, every way it can be: ``"حرفهایشان"`` ->
    ``[("حرف", "هایشان")]``, ``"نامهای"`` -> ``[("نام", "های"), ("نامه", "ای")]``,
    ``"میشود"`` -> ``[("می", "شود")]``; ``[]`` for a word with no affix."""
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            rest = word[len(prefix):]
            return [(prefix, *split) for split in _affix_splits(rest) or [(rest,)]]
    out: list[tuple[str, ...]] = []
    suffix = next((s for s in _SUFFIXES if word.endswith(s) and len(word) - len(s) >= 2), None)
    if suffix:
        out.append((word[:-len(suffix)], suffix))
    for suffix in _AFTER_HEH:
        stem = word[:-len(suffix)]
        if word.endswith(suffix) and len(stem) >= 2 and stem.endswith("ه"):
            out.append((stem, suffix))
            break
    return out


_RUN = 4  # at most this many query words taken as one word typed apart


def _with_joined_runs(terms: list[Term]) -> list[Term]:
    """Terms, each also accepting its neighbours joined to it, as one word a writer typed
    without the ZWNJ or the space (``مهدی خواه`` for مهدی‌خواه, ``ساخت وساز های`` for
    ساخت‌وسازهای), the way ``fold_document`` indexes compounds: every run of two or three
    words, and up to ``_RUN`` where each word continues the last (``_joinable``).

    A run's joined form is added to every term of the run: ``(a | J) & (b | J)`` is
    ``(a & b) | J``, so the query stays a flat AND of ORs.
    """
    extra: list[list[tuple[str, ...]]] = [[] for _ in terms]
    for start in range(len(terms)):
        for end in range(start + 2, min(start + _RUN, len(terms)) + 1):
            if not terms[end - 1].words or not terms[start].words:
                break  # punctuation between two words: they are not one word
            if end - start > 3 and not _joinable(terms[end - 2], terms[end - 1]):
                break
            joined = ("".join(w for term in terms[start:end] for w in term.words),)
            for i in range(start, end):
                extra[i].append(joined)
    return [Term(t.words, t.phrase, tuple(dict.fromkeys(t.variants + tuple(x)))) if x else t
            for t, x in zip(terms, extra)]


def _joinable(left: Term, right: Term) -> bool:
    """Whether ``right`` may continue the word ``left`` ends: an inflection (``کتاب ها``), a verb
    prefix before it (``می شود``), or the و of a paired compound (``ساخت وساز``)."""
    first = right.words[0]
    return (first in _SUFFIXES or first in _AFTER_HEH or left.words[-1] in _PREFIXES
            or (first.startswith("و") and len(first) > 2))


def _unique(terms) -> list[Term]:
    """Terms in first-seen order without repeats: ``[a, b, a]`` -> ``[a, b]``."""
    return list(dict.fromkeys(terms))


def vanishes(char: str) -> bool:
    """Whether folding drops the character outright: ``"َ"`` (a fatha) -> True, ``" "`` -> False."""
    return _fold_char(char) == ""
