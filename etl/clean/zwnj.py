"""Zero-width non-joiner (U+200C) repair for Persian words that lost it upstream.

Scrapers and old keyboards write ``نخستوزیر`` for ``نخست‌وزیر``; this module repairs such a word
(``split_word``). A ZWNJ written as a space (``می دهند``, ``کتاب ها``) is etl/clean/spaced.py's.
A word is split only when one reading clearly wins: a lexicon entry, a verb after ``می``/``نمی``,
or a known stem plus a suffix. A word with two live readings (``نامهای``: نام‌های or نامه‌ای)
or a word that is right as written (``میدان``, ``بیشتر``) is left alone. A ZWNJ already present
is never removed, and every piece this module produces is left unchanged by a second pass.
"""

from __future__ import annotations

import re

from . import lexicon
from .lexicon import SEEN, TAGGED, WEAK, Lexicon

ZWNJ = "\u200c"
# Arabic-script letters (no digits, no kashida, no harakat).
LETTERS = "\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06fc\u06ff"
# Letters that never join the next one: a ZWNJ after them is invisible and wrong (کشورها).
NON_JOINING = frozenset("اآأإٱدذرزژوؤةءۀ")

# Suffixes written after a ZWNJ, longest first within each group.
PLURAL = ("هایشان", "هایتان", "هایمان", "هایی", "هایم", "هایت", "هایش", "هاست", "های", "ها")
COMPARATIVE = ("ترین", "تری", "تر")          # only after a known adjective: مهم‌ترین, سخت‌تری
AFTER_HEH = ("ای", "ام", "اش")               # only after a silent ه: هسته‌ای, خانه‌اش
AFTER_YEH = ("ام", "اش")                     # and after a final ی: بازی‌اش, راضی‌ام (not ای: دنیای)
PERFECT = ("اند", "ایم", "اید", "ام")         # only after a past participle: کرده‌اند
NAMES = ("زاده", "نژاد", "پور", "نیا", "نسب", "فرد", "فر")  # family names: احمدی‌نژاد, انصاری‌فرد
# Short name endings that end many plain words (کیفر, منفرد): only after a final ی.
NAMES_AFTER_YEH = ("فرد", "فر")
# A preposition, بی or عدم glued to a known noun: به‌عنوان, بی‌سابقه, عدم‌تعهد. Many real words
# start the same way (بیمار, بهداشت), so this reading is weak: any word hazm or Fars knows as
# written wins.
PREFIXES = ("به", "بی", "عدم")
# First elements that make a compound an adjective, which then takes تر/ترین: بی‌نقص‌ترین.
ADJECTIVE_PREFIXES = ("بی", "کم", "خوش", "پر", "بد")
# Second elements of compounds (a noun or adjective + a verb stem or noun: جنجال‌ساز, فسخ‌نامه,
# نتیجه‌گرایی): each ends at least 20 of hazm's ZWNJ compounds. Left out: number words (ساله,
# نفره), name parts (الله, الدین), and the heads whose compounds the standard writes joined
# (دار, کار, گری, گاه, زار, وار, دان, گانه: دامداری, کنسولگری, ورزشگاه, گلزار, امیدوار, دوگانه).
HEADS = (
    "شده", "کننده", "سازی", "ساز", "نامه", "آمیز", "پذیر", "آباد", "بندی", "گرا", "شناسی", "گیری",
    "شناس", "گرایی", "بخش", "فروش", "آور", "زده", "دهنده", "خانه", "گیر", "نشین", "گذاری", "انگیز",
    "رنگ", "بار", "یافته", "باز", "طلب", "ناپذیر", "فروشی", "نویسی", "بخشی", "نویس", "پذیری",
    "کشی", "بند", "جویی", "خوار", "طلبی", "پرست", "خورده", "گویی", "زبان", "آفرین", "سرا", "پوش",
    "زدگی", "آلود", "نشده", "نما", "پرستی", "کرده", "خوان", "زدایی", "زنی", "پرور", "خوانی",
    "برداری", "بین", "خور", "دیده", "بینی", "بافی", "برانگیز", "پرداز", "پردازی", "کنان",
    "گرایانه", "دوست", "کاره", "خیز", "نواز", "سوز",
)
# Numbers written with و: بیست‌وسوم, چهل‌وچهارمین, صد‌ویک.
TENS = ("بیست", "سی", "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود", "صد")
UNITS = ("یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه", "اول", "سوم")
# Endings a compound takes without a ZWNJ: کشتی‌گیرانی, طلایی‌پوشان.
HEAD_TAILS = ("", "ی", "ان", "انی")
_HEAD_SET = frozenset(HEADS)
_HEAD_SIZES = tuple(sorted({len(head) for head in HEADS}, reverse=True))
# Suffixes that join a repaired compound without a ZWNJ: نخست‌وزیری, دانش‌آموزان.
ATTACHED = ("یان", "ان", "ی", "یی", "ات", "ش", "م", "ت", "شان", "مان", "تان")
# Plural possessives: joined to most words (کشورمان), after a silent ه with a ZWNJ (خانه‌شان).
CLITICS = ("شان", "مان", "تان")
SUFFIXES = tuple(dict.fromkeys(PLURAL + COMPARATIVE + AFTER_HEH + PERFECT + NAMES + ATTACHED))
# Suffixes by their last letter: a word is only tried against the few that can match it.
_BY_LAST = {last: tuple(x for x in SUFFIXES if x[-1] == last) for last in {x[-1] for x in SUFFIXES}}
# Inflections that make a noun starting with می, not a verb: میدانی, میزانی.
NOUN_ENDINGS = ("ی", "یی", "ها", "های", "هایی", "ان", "ای")
# A participle reading beats a plural one: کردهاند is کرده‌اند, never کرد‌هاند.
PARTICIPLE = TAGGED + 1
# Of two readings, the one whose stem is this many frequency classes (quarter decades) more
# frequent wins: سالهای is سال‌های (سال is 20000x ساله); نامهای (نام 3x نامه) stays ambiguous.
FREQ_MARGIN = 4
_UNKNOWN = (0, "", -1)
# The fewest letters the other side of a learned piece may have (_piece_reading).
PIECE_REST = 2

