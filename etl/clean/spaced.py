"""A space where a ZWNJ belongs: ``می دهند``, ``کتاب ها``, ``خانه ی``, ``دروازه بان``.

Typed text, older sites and feeds that turned U+200C into a space write the pieces of one word
apart. A space is taken for a lost ZWNJ only where one reading clearly wins:

- a prefix that is no word of its own: ``می``/``نمی`` before a verb form, ``بی`` before a noun;
- a suffix that is no word of its own after a stem that takes it (``کتاب ها``, ``مهم ترین``,
  ``کرده اند``, ``خانه ی``, ``خواب های تان``; ``تری`` only after a gradable adjective, since
  ``جان تری`` is John Terry);
- the pieces of a packaged compound (``دروازه بان``, ``سرخ پوشان``), a family name's ending
  (``حسین زاده``), a compound head that is no word of its own (``جنجال ساز`` is not joined,
  ``مقررات زدایی`` is).

A space the writer meant stays: a preposition before its noun (``به عنوان``, ``از این رو``), a
verb after its complement (``انجام شده``), pieces the outlets write apart as often as not
(``رئیس جمهور``, ``تیم ملی``: ``Lexicon.apart``), a function word before a noun (``هم زمان``),
a suffix-like word that stands alone. Every join writes what the word joined repairs to, so a
second pass changes nothing.
"""

from __future__ import annotations

import re
from itertools import compress, islice, repeat

from . import lexicon
from .lexicon import Lexicon
from .zwnj import (AFTER_HEH, CLITICS, COMPARATIVE, HEAD_TAILS, LETTERS, NON_JOINING, PERFECT, PLURAL, ZWNJ, ATTACHED,
                   _fits, _gradable, _participle, _relational, _is_content, _is_noun, _progressive,
                   _SPOKEN_HEH, _tagged_other, MEMOS, repair_words, repaired)

# "می دهند" / "نمی توان", "بر می گردد" / "برمی گردد": the prefix written with a space, alone or
# after a preverb (the space after the preverb is kept). Only the prefix and the space are
# consumed, so "می می روم" still sees "می روم" and a second pass finds nothing new. Each
# lookbehind comes after its literal so the regex engine can jump between candidates.
_PREVERBS = ("بر", "در", "باز", "فرو", "فرا", "وا")
_PREFIXES = ("می", "نمی") + tuple(pre + neg + "می" for pre in _PREVERBS for neg in ("", "ن"))
_SPACED_PREFIX = re.compile(
    "(" + "|".join(f"{prefix}(?<![{LETTERS}{ZWNJ}]{prefix})" for prefix in _PREFIXES) + ") "
    f"(?=([{LETTERS}]+)(?![{LETTERS}{ZWNJ}]))"
)
# "ماه می" and "۱۲ می" are the month May, not the verb prefix.
_MAY = re.compile(r"(?:ماه|[0-9۰-۹])\s*$")
# "بی سابقه": the privative prefix written apart, before a noun or adjective the lexicon knows
# (two letters only in a packaged compound: بی شک, بی حد).
_SPACED_BI = re.compile(f"(?<![{LETTERS}{ZWNJ}])بی (?=([{LETTERS}]{{2,}})(?![{LETTERS}{ZWNJ}]))")
# Suffixes a writer puts after a space. None is a word of its own, except تری (a name: "جان تری").
_APART_SUFFIXES = PLURAL + COMPARATIVE + ("ای",) + PERFECT + ("ی", "اش", "ات") + CLITICS
# Those whose stem _fits_apart judges (the rest as the joined rules do, zwnj._fits).
_APART_ONLY = frozenset(("تر", "تری", "ی", "اش", "ات") + PERFECT + CLITICS)
# Looked for first: most paragraphs have no suffix written apart.
_APART = re.compile(f" (?=[{''.join(sorted({x[0] for x in _APART_SUFFIXES}))}])"
                    f"(?:{'|'.join(_APART_SUFFIXES)})(?![{LETTERS}{ZWNJ}])")
