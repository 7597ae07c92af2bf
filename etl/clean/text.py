"""Persian text normalization: one spelling for letters, digits, spaces and zero-width non-joiners.

Pure ``str -> str``. URLs and e-mail addresses are cut out first and passed through untouched;
Latin words and numbers pass through because no rule touches ASCII or digit separators.
"""

from __future__ import annotations

import re
import unicodedata

from . import lexicon, spaced, zwnj
from .controls import clean_controls
from .lexicon import Learned

ZWNJ = "\u200c"

# The version of the rules and the packaged lexicon: bump it whenever either changes what
# normalize_text returns (tests/test_zwnj_version.py pins it to a fingerprint of those files).
RULES_VERSION = "2026.12.6"
# What normalize_text's output depends on besides its input: RULES_VERSION, plus the learned
# lexicon's version while one is in use. Stored text cleaned under another version may differ.
NORMALIZER_VERSION = RULES_VERSION

# Invisible characters scrapers leave behind; they carry no meaning in stored text.
# U+200C (ZWNJ) and U+200D (ZWJ, used by emoji sequences) are deliberately absent.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]+")
# Some writers type a bidi mark or a soft hyphen where a ZWNJ belongs (Fars: "برنامه\u200eهای",
# "می\u200eتواند", "روستا\u00adهای"; Persian is never hyphenated); between two letters it becomes
# the ZWNJ it stands for, anywhere else it is dropped.
_MARK_IN_WORD = re.compile(f"(?<=[{zwnj.LETTERS}])[\u200e\u200f\u00ad]+(?=[{zwnj.LETTERS}])")
# What the first steps of the safe layer act on (controls.py's characters, the invisible ones):
# most paragraphs hold none, and one scan says so.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200b\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069\ufeff\u00ad]")

# Old web text and Arabic keyboards give ي ى ك ە and Arabic-Indic digits; Persian uses ی ک ه ۰-۹.
# Pairs, not str.translate: a few str.replace calls are ~25x faster on long Persian text.
_LETTERS = (("ي", "ی"), ("ى", "ی"), ("ك", "ک"), ("ە", "ه"),
            *((chr(0x0660 + i), chr(0x06F0 + i)) for i in range(10)))
# Kashida (U+0640) and harakat only stretch or vocalize; dropping them leaves one spelling per word.
_MARKS = re.compile("[\u0640\u064b-\u065f\u0670]+")
# Presentation forms (ﻻ ﺑ ﷲ ...) come from PDF copy-paste. NFKC only these ranges: NFKC on the
# whole string would also rewrite Latin ligatures, full-width digits and superscripts.
_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]+")
# Either of the two above: most paragraphs have neither, and one scan says so.
_RARE = re.compile("[\ufb50-\ufdff\ufe70-\ufefe\u0640\u064b-\u065f\u0670]")

# Every horizontal space variant becomes one plain space; newlines stay as paragraph breaks.
# The pattern only matches what must change, so a clean text costs one scan.
_ODD_SPACE = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v"
_SPACES = re.compile(f"[ {_ODD_SPACE}]{{2,}}|[{_ODD_SPACE}]")
_ODD_SPACES = re.compile(f"[{_ODD_SPACE}]")
_NEWLINES = re.compile("\r\n?|[\u2028\u2029\u0085]")
_ODD_NEWLINES = re.compile("[\r\u2028\u2029\u0085]")
# Anything _normalize_space changes besides the edges: one scan for a clean paragraph.
_UNTIDY = re.compile(f"[\r\u2028\u2029\u0085\n{_ODD_SPACE}]|  ")
_LINE_EDGES = re.compile(" *\n *")
_BLANK_LINES = re.compile("\n{3,}")

# A ZWNJ only means something between two letters; elsewhere (next to a space, a digit,
# punctuation, or the end of the text) it is debris.
_ZWNJ_RUN = re.compile(ZWNJ + "{2,}")
# Written to start with the ZWNJ itself, so the regex engine jumps from one ZWNJ to the next.
_STRAY_ZWNJ = re.compile(ZWNJ + r"(?:(?<![^\W\d_]" + ZWNJ + r")|(?![^\W\d_]))")

# The indefinite after a silent ه in an older spelling: "خانه‌یی", "خانه‌ئی" are "خانه‌ای", as
# the outlets write it (361 times to none in the tuning splits).
_OLD_INDEFINITE = re.compile(f"(?<=ه{ZWNJ})[یئ]ی(?![{zwnj.LETTERS}])")