# Stems whose final ه is spoken, so ی joins it (راهی, گروهی, درگهی, الهی, تشبیهی, فقیهی, مشابهی,
# فرماندهی: ه after ا or و; گه and شه for گاه and شاه; الله; the Arabic تفعیل and فعیل
# patterns; ابه; a noun + ده, the stem of دادن: _ends_in_deh). Spoken short words are in the
# never list.
_SPOKEN_HEH = re.compile(f"(?:[او]ه|[گش]ه|^اله|لله|ابه|^ت[{LETTERS}]{{2}}یه|^[{LETTERS}][^ا]یه)$")
_VERB = re.compile("^(بر|در|باز|فرو|فرا|وا)?(ن?می)(.+)$")
_WORD = re.compile(f"([{LETTERS}]+)")
def repair_words(text: str) -> tuple[str, list[str]]:
    """Each word of a run of prose repaired, and the words as repaired, a ZWNJ splitting them:
    ``"نخستوزیر و"`` -> ``("نخست‌وزیر و", ["نخست", "وزیر", "و"])`` (a ZWNJ separates words here)."""
    parts = _WORD.split(text)
    words = parts[1::2]
    # Odd items are words: one dict lookup each.
    parts[1::2] = map(_MEMO.__getitem__, words)
    repaired_text = "".join(parts)
    # The repair only ever adds ZWNJs: when it added none, the words are the pieces already.
    if len(repaired_text) != len(text):
        words = ZWNJ.join(parts[1::2]).split(ZWNJ)
    return repaired_text, words


def repaired(word: str) -> str:
    """One word as the repair writes it (memoized): ``"نخستوزیر"`` -> ``"نخست‌وزیر"``."""
    return _MEMO[word]


class _Memo(dict):
    """Word -> repaired word, computed on first sight; cleared when it grows past ``LIMIT``."""

    LIMIT = 200_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        repaired = self[word] = split_word(word, lexicon.active()) or word
        return repaired


_MEMO = _Memo()


# Other modules' memos of decisions that depend on the lexicon (spaced.py's pairs): cleared
# with the words, so a new lexicon or a cold benchmark starts them afresh too.
MEMOS: list[dict] = [_MEMO]


def clear_memo() -> None:
    """Forget repaired words (for benchmarks that time a cold start)."""
    for memo in MEMOS:
        memo.clear()


def use_lexicon(lex: Lexicon | None) -> None:
    """Repair later text with ``lex`` (None: the packaged lexicon); words seen before are redone."""
    lexicon.use(lex)
    clear_memo()