# The word before such a suffix (pieces joined by ZWNJs), found back from the suffix's space:
# looking for the suffix first is five times cheaper than trying every word of the text.
_WORD_END = re.compile(f"[{LETTERS}]+(?:{ZWNJ}[{LETTERS}]+)*\\Z")
_IN_WORD = re.compile(f"[{LETTERS}{ZWNJ}]")
# Prepositions are written apart from the noun they govern (به عنوان, در حالی که, از این رو).
PREPOSITIONS = frozenset(("به", "از", "در", "با", "بر", "تا", "برای", "بی", "جز", "چون", "مثل"))
# Number words: a number before a noun is written apart (یک میلیون, سه هفته).
NUMBERS = frozenset(("یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه", "ده", "صد", "هزار"))
# The copula is written apart from the word before it (شده است, مهم نیست).
COPULA = frozenset(("است", "هست", "نیست", "هستند", "نیستند", "بود", "بودند"))
# The closed class of words no ending or name joins when written after them: "که ای کاش" (O),
# "ولی نژاد" (but race), "هر فرد". hazm's tags cannot tell them: it tags که and در as nouns too.
FUNCTION_WORDS = PREPOSITIONS | frozenset((
    "و", "یا", "که", "اگر", "اما", "ولی", "پس", "نیز", "هم", "چه", "نه", "را", "این", "آن", "وی",
    "او", "من", "تو", "ما", "شما", "هر", "هیچ", "همین", "همان", "چند"))
# Family names' endings that are no word of their own (فرد is one: "روانی فرد", the person's
# mind): حسین زاده, احمدی نژاد, علی پور, رستم نیا, هاشمی نسب; فر only after ی (درفشی فر).
NAME_ENDINGS = ("زاده", "نژاد", "پور", "نیا", "نسب")
# "در تهران زاده شد": زاده is "born" before a form of شدن.
_BORN = frozenset(("شد", "شده", "شدند", "شدم", "شدی", "شدیم", "شدید", "است", "بود"))
# Compound heads that are no word of their own (zwnj.HEADS without ساز, نامه, بخش, بار, بین ...,
# which stand alone: "رابطه بین دو کشور"), with the endings a compound takes: مقررات زدایی,
# کشتی گیرانی, سرخ پوشان.
BOUND_HEADS = (
    "کننده", "سازی", "آمیز", "پذیر", "بندی", "گرا", "شناسی", "گیری", "شناس", "گرایی", "آور",
    "دهنده", "نشین", "گذاری", "انگیز", "ناپذیر", "نویسی", "نویس", "پذیری", "کشی", "جویی", "خوار",
    "طلبی", "پرست", "پوش", "زدگی", "آلود", "پرستی", "زدایی", "پرور", "خوانی", "برداری", "خور",
    "بافی", "برانگیز", "پرداز", "پردازی", "کنان", "گرایانه", "خیز", "نواز", "سوز", "آفرینی",
    # Plurals and abstract nouns of the agent and passive participles (کننده -> کنندگان, شده ->
    # شدگان), never a word of their own: مصرف کنندگان, کشته شدگان, سیل زدگان, تهیه کنندگی. Not
    # دیدگان, which is also "eyes" (در برابر دیدگان مردم).
    "کنندگان", "کنندگی", "دهندگان", "دهندگی", "گیرندگان", "شدگان", "زدگان",
)
_BOUND = frozenset(head + tail for head in BOUND_HEADS for tail in HEAD_TAILS)
_RIGHT_WORDS = _BOUND | frozenset(NAME_ENDINGS + ("فر",))
# Inflections a compound takes after its last piece (سرخ‌پوش + ان, دروازه‌بان + ها, فوق‌العاده
# + ای), up to two of them (ذوب‌آهن + ی + ها).
_ENDINGS = tuple(sorted(set(ATTACHED + PLURAL + AFTER_HEH), key=len, reverse=True))


def repair(text: str) -> str:
    """ZWNJ restored in a run of prose: ``"نخستوزیر می دهند"`` -> ``"نخست‌وزیر می‌دهند"``."""
    if not text:
        return text
    # Words first: a suffix written apart is then judged on the word before it exactly as a
    # second pass will see it ("نخستوزیر تر" looks at "وزیر", not "نخستوزیر"), so it is stable.
    text, words = repair_words(text)
    joined = join_spaced(text, words)
    # A space taken for a ZWNJ leaves every word as it was; one removed (کشور ها -> کشورها)
    # makes a new word, which is repaired in its turn.
    return joined if len(joined) == len(text) else repair_words(joined)[0]


