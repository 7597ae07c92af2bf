"""Snippets: a window of an article's original text around the first hit, hits as spans.

The hits are found on the folded text (etl/clean/fold.py) and mapped back to the original, so
``میشود`` marks ``می‌شود`` as written. A ``Snippet`` is data: the text, the hit spans in it and,
when there is no hit to show, why. How hits look is the caller's choice (``marked``): Persian
uses « » for quotations, so they are never the default marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fold import STEM_MARK, Term, fold_with_offsets, stem_spellings, vanishes
from .stem import stem

__all__ = ["MARKS", "Snippet", "excerpt", "has_hit", "may_hit", "snippet"]

# Square brackets: rare in Persian news text, and never confused with « » quotations.
MARKS = ("[", "]")


@dataclass(frozen=True, slots=True)
class Snippet:
    """``text`` with the hits at ``spans`` (offsets into ``text``); ``note`` says why a snippet
    without spans shows no hit: ``Snippet("… انجام می‌شود.", ((8, 14),))``."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()
    note: str = ""

    def marked(self, mark: tuple[str, str] = MARKS) -> str:
        """The text with each hit wrapped: ``Snippet("a bc d", ((2, 4),)).marked()`` -> ``"a [bc] d"``;
        without hits, the note after the text in parentheses."""
        out: list[str] = []
        cursor = 0
        for start, end in self.spans:
            out += [self.text[cursor:start], mark[0], self.text[start:end], mark[1]]
            cursor = end
        out.append(self.text[cursor:])
        marked = "".join(out)
        return f"{marked} ({self.note})" if self.note and not self.spans else marked


def snippet(text: str, terms: list[Term], width: int = 160, mark: tuple[str, str] = MARKS) -> str:
    """``excerpt`` with its hits marked: ``snippet("گفت: این کار انجام می‌شود.", fold_query("میشود"))``
    -> ``"گفت: این کار انجام [می‌شود]."``."""
    return excerpt(text, terms, width).marked(mark)


def excerpt(text: str, terms: list[Term], width: int = 160, note: str = "", stems: bool = False) -> Snippet:
    """About ``width`` characters of ``text`` around its first hit, with every hit in it as a span;
    ``stems``: a word whose stem is a one-word term's is a hit too (خبرنگاران for خبرنگار).

    Without a hit: the first ``width`` characters, and ``note`` (or "no match in this text").
    """
    hits = _hits(text, terms, stems)
    first = hits[0] if hits else (0, 0)
    start, end = _window(text, first, width)
    shown = [(s, e) for s, e in hits if start <= s and e <= end]
    prefix = "…" if text[:start].strip() else ""
    suffix = "…" if text[end:].strip() else ""
    body, spans = _collapsed(_pieces(text, start, end, shown), len(prefix))
    return Snippet(prefix + body + suffix, spans, "" if spans else (note or "no match in this text"))


def has_hit(folded: str, terms: list[Term]) -> bool:
    """Whether already folded text holds a hit: ``("کار می شود", fold_query("میشود"))`` -> True."""
    pattern = _terms_pattern(terms)
    return pattern is not None and pattern.search(folded) is not None


def may_hit(folded: str, terms: list[Term], stems: bool = False) -> bool:
    """A fast test that folded text may hold a hit (every true hit passes; a word inside a longer
    one does too): ``("کتابخانه", [Term(("کتاب",), False)])`` -> True. With ``stems``, a stem's
    letters are looked for without a final ه (نماینده is in نمایندگان as نمایند)."""
    squeezed = folded.replace(" ", "")
    if any("".join(words) in squeezed for term in terms for words in term.spellings if words):
        return True
    return stems and any(root.lstrip(STEM_MARK).removesuffix("ه") in squeezed
                         for term in terms for (root, *_) in stem_spellings(term)[:1])


def _hits(text: str, terms: list[Term], stems: bool = False) -> list[tuple[int, int]]:
    """Original ``(start, end)`` of every term hit, found on the folded text.

    ``("کار می‌شود", [Term(("می", "شود"), True)])`` -> ``[(4, 10)]``.
    """
    pattern = _terms_pattern(terms)
    roots = {spellings[0][0].lstrip(STEM_MARK) for term in terms if (spellings := stem_spellings(term))} if stems else set()
    if pattern is None and not roots:
        return []
    folded, origins = fold_with_offsets(text)
    found = {(m.start(), m.end()) for m in pattern.finditer(folded)} if pattern else set()
    if roots:  # the words whose stem is a term's: خبرنگاران, دانشجویان
        found |= {(m.start(), m.end()) for m in _FOLDED_WORD.finditer(folded) if stem(m.group()) in roots}
    spans, end_of_last = [], -1
    for start, end in sorted(found):
        if start >= end_of_last:  # a stem's word inside a phrase hit is that hit
            spans.append(_original_span(text, origins, start, end))
            end_of_last = end
    return spans


_FOLDED_WORD = re.compile(r"\S+")


def _terms_pattern(terms: list[Term]) -> re.Pattern | None:
    """Whole-word regex on folded text for every spelling of the terms, a space allowed between
    any two letters (``می شود``, ``میشود``): ``[("می","شود")]`` -> ``(?<!\\S)(?:م ?ی ?ش ?و ?د)(?!\\S)``.

    The search matched one of the spellings somewhere; a ZWNJ that was a space in one text and
    absent in another must not hide the hit from the snippet.
    """
    joined = {"".join(words) for term in terms for words in term.spellings if words}
    if not joined:
        return None
    loose = [" ?".join(map(re.escape, word)) for word in sorted(joined, key=len, reverse=True)]
    return re.compile(r"(?<!\S)(?:" + "|".join(loose) + r")(?!\S)")


def _original_span(text: str, origins: list[int], start: int, end: int) -> tuple[int, int]:
    """Folded ``[start, end)`` back to the original, with marks trailing the last letter kept.

    In ``"شودَ"`` the fatha folds to nothing but belongs to the word: the span covers it.
    """
    original_end = origins[end - 1] + 1
    while original_end < len(text) and vanishes(text[original_end]):
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


def _pieces(text: str, start: int, end: int, hits: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text[start:end]`` cut at the hits: ``("a bc d", 0, 6, [(2, 4)])`` -> ``[("a ", False), ("bc", True), (" d", False)]``."""
    out: list[tuple[str, bool]] = []
    cursor = start
    for hit_start, hit_end in hits:
        out += [(text[cursor:hit_start], False), (text[hit_start:hit_end], True)]
        cursor = hit_end
    out.append((text[cursor:end], False))
    return out


def _collapsed(pieces: list[tuple[str, bool]], offset: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The pieces joined with each run of whitespace one space (none at either end), and the
    spans of the hit pieces, counted from ``offset``: ``[(" a\\n\\n", False), ("b", True)]`` -> ``("a b", ((2, 3),))``."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    position = offset
    for index, (piece, hit) in enumerate(pieces):
        piece = _SPACE.sub(" ", piece)
        if index == 0:
            piece = piece.lstrip()
        if index == len(pieces) - 1:
            piece = piece.rstrip()
        if hit:
            spans.append((position, position + len(piece)))
        out.append(piece)
        position += len(piece)
    return "".join(out), tuple(spans)