def split_word(word: str, lex: Lexicon) -> str | None:
    """The word with its ZWNJ restored, or None when no single reading wins."""
    if len(word) < 3 or word in lex.never:
        return None
    if word in lex.compounds:
        return lex.compounds[word]
    if lex.stems.get(word, _UNKNOWN)[0] >= TAGGED:
        # A word hazm tags is right as written (بیکار, بهنام the name, بیکربنات); the never
        # list was built on that rule, and checking it first spares most words every reading.
        return None
    winners = best_readings(word, lex) or _head_reading(word, lex) or _piece_reading(word, lex)
    if len(winners) != 1:
        return None
    (form,) = winners
    if form == word:
        return None
    # A piece that is a compound itself is repaired too: قائمشهری + ها -> قائم‌شهری‌ها.
    pieces = form.split(ZWNJ)
    repaired = [split_word(piece, lex) for piece in pieces]
    if any(split_word(sub, lex) for done in repaired if done for sub in done.split(ZWNJ)):
        # A piece that would split again breaks idempotence: no repair beats a wrong one. (A
        # piece left as it is was just found not to split.)
        return None
    return ZWNJ.join(done or piece for done, piece in zip(repaired, pieces))


def best_readings(word: str, lex: Lexicon) -> set[str]:
    """The readings that survive: ``"نامهای"`` -> ``{"نام‌های", "نامه‌ای"}`` (two: ambiguous)."""
    readings = (_verb_readings(word, lex) + _prefix_readings(word, lex) + _suffix_readings(word, lex)
                + _ezafe_reading(word, lex) + _heh_ezafe_reading(word, lex))
    if not readings:
        return set()
    best = max(strength for strength, _, _ in readings)
    top = sorted(((freq, form) for strength, freq, form in readings if strength == best), reverse=True)
    forms = {form for _, form in top}
    if len(forms) > 1 and top[-1][0] >= 0:
        # Every reading has a stem frequency: a far more frequent stem wins. A reading that
        # keeps the word as written (سرودهای: سرود + های) loses only to a stem 10,000 times more
        # frequent (واژهای: واژ class 0, واژه class 34, so واژه‌ای).
        runner_up = max(freq for freq, form in top if form != top[0][1])
        margin = FREQ_MARGIN if word not in forms else 4 * FREQ_MARGIN
        if top[0][0] - runner_up >= margin:
            return {top[0][1]}
    return forms


def _head_reading(word: str, lex: Lexicon) -> set[str]:
    """A word nobody knows as written, read as a compound of known words: a noun or adjective +
    a head (``"جنجالساز"`` -> ``{"جنجال‌ساز"}``), or two words joined by و (``"نفتوگاز"`` ->
    ``{"نفت‌وگاز"}``);
    ``"ورزشکاران"`` (ورزشکار + ان) -> ``set()``.

    The weakest readings, tried only when no other rule reads the word: a word hazm tags, Fars
    writes, or the rules derive (a known word + ی/ان/ها) is left as it is, and hazm's other
    joined words that one of these would split are on the never list (build_lexicon.py).
    """
    if len(word) < 6 or word in lex.stems or word in lex.verb_forms or word in lex.participles:
        return set()
    for tail in HEAD_TAILS:
        core = word[: len(word) - len(tail)]
        if not word.endswith(tail) or (tail and core in lex.stems):
            continue
        for size in _HEAD_SIZES:  # longest head first, as before: one set lookup per length
            head, stem = core[-size:], core[:-size]
            if head in _HEAD_SET and len(stem) >= 3 and stem[-1] not in NON_JOINING and _is_content(stem, lex):
                return {stem + ZWNJ + head + tail}
    return _and_reading(word, lex)


def _piece_reading(word: str, lex: Lexicon) -> set[str]:
    """A word nobody knows as written, cut at a piece learned from stored text:
    ``"برایتونسیتی"`` -> ``{"برایتون‌سیتی"}`` when سیتی is a learned second half.

    The last resort: only when no rule reads the word, the word is no known word or verb, the
    other side has ``PIECE_REST`` letters or more, and exactly one cut works.
    """
    if not (lex.heads or lex.tails) or word in lex.stems or word in lex.verb_forms or word in lex.participles:
        return set()
    cuts = [i for i in range(2, len(word) - 1) if word[i - 1] not in NON_JOINING
            and ((word[i:] in lex.tails and i >= PIECE_REST)
                 or (word[:i] in lex.heads and len(word) - i >= PIECE_REST))]
    return {word[:cuts[0]] + ZWNJ + word[cuts[0]:]} if len(cuts) == 1 else set()