def join_spaced(text: str, words: list[str] | None = None, lex: Lexicon | None = None) -> str:
    """Prefixes, suffixes and the pieces of known words written apart, joined:
    ``"می روم کتاب ها دروازه بان"`` -> ``"می‌روم کتاب‌ها دروازه‌بان"``. ``words``: the words of
    ``text`` in order (letters only, a ZWNJ splitting them), when the caller has them."""
    if " " not in text:
        # Every repair here is of a space (a one-word search query never pays for the index).
        return text
    lex = lex or lexicon.active()
    before = text
    if "می " in text:
        text = _SPACED_PREFIX.sub(lambda m: _join_prefix(m, lex), text)
    if "بی " in text:
        text = _SPACED_BI.sub(lambda m: _join_bi(m, lex), text)
    text = _join_suffixes(text, lex)
    # The pieces are looked for among the words as they are now, so a second pass sees the same
    # (a space turned into a ZWNJ changes none of them; one removed does).
    return join_pieces(text, words if len(text) == len(before) else None, lex)


def _join_prefix(match: re.Match, lex: Lexicon) -> str:
    prefix, verb = match.group(1), match.group(2)
    if prefix in ("می", "نمی"):
        start = match.start()
        if _verb(verb, lex) and not _MAY.search(match.string[max(0, start - 8):start]):
            return prefix + ZWNJ
    elif _verb(verb, lex) and repaired(prefix + verb) == prefix + ZWNJ + verb:
        return prefix + ZWNJ  # "برمی گردد" -> "برمی‌گردد", as the word joined repairs
    return match.group()


def _verb(word: str, lex: Lexicon) -> bool:
    """A verb form, or a past participle (می گفته: the reported past) that may follow می."""
    return word in lex.verb_forms or _participle(word, lex)


def _function_word(word: str, lex: Lexicon) -> bool:
    return word in FUNCTION_WORDS


def _join_bi(match: re.Match, lex: Lexicon) -> str:
    """بی + a noun or adjective (``بی سابقه``), or its abstract noun in ی (``بی اهمیتی``); not
    بی + a function word (``بی آنکه``) or a word the joined letters spell on their own
    (``بیمار``), unless the lexicon writes that word with the ZWNJ (``بی‌کران``, ``بی‌شک``)."""
    rest = match.group(1)
    joined = "بی" + rest
    if joined in lex.never or _function_word(rest, lex):
        return match.group()
    form = lex.compounds.get(joined)
    if form and form.startswith("بی" + ZWNJ):
        return "بی" + ZWNJ
    if joined in lex.stems or len(rest) < 3:
        return match.group()
    if _is_content(rest, lex) or (rest[-1] == "ی" and _is_content(rest[:-1], lex)):
        return "بی" + ZWNJ
    return match.group()


def _join_suffixes(text: str, lex: Lexicon) -> str:
    """Each suffix written apart joined to the word before it where that word takes it:
    ``"کتاب ها که ای کاش"`` -> ``"کتاب‌ها که ای کاش"``."""
    chars = None
    for match in _APART.finditer(text):
        space = match.start()
        word = _word_before(text, space)
        if word and _joins_suffix(word, match.group()[1:], lex):
            chars = chars or list(text)
            chars[space] = "" if word[-1] in NON_JOINING else ZWNJ
    return "".join(chars) if chars else text


def _word_before(text: str, end: int) -> str | None:
    """The word that ends at ``end`` (letters, ZWNJs between them), or None when the letters
    there are no such word (a ZWNJ at its edge)."""
    match = _WORD_END.search(text, text.rfind(" ", 0, end) + 1, end)
    if match is None or (match.start() and _IN_WORD.match(text, match.start() - 1)):
        return None
    return match.group()


