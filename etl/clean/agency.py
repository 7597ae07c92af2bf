"""Who reported it: the outlet a lead attribution names, as one canonical name, and its kind.

``"به گزارش خبرگزاری صدا و سیمای مرکز فارس، ..."`` -> agency ``"صدا و سیما"``, centre ``"فارس"``;
``"به گزارش "ورزش سه"، ..."`` -> ``"ورزش سه"``, a website (outlets that report without being
agencies count too); ``"به گزارش عربستان، ..."`` names no outlet (the phrase is kept, nothing is
guessed). The lead's first attribution phrase decides: a name later in the lead never replaces it
(``"به گزارش ایلنا، ... میزان ..."`` is ایلنا, ``"به گزارش "ورزش سه" و به نقل از فارس"`` ورزش سه).
The names and their spellings are data (``data/agencies.toml``), extendable from the sources
file's ``[agencies]`` table. Pure: strings in, an ``Attribution`` out; the bundled table is read
once, on first use.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Iterable, Mapping, Sequence

__all__ = ["KINDS", "AgencyTable", "Attribution", "agency_table", "build_table", "find_attribution", "lead_agency"]

# "به گزارش خبرگزاری مهر،", "به نقل از ایسنا،", "به نقل فارس،", "یه گزارش ..." (a typo in a real
# lead): the phrase ends at the first comma or colon; without one, only its first words are read.
_REPORTED = re.compile(r"\s*(?:[بی]ه[\s\u200c]*گزارش|به[\s\u200c]*نقل(?:[\s\u200c]*از)?)\s*([^،,:؛\n]{1,120})([،,:؛])?")
_UNENDED_WORDS = 4
# "خبرگزاری فارس: ..." and "خبرگزاري فارس - ..." open a lead; so does "خبرگزاری فارس، گروه
# اندیشه ـ ...", a name of two words at most before the comma ("خبرگزاری Le10Sport مدعی شد که
# ...، " is a sentence, not an attribution).
_AGENCY_COLON = re.compile(r"\s*(خبرگزار[یي]\s+[^،,:؛\n\-–]{1,60}?)\s*[:؛\-–]"
                           r"|\s*(خبرگزار[یي](?:\s+[^\s،,:؛\n\-–]+){1,2})\s*[،,]")
# A dateline: "تهران - ایرنا - ...", "اهواز – ایسنا – ...".
_DATELINE = re.compile(r"\s*[^\s،,:\-–]{2,20}(?:\s[^\s،,:\-–]{2,20})?\s*[-–]\s*([^\-–\n]{2,40}?)\s*[-–]")
# A byline: "محمد رشیدیان- گروه محیط زیست خبرگزاری فارس، ..." (an agency must be named in it).
_BYLINE = re.compile(r"\s*[^،,:؛\n\-–]{2,40}[-–]\s*([^،,:؛\n]{2,80})[،,:؛]")
# "... در گفت‌وگو با خبرنگار فارس ..." and "... به خبرنگار مهر گفت": the outlet asked the questions.
# ("در گفت‌وگو با "ورزش سه" گفت", "در مصاحبه با فارس"): an outlet named right after با counts too.
_INTERVIEW = re.compile(r"(?:گفت[\s\u200c]*و[\s\u200c]*گو|گفتگو|مصاحبه)(?:\s+اختصاصی)?\s+با\s+([^،,:؛\n]{1,60})"
                        r"|به\s+(خبرنگار[^،,:؛\n]{1,60}?)\s+(?:گفت|اظهار|افزود|بیان|تصریح)")
# "... در گفت‌وگو با فارس اعلام کرده بود ...": an earlier interview, mentioned; not this text's source.
_EARLIER = re.compile(r"(?:کرده|گفته|داشته|زده)[\s\u200c]+بود")
_INTERVIEW_WORDS = 3  # words read after با when no خبرنگار/خبرگزاری says who asked
_TOKEN = re.compile(r"[^\s\u200c\u200d()«»\"“”„'.,:;!?؟،؛\-–—/\[\]]+")
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
    """The attribution phrase as written, the canonical outlet it names, the provincial centre,
    and the outlet's kind (``KINDS``)."""

    phrase: str
    agency: str | None = None
    centre: str | None = None
    kind: str | None = None


# What the outlet an attribution names is: the sections of agencies.toml.
KINDS = ("agency", "website", "newspaper", "broadcaster")


@dataclass(frozen=True)
class AgencyTable:
    spellings: dict[str, str]            # key of a spelling -> canonical name: "صداوسیمای" -> "صدا و سیما"
    centres: dict[str, dict[str, str]]   # canonical -> key of a centre -> centre: "خراسانرضوی" -> "خراسان رضوی"
    ambiguous: frozenset[str]            # keys of spellings that are ordinary words too: "فارس"
    kinds: dict[str, str] = field(default_factory=dict)  # canonical -> kind: "ورزش سه" -> "website" (else agency)