def _and_reading(word: str, lex: Lexicon) -> set[str]:
    """Two nouns or adjectives, or a tens number and a number, joined by و: ``"نفتوگاز"`` ->
    ``{"نفت‌وگاز"}``, ``"بیستوسوم"`` -> ``{"بیست‌وسوم"}``, as in گفت‌وگو. Each side has three
    letters or more (ممنونم, بکوبند are no compounds), and only one cut may work.
    """
    cuts = [i for i in range(3, len(word) - 3) if word[i] == "و" and word[i - 1] not in NON_JOINING
            and _and_pair(word[:i], word[i + 1:], lex)]
    return {word[:cuts[0]] + ZWNJ + word[cuts[0]:]} if len(cuts) == 1 else set()


def _and_pair(first: str, second: str, lex: Lexicon) -> bool:
    if first in TENS:
        return second.startswith(UNITS)
    return _is_content(first, lex) and _is_content(second, lex) and second not in lex.verb_forms


def _prefix_readings(word: str, lex: Lexicon) -> list[tuple[int, int, str]]:
    """به/بی/عدم + a tagged noun or a compound: ``"بهعنوان"`` -> ``[(2, -1, "به‌عنوان")]``; a verb (بینیم) -> ``[]``."""
    if word in lex.verb_forms:
        return []
    for prefix in PREFIXES:
        rest = word[len(prefix):]
        if not word.startswith(prefix) or len(rest) < 3:
            continue
        if _is_noun(rest, lex) or _ezafe_reading(rest, lex):
            return [(SEEN, -1, prefix + ZWNJ + rest)]
        if rest in lex.compounds:  # به + a compound: بهتیمملی -> به‌تیم‌ملی
            return [(SEEN, -1, prefix + ZWNJ + lex.compounds[rest])]
    return []


def _ezafe_reading(word: str, lex: Lexicon) -> list[tuple[int, int, str]]:
    """A word ending in ا or و plus ezafe ی is a word as written: ``"انتهای"`` (انتها + ی)."""
    stem = word[:-1]
    if word[-1] == "ی" and stem[-1] in "او" and _is_tagged(stem, lex):
        return [(TAGGED, lex.stems[stem][2], word)]
    return []


def _heh_ezafe_reading(word: str, lex: Lexicon) -> list[tuple[int, int, str]]:
    """Ezafe ی after a silent ه takes a ZWNJ: ``"آیندهی"`` -> ``[(2, -1, "آینده‌ی")]``.

    Weak: after ا or و the ه is spoken (راهی, گروهی), and words like توجهی or فرماندهی are
    right as written, so a word hazm tags or Fars writes joined wins (build_lexicon's never list).
    """
    stem = word[:-1]
    if not word.endswith("هی") or len(stem) < 3 or _SPOKEN_HEH.search(stem) or _ends_in_deh(stem, lex):
        return []
    if stem in lex.compounds:
        return [(SEEN, -1, lex.compounds[stem] + ZWNJ + "ی")]
    if _is_tagged(stem, lex) or stem in lex.participles:
        return [(SEEN, -1, stem + ZWNJ + "ی")]
    return []


def _silent_heh_noun(stem: str, lex: Lexicon) -> bool:
    """A noun ending in a silent ه: ``"خانه"`` -> True, ``"گروه"`` (spoken ه) -> False."""
    return (len(stem) >= 3 and stem[-1] == "ه" and not _SPOKEN_HEH.search(stem)
            and not _ends_in_deh(stem, lex) and _is_noun(stem, lex))


def _ends_in_deh(stem: str, lex: Lexicon) -> bool:
    """A noun + ده (the present stem of دادن) ends in a spoken ه: ``"فرمانده"`` -> True.

    Not an agent noun, a present stem + نده, whose ه is silent, when the noun is far rarer than
    the word: برنده (بر + نده; برن, Bern, class 6 against 25) takes برنده‌ی like کننده‌ی, while
    فرمانده (فرمان 25, فرمانده 24) keeps its spoken ه.
    """
    if not (stem.endswith("ده") and len(stem) >= 5 and _is_noun(stem[:-2], lex)):
        return False
    agent = stem.endswith("نده") and stem[:-1] in lex.verb_forms
    return not agent or lex.stems[stem[:-2]][2] + FREQ_MARGIN > lex.stems.get(stem, (0, "", -1))[2]


