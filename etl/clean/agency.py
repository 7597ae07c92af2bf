"""Who reported it: the agency a lead attribution names, as one canonical name.

``"به گزارش خبرگزاری صدا و سیمای مرکز فارس، ..."`` -> agency ``"صدا و سیما"``, centre ``"فارس"``;
``"به گزارش عربستان، ..."`` names no agency (the phrase is kept, the agency is not guessed).
The names and their spellings are data (``data/agencies.toml``), extendable from the sources
file's ``[agencies]`` table. Pure: strings in, an ``Attribution`` out; the bundled table is read
once, on first use.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Iterable, Mapping, Sequence

__all__ = ["AgencyTable", "Attribution", "agency_table", "build_table", "find_attribution", "lead_agency"]

# "به گزارش خبرگزاری مهر،", "به نقل از ایسنا،": the phrase ends at the first comma or colon.
_REPORTED = re.compile(r"\s*(?:به[\s\u200c]*گزارش|به[\s\u200c]*نقل[\s\u200c]*از)\s*([^،,:؛\n]{1,120})[،,:؛]")
# "خبرگزاری فارس: ..." and "خبرگزاري فارس - ..." open a lead.
_AGENCY_COLON = re.compile(r"\s*(خبرگزار[یي]\s+[^،,:؛\n\-–]{1,60}?)\s*[:؛\-–]")
# A dateline: "تهران - ایرنا - ...", "اهواز – ایسنا – ...".
_DATELINE = re.compile(r"\s*[^\s،,:\-–]{2,20}(?:\s[^\s،,:\-–]{2,20})?\s*[-–]\s*([^\-–\n]{2,40}?)\s*[-–]")
# A byline: "محمد رشیدیان- گروه محیط زیست خبرگزاری فارس، ..." (an agency must be named in it).
_BYLINE = re.compile(r"\s*[^،,:؛\n\-–]{2,40}[-–]\s*([^،,:؛\n]{2,80})[،,:؛]")
# "... در گفت‌وگو با خبرنگار فارس ..." and "... به خبرنگار مهر گفت": the outlet asked the questions.
_INTERVIEW = re.compile(r"(?:گفت[\s\u200c]*و[\s\u200c]*گو|گفتگو|مصاحبه)(?:\s+اختصاصی)?\s+با\s+((?:خبرنگار|خبرگزار[یي])[^،,:؛\n]{1,60})"
                        r"|به\s+(خبرنگار[^،,:؛\n]{1,60}?)\s+(?:گفت|اظهار|افزود|بیان|تصریح)")
_TOKEN = re.compile(r"[^\s\u200c\u200d()«»\"'.,:;!?؟،؛\-–—/\[\]]+")
_KEY_MAP = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "ۀ": "ه", "\u0640": "", "\u00ad": ""})
_WINDOW = 6  # words one spelling may span ("خبرگزاری صدا و سیمای مرکز ...")
# An ambiguous name counts after one of these words (or as the first word) ...
_ROLES = {"خبرگزاری", "خبرنگار", "خبرنگاران", "گزارشگر", "گروه", "سرویس", "پایگاه", "سایت", "تارنمای", "اعزامی"}
# ... and never right after one of these: "استانداری فارس", "مرکز فارس", "ماه مهر".
_PLACES = {"استان", "استانداری", "شهرستان", "مرکز", "خلیج", "ماه", "دانشگاه", "منطقه", "اداره", "فرمانداری",
           "بندر", "شهر", "دریای", "پارس"}
_CENTRE = "مرکز"
_LINES = 3  # a lead, an over-long caption, then the attribution: look no further


@dataclass(frozen=True, slots=True)
class Attribution:
    """The attribution phrase as written, the canonical agency it names, and the provincial centre."""

    phrase: str
    agency: str | None = None
    centre: str | None = None


@dataclass(frozen=True)
class AgencyTable:
    spellings: dict[str, str]            # key of a spelling -> canonical name: "صداوسیمای" -> "صدا و سیما"
    centres: dict[str, dict[str, str]]   # canonical -> key of a centre -> centre: "خراسانرضوی" -> "خراسان رضوی"
    ambiguous: frozenset[str]            # keys of spellings that are ordinary words too: "فارس"


def _key(words: Iterable[str]) -> str:
    """Words joined with no space or ZWNJ, Persian letters, Latin lower-cased: ``["صدا", "و", "سيما"] -> "صداوسیما"``."""
    return "".join(words).translate(_KEY_MAP).lower()


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def build_table(agencies: Mapping[str, Sequence[str]], centres: Mapping[str, Sequence[str]] = {},
                ambiguous: Iterable[str] = ()) -> AgencyTable:
    """A table from canonical -> spellings (later entries win a spelling two of them claim)."""
    spellings: dict[str, str] = {}
    for canonical, names in agencies.items():
        for name in (canonical, *names):
            spellings[_key(_words(name))] = canonical
    return AgencyTable(
        spellings=spellings,
        centres={c: {_key(_words(n)): " ".join(_words(n)) for n in names} for c, names in centres.items()},
        ambiguous=frozenset(_key(_words(n)) for n in ambiguous),
    )


@cache
def _bundled() -> dict:
    return tomllib.loads(resources.files(__package__).joinpath("data/agencies.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=16)
def _table(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> AgencyTable:
    data = _bundled()
    agencies = {c: list(s) for c, s in data["agencies"].items()}
    for canonical, names in extra:
        agencies[canonical] = [*agencies.pop(canonical, []), *names]  # moved last: it wins
    return build_table(agencies, data.get("centres", {}), data.get("ambiguous", {}).get("names", ()))


def agency_table(extra: Iterable[tuple[str, Sequence[str]]] = ()) -> AgencyTable:
    """The bundled table, extended by ``extra`` (a sources file's ``[agencies]``: canonical, spellings)."""
    return _table(tuple((c, tuple(s)) for c, s in extra))


def find_attribution(body: str, summary: str | None = None, table: AgencyTable | None = None) -> Attribution | None:
    """The attribution of an article: the first that names an agency in the summary's first line
    or the body's first lines (the lead may come before it); else the first phrase, agency None."""
    table = table or agency_table()
    # The summary first: in a dump it is the lead, which opens with the outlet ("خبرگزاری فارس:").
    lines = [*((summary or "").split("\n")[:1]), *(body or "").split("\n")[:_LINES]]
    first: Attribution | None = None
    for finder in (_opening, _interview):
        for line in lines:
            found = finder(line, table)
            if found and found.agency:
                return found
            first = first or found
    return first


def lead_agency(text: str, table: AgencyTable | None = None) -> str | None:
    """The canonical agency a text's attribution names: ``"به گزارش خبرگزاری مهر، ..."`` -> ``"مهر"``."""
    found = find_attribution(text, None, table)
    return found.agency if found else None


def _opening(line: str, table: AgencyTable) -> Attribution | None:
    """An attribution that opens the paragraph ("به گزارش ...،", "خبرگزاری ...:", a dateline)."""
    phrase = None
    for pattern in (_REPORTED, _AGENCY_COLON, _DATELINE, _BYLINE):
        match = pattern.match(line)
        if not match:
            continue
        found = _read(" ".join(match.group(1).split()), table)
        if found.agency:
            return found
        if pattern in (_REPORTED, _AGENCY_COLON):  # not any "words - words" opening
            phrase = phrase or found
    return phrase


def _interview(line: str, table: AgencyTable) -> Attribution | None:
    match = _INTERVIEW.search(line)
    if not match:
        return None
    found = _read(" ".join((match.group(1) or match.group(2)).split()), table)
    return found if found.agency else None


def _read(phrase: str, table: AgencyTable) -> Attribution:
    """The earliest agency the phrase names (the longest spelling where several start at one word)."""
    words = _words(phrase)
    for start in range(len(words)):
        for end in range(min(len(words), start + _WINDOW), start, -1):
            key = _key(words[start:end])
            canonical = table.spellings.get(key)
            if canonical and (key not in table.ambiguous or _named_here(words, start)):
                return Attribution(phrase, canonical, _centre(words[end:], table.centres.get(canonical, {})))
    return Attribution(phrase)


def _named_here(words: list[str], start: int) -> bool:
    """An ambiguous name is an agency as the first word, or after خبرگزاری/خبرنگار/گروه ..., never
    right after استان/مرکز/ماه (``"روابط عمومی استانداری فارس"`` names no agency)."""
    if start == 0:
        return True
    before = [_key([w]) for w in words[:start]]
    return before[-1] not in _PLACES and any(w in _ROLES for w in before)


def _centre(rest: list[str], centres: dict[str, str]) -> str | None:
    """The provincial centre after an agency name: ``["مرکز", "خراسان", "رضوی"] -> "خراسان رضوی"``."""
    if not centres or not rest:
        return None
    after_word = rest[0] == _CENTRE
    words = rest[1:] if after_word else rest
    for end in range(min(len(words), 4), 0, -1):
        centre = centres.get(_key(words[:end]))
        if centre:
            return centre
    return words[0] if after_word and words else None