def _key(words: Iterable[str]) -> str:
    """Words joined with no space or ZWNJ, Persian letters, Latin lower-cased: ``["صدا", "و", "سيما"] -> "صداوسیما"``."""
    return "".join(words).translate(_KEY_MAP).lower()


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def build_table(agencies: Mapping[str, Sequence[str]], centres: Mapping[str, Sequence[str]] = {},
                ambiguous: Iterable[str] = (), kinds: Mapping[str, str] = {}) -> AgencyTable:
    """A table from canonical -> spellings (later entries win a spelling two of them claim);
    ``kinds``: canonical -> kind for the outlets that are no agency."""
    spellings: dict[str, str] = {}
    for canonical, names in agencies.items():
        for name in (canonical, *names):
            spellings[_key(_words(name))] = canonical
    return AgencyTable(
        spellings=spellings,
        centres={c: {_key(_words(n)): " ".join(_words(n)) for n in names} for c, names in centres.items()},
        ambiguous=frozenset(_key(_words(n)) for n in ambiguous),
        kinds=dict(kinds),
    )


@cache
def _bundled() -> dict:
    return tomllib.loads(resources.files(__package__).joinpath("data/agencies.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=16)
def _table(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> AgencyTable:
    data = _bundled()
    agencies = {c: list(s) for c, s in data["agencies"].items()}
    kinds = {}
    for section, kind in (("websites", "website"), ("newspapers", "newspaper"), ("broadcasters", "broadcaster")):
        for canonical, names in data.get("outlets", {}).get(section, {}).items():
            agencies[canonical], kinds[canonical] = list(names), kind
    for canonical, names in extra:
        agencies[canonical] = [*agencies.pop(canonical, []), *names]  # moved last: it wins
    return build_table(agencies, data.get("centres", {}), data.get("ambiguous", {}).get("names", ()), kinds)


def agency_table(extra: Iterable[tuple[str, Sequence[str]]] = ()) -> AgencyTable:
    """The bundled table, extended by ``extra`` (a sources file's ``[agencies]``: canonical, spellings)."""
    return _table(tuple((c, tuple(s)) for c, s in extra))


def find_attribution(body: str, summary: str | None = None, table: AgencyTable | None = None) -> Attribution | None:
    """The attribution of an article: the first attribution phrase opening a line of the lead (the
    summary's first line, then the body's first lines: the lead may come before it), whether it
    names an outlet or not (then its agency is None: a later name never stands in for it); only
    when there is none, the first interview that names one ("در گفت‌وگو با خبرنگار فارس")."""
    table = table or agency_table()
    # The summary first: in a dump it is the lead, which opens with the outlet ("خبرگزاری فارس:").
    lines = [*((summary or "").split("\n")[:1]), *(body or "").split("\n")[:_LINES]]
    for finder in (_opening, _interview):
        for line in lines:
            found = finder(line, table)
            if found:
                return found
    return None


def lead_agency(text: str, table: AgencyTable | None = None) -> str | None:
    """The canonical agency a text's attribution names: ``"به گزارش خبرگزاری مهر، ..."`` -> ``"مهر"``."""
    found = find_attribution(text, None, table)
    return found.agency if found else None


def _opening(line: str, table: AgencyTable) -> Attribution | None:
    """An attribution that opens the paragraph ("به گزارش ...،", "خبرگزاری ...:", a dateline, a
    byline naming an outlet); a "words - words" opening that names none is no attribution."""
    phrase = None
    for pattern in (_REPORTED, _AGENCY_COLON, _DATELINE, _BYLINE):
        match = pattern.match(line)
        if not match:
            continue
        words = (match.group(1) or match.group(pattern.groups)).split()
        if pattern is _REPORTED and not match.group(2):
            words = words[:_UNENDED_WORDS]  # no comma ends it: the outlet comes first or not at all
        found = _read(" ".join(words), table)
        if found.agency:
            return found
        if pattern in (_REPORTED, _AGENCY_COLON):
            phrase = phrase or found
    return phrase


def _interview(line: str, table: AgencyTable) -> Attribution | None:
    """The outlet whose reporter asked, or that was given the interview, when it names one."""
    match = _INTERVIEW.search(line)
    if not match or _EARLIER.search(line, match.start(), line.find(".", match.start()) % (len(line) + 1)):
        return None
    words = (match.group(1) or match.group(2)).split()
    if _key(words[:1]) not in _ROLES:
        words = words[:_INTERVIEW_WORDS]
    found = _read(" ".join(words), table)
    return found if found.agency else None


def _read(phrase: str, table: AgencyTable) -> Attribution:
    """The earliest agency the phrase names (the longest spelling where several start at one word)."""
    words = _words(phrase)
    for start in range(len(words)):
        for end in range(min(len(words), start + _WINDOW), start, -1):
            key = _key(words[start:end])
            canonical = table.spellings.get(key)
            if canonical and (key not in table.ambiguous or _named_here(words, start)):
                return Attribution(phrase, canonical, _centre(words[end:], table.centres.get(canonical, {})),
                                   table.kinds.get(canonical, "agency"))
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