def _verb_readings(word: str, lex: Lexicon) -> list[tuple[int, int, str]]:
    """می + verb form: ``"نمیتوان"`` -> ``[(3, -1, "نمی‌توان")]``; ``"میدانی"`` (میدان + ی) -> ``[]``."""
    match = _VERB.match(word)
    # A past participle after می is the past progressive of reported speech: می‌گفته, می‌دانسته.
    if not match or (match.group(3) not in lex.verb_forms and not _participle(match.group(3), lex)):
        return []
    if any(_is_tagged(word[: -len(end)], lex) for end in NOUN_ENDINGS if word.endswith(end)):
        return []
    preverb, prefix, rest = match.groups()
    return [(TAGGED, -1, (preverb or "") + prefix + ZWNJ + rest)]


def _participle(rest: str, lex: Lexicon) -> bool:
    """A past participle without the negative ن (می‌نگفته is no form): ``"گفته"`` -> True."""
    return rest in lex.participles and rest[:-1] in lex.verb_forms


def _progressive(stem: str, lex: Lexicon) -> str | None:
    """می + a past participle, which takes اند/ام/ایم/اید: ``"میتوانسته"`` -> ``"می‌توانسته"``."""
    match = _VERB.match(stem)
    if match and _participle(match.group(3), lex):
        return (match.group(1) or "") + match.group(2) + ZWNJ + match.group(3)
    return None


def _suffix_readings(word: str, lex: Lexicon) -> list[tuple[int, int, str]]:
    """(strength, stem frequency class, form) per stem + suffix split that fits."""
    readings = []
    for suffix in _BY_LAST.get(word[-1], ()):
        stem = word[: -len(suffix)]
        if len(stem) < 2 or not word.endswith(suffix):
            continue
        if suffix in ATTACHED:
            # After a silent ه, ی is the ezafe and is written apart (_heh_ezafe_reading); a
            # compound ending in ای takes nothing more (حرفه‌ای + شان is no word: حرفهایشان is
            # حرف‌هایشان).
            if stem in lex.compounds and not (suffix == "ی" and stem[-1] == "ه") and not lex.compounds[stem].endswith(ZWNJ + "ای"):
                readings.append((TAGGED, -1, lex.compounds[stem] + suffix))
            elif suffix in CLITICS and _silent_heh_noun(stem, lex) and word not in lex.stems:
                readings.append((TAGGED, -1, stem + ZWNJ + suffix))
            continue
        base, strength, freq = _stem(stem, suffix, lex)
        if base and _fits(stem, suffix, lex, known=True):
            readings.append((strength, freq, base + ("" if stem[-1] in NON_JOINING else ZWNJ) + suffix))
    return readings


def _stem(stem: str, suffix: str, lex: Lexicon) -> tuple[str | None, int, int]:
    """(how the stem is written, strength, frequency class or -1): ``"نخستوزیر"`` -> ``("نخست‌وزیر", 3, -1)``."""
    if suffix in PERFECT and stem in lex.participles:
        return stem, PARTICIPLE, -1
    if suffix == "ای" and stem in lex.participles and not _is_noun(stem[:-1], lex):
        # The perfect's second person (نکرده‌ای) beats a plural of a past stem that is no noun
        # (نکرد + های); after کرد (a Kurd) or مرد (a man) both readings live.
        return stem, PARTICIPLE, -1
    if suffix in COMPARATIVE and stem not in lex.stems and _adjective_compound(stem, lex):
        return _adjective_compound(stem, lex), TAGGED, -1
    if suffix in PERFECT and _progressive(stem, lex):
        return _progressive(stem, lex), PARTICIPLE, -1
    if stem in lex.compounds:
        return lex.compounds[stem], TAGGED, -1
    if stem in lex.stems:
        strength, _, freq = lex.stems[stem]
        return stem, strength, freq
    if stem in lex.participles:
        return stem, TAGGED, -1
    if stem[-1] == "ی" and lex.stems.get(stem[:-1], (0,))[0] > WEAK:
        # An adjective in -ی from a known word (اماراتی from امارات) is a weak stem.
        return stem, WEAK, -1
    if stem[-1] == "ی" and len(stem) >= 4 and suffix in PLURAL and not _arabic_and(stem, lex):
        # Joined ی + ها is never a spelling (پرسپولیسیها): a weak stem even when unknown.
        return stem, WEAK, -1
    return None, 0, -1