# URLs and e-mail addresses may hold Arabic letters or digits that must stay as written, so they
# are cut out before any rule runs. Latin words and numbers (F-35, COVID-19, 2.5, 1,200,000,
# ۱۴۰۴/۰۶/۰۸) need no cutting out: every rule acts only on Arabic-script letters, ZWNJ and
# whitespace, never on ASCII, digits or the separators between digits (tests pin this).
_PROTECTED = re.compile(r"(?:https?://|ftp://|www\.)\S+|[^\s@]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.I)


def normalize_text(text: str) -> str:
    """One spelling for Persian text: ``"علي  كتاب ها مي دهند"`` -> ``"علی کتاب‌ها می‌دهند"``."""
    return _outside_protected(normalize_safe(text), spaced.repair)


def use_learned_lexicon(learned: Learned | None) -> str:
    """Clean all later text with ``learned`` over the packaged lexicon (None: packaged only).

    Called once at the edge (the CLI reads ``NEWS_ETL_LEXICON``); returns the new
    NORMALIZER_VERSION, e.g. ``"2026.12.6+learned.3f2a9c0d1e4b"``.
    """
    global NORMALIZER_VERSION, _LEARNED
    _LEARNED = learned
    zwnj.use_lexicon(lexicon.with_learned(lexicon.load(), learned) if learned else None)
    NORMALIZER_VERSION = RULES_VERSION + (f"+learned.{learned.version}" if learned and (learned.entries or learned.pieces) else "")
    return NORMALIZER_VERSION


_LEARNED: Learned | None = None


def learned_lexicon() -> Learned | None:
    """The learned lexicon in use (for worker processes, which must clean with the same one)."""
    return _LEARNED


def normalizer_version() -> str:
    """NORMALIZER_VERSION as it is now (a name imported earlier keeps the value it had then)."""
    return NORMALIZER_VERSION


def normalize_safe(text: str) -> str:
    """The safe layer alone, no ZWNJ repair: ``"علي  كتاب ٣"`` -> ``"علی کتاب ۳"``."""
    if not text:
        return ""
    if _UNSAFE.search(text):
        text = clean_controls(text)  # NUL, ESC, lone surrogates: see controls.py
        text = _INVISIBLE.sub("", _MARK_IN_WORD.sub(ZWNJ, text))
    text = _outside_protected(text, _normalize_letters)
    if ZWNJ in text:
        text = _STRAY_ZWNJ.sub("", _ZWNJ_RUN.sub(ZWNJ, text))
        if "\u200cیی" in text or "\u200cئی" in text:
            text = _OLD_INDEFINITE.sub("ای", text)
    return _normalize_space(text) if _UNTIDY.search(text) else text.strip()


def _outside_protected(text: str, change) -> str:
    """``change`` applied between protected tokens: ``"كتاب www.x.ir/ك"`` -> ``"کتاب www.x.ir/ك"``."""
    if not ("@" in text or "://" in text or "ww." in text or "WW." in text):
        return change(text)
    out = []
    start = 0
    for match in _PROTECTED.finditer(text):
        out.append(change(text[start:match.start()]))
        out.append(match.group())
        start = match.end()
    out.append(change(text[start:]))
    return "".join(out)


def _normalize_letters(text: str) -> str:
    """Letters and digits unified in a run of prose: ``"كِتابـ ٣"`` -> ``"کتاب ۳"``."""
    rare = _RARE.search(text) is not None
    if rare and _PRESENTATION.search(text):
        text = _PRESENTATION.sub(_nfkc, text)
    for arabic, persian in _LETTERS:
        if arabic in text:
            text = text.replace(arabic, persian)
    return _MARKS.sub("", text) if rare else text


def _nfkc(match: re.Match) -> str:
    """Arabic presentation forms to letters: ``"ﻻ"`` -> ``"لا"``."""
    return unicodedata.normalize("NFKC", match.group())


def _normalize_space(text: str) -> str:
    """Spaces collapsed, lines stripped, paragraphs kept: ``" a \\r\\n  b "`` -> ``"a\\nb"``."""
    if _ODD_NEWLINES.search(text):
        text = _NEWLINES.sub("\n", text)
    if "  " in text or _ODD_SPACES.search(text):
        text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = _BLANK_LINES.sub("\n\n", _LINE_EDGES.sub("\n", text))
    return text.strip()