def _joins_suffix(word: str, suffix: str, lex: Lexicon) -> bool:
    stem = word.rsplit(ZWNJ, 1)[-1]
    if len(stem) < 2 or (suffix not in PLURAL and _function_word(stem, lex)):
        return False  # "که ای کاش": no ending joins که, در, این (آن ها does: آن‌ها)
    return _fits_apart(stem, suffix, lex) if suffix in _APART_ONLY else _fits(stem, suffix, lex, known=False)


def _fits_apart(stem: str, suffix: str, lex: Lexicon) -> bool:
    """Whether ``stem`` takes ``suffix`` the writer put after a space: ("خانه", "ی") -> True,
    ("جان", "تری") -> False (John Terry), ("سیستم", "ام") -> False.

    After a silent ه or a final ی these endings are never a word of their own (خانه ی, ویرانه ایم,
    بازی اش, چرانی مان); after another letter only a participle takes the perfect's endings, and
    only a noun or an adjective (or a plural) takes a possessive (تیم مان, خواب های تان).
    """
    if suffix == "تری":
        return (_gradable(stem, lex) or _relational(stem, lex)) and not _is_noun(stem + "تر", lex)
    if suffix == "تر":  # هجومی تر: a relational adjective takes تر like any adjective
        return _relational(stem, lex) or _fits(stem, suffix, lex, known=False)
    if suffix in PERFECT and (stem in lex.participles or _progressive(stem, lex)):
        return True
    if _tagged_other(stem, lex):
        return False
    if stem[-1] == "ه" and not _SPOKEN_HEH.search(stem):
        return True  # the ezafe, the indefinite, a possessive or the copula after a silent ه
    if stem[-1] == "ی" and len(stem) >= 3:
        return suffix != "ی"  # ی + ی is no spelling
    if suffix in CLITICS:
        # A noun or adjective, or a word the outlets write on its own (تیم, سوالات).
        return stem in ("ها", "های") or _is_content(stem, lex) or (len(stem) >= 3 and stem in lex.stems)
    return False


def join_pieces(text: str, words: list[str] | None = None, lex: Lexicon | None = None) -> str:
    """Two words written apart that are the pieces of one, joined by a ZWNJ: ``"دروازه بان سرخ
    پوشان حسین زاده"`` -> ``"دروازه‌بان سرخ‌پوشان حسین‌زاده"``; ``"رئیس جمهور"``, ``"به عنوان"``,
    ``"رابطه بین"`` stay (see the module docstring)."""
    lex = lex or lexicon.active()
    nexts, follows = _pair_index(lex)
    words = _WORD_ONLY.findall(text) if words is None else words
    # Lookups mapped in C narrow the text to the word pairs a compound could make ("دروازه بان")
    # and the words a name or a head could end: no Python loop over the words.
    hits = list(map(frozenset.__contains__, map(follows.get, words, repeat(_NONE)), islice(words, 1, None)))
    pairs = set(map(" ".join, compress(zip(words, islice(words, 1, None)), hits))) if any(hits) else ()
    rights = _RIGHT_WORDS.intersection(words)
    if not (pairs or rights):
        return text
    spaces = sorted(set(_candidate_spaces(text, pairs, rights)))
    # A join may make the next one ("ضمن آن که": آن‌که first, then ضمن‌آن‌که; "فتح الله زاده"):
    # again, over the spaces left, until nothing changes, so a second pass finds nothing.
    while spaces:
        joined = [space for space in spaces if _joins_at(text, space, nexts, lex)]
        if not joined:
            break
        chars = list(text)
        for space in joined:
            chars[space] = ZWNJ
        text = "".join(chars)
        spaces = [space for space in spaces if space not in joined]
    return text


def _joins_at(text: str, space: int, nexts: dict, lex: Lexicon) -> bool:
    """Whether the space at ``space`` is a ZWNJ written as a space (memoized by the words
    around it: the same pair decides the same way wherever it is)."""
    left, right = _token_before(text, space), _token_after(text, space)
    if not (left and right):
        return False
    key: tuple[str, ...] = (left, right)
    if right == "زاده" or (left + right).replace(ZWNJ, "") in nexts:
        # The word after decides too: زاده شد (born), the rest of a longer compound.
        end = space + 1 + len(right)
        key = (left, right, _token_after(text, end) if text[end:end + 1] == " " else "")
    found = _DECIDED.get(key)
    if found is None:
        if len(_DECIDED) >= _DECIDED_LIMIT:
            _DECIDED.clear()
        found = _DECIDED[key] = _belong_together(left, right, text, space, nexts, lex)
    return found