def _arabic_and(stem: str, lex: Lexicon) -> bool:
    """و glued to a known word is Arabic spelling, where ها is a pronoun: ``"وحوالی"`` (of
    وحوالیها, "and its surroundings") -> True. Persian writes و apart."""
    return stem[0] == "و" and _is_tagged(stem[1:], lex)


def _fits(stem: str, suffix: str, lex: Lexicon, known: bool) -> bool:
    """Whether ``stem`` takes ``suffix``: ("مهم", "ترین") -> True, ("به", "ای") -> False.

    ``known`` is False for a suffix written apart, whose stem need not be in the lexicon.
    """
    strength, flags, _ = lex.stems.get(stem, (0, "", -1))
    if suffix == "تری" and _is_noun(stem + "تر", lex):
        return False  # a noun in -تر + ی, no comparative: شوشتری, کلانتری (not شوش‌تری)
    if suffix == "تر" or (suffix in ("ترین", "تری") and known):
        return (strength >= TAGGED and "a" in flags) or (known and _relational(stem, lex)) or (
            known and strength == 0 and _adjective_compound(stem, lex) is not None)
    if suffix in PERFECT and (stem in lex.participles or _progressive(stem, lex)):
        return True
    if suffix in AFTER_HEH:
        # A tagged word that is neither noun nor adjective (به, چه) takes no ای.
        tagged_other = _tagged_other(stem, lex)
        if stem[-1] == "ی":
            if suffix == "ای":
                # مجری‌ای, برکناری‌ای; not دریای (دریا + ی) or دنیای, whose ی is the ezafe.
                return known and len(stem) >= 4 and stem[-2] not in "او" and stem + "ا" not in lex.stems and not tagged_other
            return known and suffix in AFTER_YEH and len(stem) >= 3 and not tagged_other
        return stem[-1] == "ه" and not tagged_other and (suffix == "ای" or known)
    if suffix in PERFECT:
        return False
    if suffix in NAMES_AFTER_YEH:
        return known and stem[-1] == "ی" and len(stem) >= 3
    if suffix in NAMES:
        return known and stem[-1] not in NON_JOINING
    # A broken plural (مطالب, سهام) takes no second plural.
    return "p" not in flags


def _relational(stem: str, lex: Lexicon) -> bool:
    """A relational adjective, a known noun + ی, takes تر like any adjective: ``"هجومی"`` -> True."""
    return len(stem) >= 5 and stem[-1] == "ی" and _is_content(stem[:-1], lex)


def _adjective_compound(stem: str, lex: Lexicon) -> str | None:
    """A compound adjective as the rules write it, which takes تر/ترین: ``"بینقص"`` -> ``"بی‌نقص"``.

    Only compounds that open with a prefix making adjectives (بی‌نقص, کم‌فروغ, خوش‌قول); a
    compound noun (نخست‌وزیر) takes no تر.
    """
    if len(stem) < 4 or not stem.startswith(ADJECTIVE_PREFIXES):
        return None
    form = lex.compounds.get(stem) or split_word(stem, lex)
    return form if form and form.split(ZWNJ, 1)[0] in ADJECTIVE_PREFIXES else None


def _tagged_other(stem: str, lex: Lexicon) -> bool:
    """A word hazm tags as neither noun nor adjective (به, چه): it takes no suffix of theirs."""
    strength, flags, _ = lex.stems.get(stem, (0, "", -1))
    return strength >= TAGGED and "n" not in flags and "a" not in flags


def _gradable(stem: str, lex: Lexicon) -> bool:
    """An adjective hazm also tags as an adverb (سخت, درست, بزرگ), which takes تر/تری."""
    strength, flags, _ = lex.stems.get(stem, (0, "", -1))
    return strength >= TAGGED and "g" in flags


def _is_noun(stem: str, lex: Lexicon) -> bool:
    strength, flags, _ = lex.stems.get(stem, (0, "", -1))
    return strength >= TAGGED and "n" in flags


def _is_content(stem: str, lex: Lexicon) -> bool:
    strength, flags, _ = lex.stems.get(stem, (0, "", -1))
    return strength >= TAGGED and ("n" in flags or "a" in flags)


def _is_tagged(stem: str, lex: Lexicon) -> bool:
    return lex.stems.get(stem, (0,))[0] >= TAGGED