# (left, right[, the word after]) -> joined or not; cleared with zwnj's memo (a new lexicon).
_DECIDED: dict[tuple[str, ...], bool] = {}
_DECIDED_LIMIT = 50_000
MEMOS.append(_DECIDED)


_WORD_ONLY = re.compile(f"[{LETTERS}]+")
_TOKEN_TAIL = re.compile(f"[{LETTERS}]+(?:{ZWNJ}[{LETTERS}]+)*$")
_TOKEN_AFTER = re.compile(f"[{LETTERS}]+(?:{ZWNJ}[{LETTERS}]+)*(?![{LETTERS}])")


def _candidate_spaces(text: str, pairs, rights):
    """Offsets of the spaces inside a word pair of ``pairs`` or before a word of ``rights``."""
    for pair in pairs:
        start = text.find(pair)
        while start >= 0:
            yield start + pair.index(" ")
            start = text.find(pair, start + 1)
    for word in rights:
        start = text.find(" " + word)
        while start >= 0:
            yield start
            start = text.find(" " + word, start + 1)


def _token_before(text: str, space: int) -> str:
    """The word (pieces joined by ZWNJ) that ends at ``space``."""
    match = _TOKEN_TAIL.search(text, text.rfind(" ", 0, space) + 1, space)
    return match.group() if match else ""


def _token_after(text: str, space: int) -> str:
    match = _TOKEN_AFTER.match(text, space + 1)
    return match.group() if match else ""


def _belong_together(left: str, right: str, text: str, space: int, nexts: dict, lex: Lexicon) -> bool:
    """Whether ``left right`` is one word written apart (see ``join_pieces``)."""
    last = left.rsplit(ZWNJ, 1)[-1]
    if last in PREPOSITIONS or last[-1] in NON_JOINING:
        return False  # a preposition before its noun is written apart; no ZWNJ after ا د ر ز و
    if _compound(left, right, text, space + 1 + len(right), nexts, lex):
        return True
    if right in _RIGHT_WORDS:
        return _name_or_head(last, right, text, space + 1 + len(right), lex)
    return False


def _name_or_head(last: str, right: str, text: str, end: int, lex: Lexicon) -> bool:
    """A family name's ending after a name (``حسین زاده``, ``درفشی فر``), or a bound compound
    head after a noun or adjective (``مقررات زدایی``)."""
    if len(last) < 3 or _function_word(last, lex) or _tagged_other(last, lex):
        return False
    if right == "فر":
        return last[-1] == "ی"
    if right in NAME_ENDINGS:
        following = text[end:end + 12].split(None, 1)
        return right != "زاده" or not following or following[0] not in _BORN
    return _is_content(last, lex) and last not in lex.verb_forms


def _compound(left: str, right: str, text: str, end: int, nexts: dict, lex: Lexicon) -> bool:
    """A packaged compound's pieces, the last one maybe inflected: ("دروازه", "بان") -> True,
    ("سرخ", "پوشان") -> True, ("پاری", "سن") before "ژرمن" -> True; the form written is what the
    word joined repairs to."""
    letters = left.replace(ZWNJ, "")
    first = right.split(ZWNJ, 1)[0]
    if first not in nexts.get(letters, ()):
        return False
    if _verb_after(first, lex):
        return False
    joined = letters + right.replace(ZWNJ, "")
    if any(_cuts_compound(key, len(letters), lex) for key in _without_endings(joined)):
        # Exactly what the word joined repairs to, so a second pass keeps it (a packaged compound
        # repairs to its entry: no reading needs trying).
        form = lex.compounds.get(joined) if joined not in lex.never else None
        return (form or repaired(joined)) == left + ZWNJ + right
    # The first two pieces of a longer compound written apart (پاری سن ژرمن): the word after
    # completes it; that pair is joined in the next round.
    after = _token_after(text, end) if text[end:end + 1] == " " else ""
    longer = joined + after.replace(ZWNJ, "")
    return bool(after) and any(_cuts_compound(key, len(letters), lex) and _cuts_compound(key, len(joined), lex)
                               for key in _without_endings(longer)) \
        and repaired(longer) == left + ZWNJ + right + ZWNJ + after


def _verb_after(word: str, lex: Lexicon) -> bool:
    """A verb after its complement is written apart (هم گفت, پیش‌بینی شده است, نگه داریم); a
    present stem + ی is the noun of a compound (قرعه‌کشی, پیش‌بینی, رده‌بندی): ``"شده"`` -> True."""
    return word in lex.participles or word in COPULA or (word in lex.verb_forms and word[-1] != "ی")


def _without_endings(word: str):
    """``word`` and ``word`` without one or two inflections: "ذوبآهنیها" -> ذوبآهنیها, ذوبآهنی, ذوبآهن ..."""
    yield word
    for end in _ENDINGS:
        if word.endswith(end):
            shorter = word[: -len(end)]
            yield shorter
            yield from (shorter[: -len(second)] for second in _ENDINGS if shorter.endswith(second))


def _cuts_compound(key: str, cut: int, lex: Lexicon) -> bool:
    """Whether the packaged compound ``key`` has a ZWNJ after its first ``cut`` letters:
    ("دروازهبان", 6) -> True (دروازه‌بان)."""
    form = lex.compounds.get(key)
    if not form or key in lex.apart:
        return False
    letters = 0
    for char in form:
        if char == ZWNJ and letters == cut:
            return True
        letters += char != ZWNJ
    return False


# Endings a compound's last piece takes joined, looked for after a space: سرخ پوشان, دروازه بانی,
# and the plural after a non-joining letter (کلان شهرها, نرم افزارهای: no ZWNJ before ها there).
_PIECE_ENDINGS = ("ان", "ی", "یان", "انی", "ها", "های", "هایی")
_INDEX: dict[int, tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]] = {}
_NONE: frozenset[str] = frozenset()


def _following(piece: str, last: bool, lex: Lexicon) -> set[str]:
    """The forms of a compound's piece looked for after its space: the piece, and a last piece also
    with the endings a compound takes joined. A verb after its complement stays apart, but the
    piece inflected may be no verb (دولت مردان: مرد is also "died", مردان only "men")."""
    forms = {piece} | ({piece + end for end in _PIECE_ENDINGS} if last else set())
    return {form for form in forms if not _verb_after(form, lex)}


def _pair_index(lex: Lexicon) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Per lexicon: the letters before each ZWNJ of every compound that may be joined -> the
    pieces that may follow them (``"فتح‌الله‌زاده"`` gives ``فتح -> {الله}``, ``فتحالله ->
    {زاده}``), and the same by the piece just before (``الله -> {زاده}``: the words as a text
    shows them), a last piece also with the endings a compound takes joined (``سرخ -> {پوشان}``)."""
    key = id(lex)
    if key not in _INDEX:
        index: dict[str, set[str]] = {}
        follows: dict[str, set[str]] = {}
        pieces: dict[tuple[str, bool], set[str]] = {}  # (piece, last) -> what may follow: pieces repeat
        for joined, form in lex.compounds.items():
            parts = form.split(ZWNJ)
            # Compounds _compound would never join are left out (fewer pairs to look for), and so
            # are a number before a noun (یک میلیون, سه هفته: apart, but for the weekdays) and a
            # word repeated around a preposition (یک به یک, خانه به خانه).
            if (joined not in lex.apart and PREPOSITIONS.isdisjoint(parts)
                    and (parts[0] not in NUMBERS or parts[1] == "شنبه")):
                for k in range(1, len(parts)):
                    following = pieces.get((parts[k], k == len(parts) - 1))
                    if following is None:
                        following = pieces[parts[k], k == len(parts) - 1] = _following(parts[k], k == len(parts) - 1, lex)
                    index.setdefault("".join(parts[:k]), set()).update(following)
                    follows.setdefault(parts[k - 1], set()).update(following)
        _INDEX.clear()  # one lexicon in use at a time
        _INDEX[key] = ({left: frozenset(after) for left, after in index.items()},
                       {piece: frozenset(after) for piece, after in follows.items()})
    return _INDEX[key]
