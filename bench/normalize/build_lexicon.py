"""Rebuild the ZWNJ-repair lexicon under etl/clean/data/ from hazm's word list and Fars News text.

    .venv/bin/python bench/normalize/build_lexicon.py                # reads /work/shared/data
    .venv/bin/python bench/normalize/build_lexicon.py --data DIR --out etl/clean/data

Inputs: DIR/lexicon/hazm/{words.dat,verbs.dat,LICENSE} and DIR/fars-news/*.json. Only the
training split of Fars (see ``corpus.py``: every document whose index % 5 != 4) is read, so
the benchmark's held-out split stays unseen. The output is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import corpus  # noqa: E402  (bench/normalize/corpus.py)
from etl.clean.lexicon import SEEN, TAGGED, Lexicon, verb_tables  # noqa: E402
from etl.clean.text import normalize_safe  # noqa: E402
from etl.clean import zwnj  # noqa: E402
from etl.clean.zwnj import LETTERS, NON_JOINING, ZWNJ, best_readings, split_word  # noqa: E402

# Words the product promises never to change, whatever the sources say: hazm lists "میدانی"
# as a misspelling of "می‌دانی", but in news it is the adjective of "میدان" (گزارش میدانی).
NEVER = (
    "میدان", "میدانی", "میلیون", "میزان", "میراث", "بیمار", "بیشتر", "بیشترین", "بیشتری", "کمتری", "بین",
    "خوشحال", "خوشحالی", "بیهار",
    # A spoken final ه takes ی joined (zwnj._heh_ezafe_reading leaves the regular patterns alone).
    "فقهی", "وجهی", "شبهی", "تبهی", "زرهی", "سیهی", "پیهی", "ابلهی", "فربهی", "روبهی", "روزبهی",
    "کوتهی", "مشتهی", "توجهی", "تنبهی", "منتهی", "بدیهی", "آگهی", "انبهی",
)
# Words whose standard spelling is joined though hazm lists them with a ZWNJ (خوش‌حال): a
# compound that splits inside one of them is written with the word joined (خوشحال‌کننده).
JOINED = ("خوشحال",)
# Words the rules read two ways, settled by hand for news text, with the evidence:
# نامهای: نامه‌ای ("a letter", the seed's «تدوین نامه‌ای مشروح») 9 times in Fars train, نام‌های 6.
CHOSEN = {"نامهای": "نامه‌ای"}
# Fars-derived stems must be seen at least this often so one typo does not become a word.
MIN_SEEN = 2
# A word the rules read two ways is settled by the corpus only on clear evidence: the winning
# spelling seen this often, and this many times more often than all the others together.
MIN_EVIDENCE, EVIDENCE_RATIO = 2, 3
_TOKEN = re.compile(f"[{LETTERS}]+(?:{ZWNJ}[{LETTERS}]+)*")
_PLAIN = re.compile(f"[{LETTERS}]{{2,}}")
# Two content words Fars writes apart this often are a phrase (تیم ملی, لیگ برتر, جام جهانی);
# glued together they are a word that lost its ZWNJ or space, never a word of its own.
MIN_PAIR = 3
# hazm tags of content words; a piece with any other tag (که, این, از, وی) is a function word,
# and a phrase with one ("این کشور", "است که") is grammar, not a name for one thing.
CONTENT_TAGS = {"N", "AJ"}
FUNCTION_TAGS = {"P", "CONJ", "DET", "PRO", "POSTP", "PR", "PS", "ZVR", "INT", "NIN", "COMP", "V"}


@dataclass
class Sources:
    freq: dict[str, int] = field(default_factory=dict)       # words.dat frequency
    tags: dict[str, set[str]] = field(default_factory=dict)  # words.dat tags ("0": none)
    verbs: list[tuple[str, str]] = field(default_factory=list)
    joined: collections.Counter = field(default_factory=collections.Counter)  # Fars, no ZWNJ
    zwnj: collections.Counter = field(default_factory=collections.Counter)    # Fars, with ZWNJ
    pairs: collections.Counter = field(default_factory=collections.Counter)   # Fars, "تیم ملی": 37
    pieces: collections.Counter = field(default_factory=collections.Counter)  # every word, ZWNJ pieces apart


def read_sources(data: Path, texts: list[str]) -> Sources:
    src = Sources()
    for line in (data / "lexicon/hazm/words.dat").read_text(encoding="utf-8").splitlines():
        word, freq, tags = line.split("\t")
        word = normalize_safe(word)
        src.freq[word] = max(src.freq.get(word, 0), int(freq))
        src.tags.setdefault(word, set()).update(t for t in tags.split(",") if t != "0")
    src.verbs = read_verbs(data / "lexicon/hazm/verbs.dat")
    for text in texts:
        text = normalize_safe(text)
        for token in _TOKEN.findall(text):
            (src.zwnj if ZWNJ in token else src.joined)[token] += 1
            src.pieces.update(token.split(ZWNJ))
        src.pairs.update(_spaced_pairs(text))
    return src


def _spaced_pairs(text: str):
    """Two words with one space between them: "تیم ملی ایران" -> ("تیم", "ملی"), ("ملی", "ایران")."""
    chunks = text.split(" ")
    return ((a, b) for a, b in zip(chunks, chunks[1:]) if _PLAIN.fullmatch(a) and _PLAIN.fullmatch(b))


def read_verbs(path: Path) -> list[tuple[str, str]]:
    """``past#present`` lines; "آخت#آهنج یا آهاز" gives two present stems."""
    pairs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        past, _, presents = line.partition("#")
        for present in presents.split(" یا "):
            pairs.add((past.strip(), present.strip()))
    return sorted(pairs)


def build_stems(src: Sources) -> dict[str, tuple[int, str, int]]:
    """Words that may carry a suffix: tagged hazm words, and words Fars writes on their own."""
    stems = {}
    for word, tags in src.tags.items():
        if tags and ZWNJ not in word:
            flags = "".join(f for f, tag in (("n", "N"), ("a", "AJ"), ("p", "PL")) if tag in tags)
            # An adjective hazm also tags as an adverb is gradable (سخت, درست): it takes تری
            # written apart; جان (N, AJ) does not (جان تری is John Terry).
            flags += "g" if {"AJ", "ADV"} <= tags else ""
            stems[word] = (TAGGED, flags, round(4 * math.log10(src.freq[word] + 1)))
    for word, count in src.joined.items():
        if count >= MIN_SEEN and word not in stems:
            stems[word] = (SEEN, "", -1)
    return stems


def build_compounds(src: Sources, rules: Lexicon) -> dict[str, str]:
    """Joined form -> ZWNJ form, for every ZWNJ spelling that beats its joined twin.

    hazm's words.dat lists ~13k ZWNJ spellings; an untagged row (tag 0) carries no POS and no
    frequency, and some untagged joined rows are misspellings of a ZWNJ word (میدانی for
    می‌دانی). A joined form the rules read two ways (نامهای: نام‌های or نامه‌ای) stays out
    unless the Fars counts settle it clearly (سالهای: سال‌های 32, ساله‌ای 0).
    """
    best: dict[str, tuple[tuple[int, int], str]] = {}
    for form in set(src.zwnj) | {w for w in src.freq if ZWNJ in w}:
        joined = form.replace(ZWNJ, "")
        form = rejoin(form)
        if form == joined or not _well_formed(form) or joined in NEVER or not _zwnj_preferred(form, joined, src):
            continue
        if form not in src.freq and src.zwnj[form] < MIN_SEEN and not _pieces_known(form, rules):
            continue  # seen once in Fars, not in hazm, pieces not words: likely a typo
        if len(best_readings(joined, rules)) > 1 and not _settled(form, joined, rules, src):
            continue
        score = (src.zwnj[form], src.freq.get(form, 0))
        if joined not in best or (score, form) > best[joined]:
            best[joined] = (score, form)
    chosen = {joined: form for joined, (_, form) in best.items()}
    return {j: f for j, f in ({**chosen, **CHOSEN}.items()) if f != j}


def settle_two_way(src: Sources, rules: Lexicon) -> dict[str, str]:
    """A noun in silent ه + ای that is also a word + های, read as the stem the news texts use far
    more: ``"خانهای"`` -> ``"خانه‌ای"`` (خانه 92 times, خان 2), ``"ضربهای"`` -> ``"ضربه‌ای"``,
    ``"وزنهای"`` -> ``"وزن‌های"`` (وزن 41, وزنه 1). hazm's counts (خان: a title in many names)
    would choose the other; the rules alone leave such a word as it is, or pick by hazm's counts."""
    chosen = {}
    for heh, (strength, flags, _) in rules.stems.items():
        bare = heh[:-1]
        if strength < TAGGED or not heh.endswith("ه") or len(bare) < 2 or bare not in rules.stems:
            continue
        word = heh + "ای"
        readings = {bare + ZWNJ + "های", heh + ZWNJ + "ای"}
        if not best_readings(word, rules) & readings:
            continue  # neither is a reading the rules see (a spoken ه, a verb ...)
        bare_n, heh_n = src.pieces[bare], src.pieces[heh]
        if heh_n >= TWO_WAY_MIN and heh_n >= TWO_WAY_RATIO * bare_n:
            chosen[word] = heh + ZWNJ + "ای"
        elif bare_n >= TWO_WAY_MIN and bare_n >= TWO_WAY_RATIO * heh_n and bare[-1] not in NON_JOINING:
            chosen[word] = bare + ZWNJ + "های"
    return {w: f for w, f in chosen.items() if split_word(w, rules) != f}


# A two-way word (settle_two_way) is read as the stem the texts write this often, and this
# many times as often as the other.
TWO_WAY_MIN, TWO_WAY_RATIO = 5, 5


def build_phrases(src: Sources, rules: Lexicon) -> dict[str, str]:
    """Glued phrase -> phrase with ZWNJ, for two content words Fars writes apart at least
    ``MIN_PAIR`` times: "تیمملی" -> "تیم‌ملی". Left out: a glued form hazm lists or Fars writes
    joined about as often (آنچه, همچنین), a verb phrase (تصریح کرد), one the rules already read.
    """
    phrases = {}
    for (first, second), n in src.pairs.items():
        joined = first + second
        if n < MIN_PAIR or first[-1] in NON_JOINING or not (_content(first, src) and _content(second, src)):
            continue
        if joined in src.freq or joined in rules.stems or joined in NEVER or 3 * src.joined[joined] > n:
            continue
        if second in rules.verb_forms or second in rules.participles or best_readings(joined, rules):
            continue
        phrases[joined] = first + ZWNJ + second
    return phrases


def build_apart(compounds: dict[str, str], phrases: set[str], texts: list[str], src: Sources) -> set[str]:
    """Compounds whose pieces Fars writes with a space between some of them at least as often
    as with ZWNJ only or joined (``رئیس جمهور`` 65 times, ``رئیس‌جمهور`` 22), and the phrases no
    ZWNJ spelling supports: there the space is the writer's spelling, so ``zwnj.join_spaced``
    leaves it (``تیم ملی``, ``به طور``, ``پیش‌بینی شده``)."""
    by_pieces = {tuple(form.split(ZWNJ)): joined for joined, form in compounds.items()}
    apart: collections.Counter = collections.Counter()
    together: collections.Counter = collections.Counter()
    for text in texts:
        text = normalize_safe(text)
        for token in _TOKEN.findall(text):
            if ZWNJ not in token:
                together[token] += 1  # written joined
        # Pieces with the separator before each: "پیش‌بینی شده" -> (پیش, ""), (بینی, ZWNJ), (شده, " ");
        # "" after a piece that is not adjacent (punctuation between).
        pieces = re.findall(f"([ {ZWNJ}]?)([{LETTERS}]+)", text)
        for n in range(2, MAX_APART + 1):
            for k in range(len(pieces) - n + 1):
                run = pieces[k:k + n]
                joined = by_pieces.get(tuple(word for _, word in run))
                seps = {sep for sep, _ in run[1:]}
                if joined and "" not in seps:
                    (apart if " " in seps else together)[joined] += 1
    usual = {j for j, n in apart.items() if n >= APART_MIN and n >= APART_RATIO * together[j]}
    # A compound no dictionary lists whose pieces are all words of their own (ایران‌امروز, "Iran
    # today", as a few writers spell it) is a phrase written apart, unless the texts clearly
    # write it as one word. Family names are no phrase (انصاری‌فرد).
    free = {j for j, f in compounds.items() if not src.tags.get(f) and f.rsplit(ZWNJ, 1)[-1] not in zwnj.NAMES
            and all(src.tags.get(p) for p in f.split(ZWNJ))
            and not (together[j] >= FREE_MIN and together[j] >= FREE_RATIO * apart[j])}
    return phrases | usual | free


# The most pieces of a compound counted written apart (فتح الله زاده).
MAX_APART = 4
# A compound is written apart as a spelling of its own when seen so this often, and this many times
# as often as with ZWNJ or joined (lexicon_cv.py).
APART_MIN, APART_RATIO = 5, 5
# A phrase-like compound (all pieces words of their own) is joined only when written as one word
# this often and this many times as often as apart.
FREE_MIN, FREE_RATIO = 3, 3


def _content(word: str, src: Sources) -> bool:
    """A noun or adjective, or a word hazm does not tag (تیم) that Fars writes on its own."""
    tags = src.tags.get(word, set())
    if not tags:
        return src.joined[word] >= MIN_SEEN and len(word) >= 3
    return bool(tags & CONTENT_TAGS) and not tags & FUNCTION_TAGS


def rejoin(form: str) -> str:
    """A ZWNJ inside a JOINED word removed: "خوش‌حال‌کننده" -> "خوشحال‌کننده"."""
    for word in JOINED:
        split = split_word_at(word, form)
        if split:
            form = form.replace(split, word)
    return form


def split_word_at(word: str, form: str) -> str | None:
    """How ``word`` appears in ``form`` with ZWNJ inside it, or None: ("خوشحال", "خوش‌حال‌کننده") -> "خوش‌حال"."""
    pattern = f"{ZWNJ}?".join(map(re.escape, word))
    match = re.search(pattern, form)
    return match.group() if match and ZWNJ in match.group() else None


def _settled(form: str, joined: str, rules: Lexicon, src: Sources) -> bool:
    """Whether the corpus clearly prefers ``form`` among the rules' readings of ``joined``."""
    others = best_readings(joined, rules) - {form}
    # A reading without ZWNJ (واحدهای) is what a joined spelling in the corpus supports.
    rivals = sum(src.zwnj[o] if ZWNJ in o else src.joined[o] for o in others)
    return src.zwnj[form] >= MIN_EVIDENCE and src.zwnj[form] >= EVIDENCE_RATIO * rivals


def _pieces_known(form: str, rules: Lexicon) -> bool:
    """Every piece of a ZWNJ form is a tagged word: "روز‌به‌روز" yes, "روزبه‌روز" no."""
    return all(rules.stems.get(p, (0,))[0] >= TAGGED for p in form.split(ZWNJ))


def canonical(compounds: dict[str, str], lex: Lexicon) -> dict[str, str]:
    """Each compound with its pieces repaired too: "آب‌میوه‌گیری" keeps no joined "آبمیوه" piece."""
    out = {}
    for joined, form in compounds.items():
        for _ in range(3):
            # A piece that is a dictionary word stays whole ("نه‌تنها", not "نه‌تن‌ها": the
            # rules read تنها as تن + ها) unless it is itself a compound ("بی‌این‌که").
            pieces = [p if _tagged(p, lex) and p not in lex.compounds else split_word(p, lex) or p
                      for p in form.split(ZWNJ)]
            if ZWNJ.join(pieces) == form:
                break
            form = ZWNJ.join(pieces)
        out[joined] = form
    return out


def _tagged(word: str, lex: Lexicon) -> bool:
    return lex.stems.get(word, (0,))[0] >= TAGGED


def _well_formed(form: str) -> bool:
    """A ZWNJ only after a joining letter, between two letters: "کشور‌ها" is not well formed."""
    pieces = form.split(ZWNJ)
    return all(len(p) >= 1 for p in pieces) and all(p[-1] not in NON_JOINING for p in pieces[:-1])


def _zwnj_preferred(form: str, joined: str, src: Sources) -> bool:
    """The ZWNJ spelling wins unless the joined one is a tagged word that is more frequent."""
    if not src.tags.get(joined):
        return True
    if src.zwnj[form] > 0 and src.zwnj[form] >= src.joined[joined]:
        return True
    return src.freq.get(form, 0) >= src.freq.get(joined, 0) and bool(src.tags.get(form))


def build_never(src: Sources, lex: Lexicon) -> set[str]:
    """Words a rule would split though nothing says the split spelling is right.

    A tagged hazm word is right as written. An untagged one (hazm: تنهایی, tag 0), or one
    Fars writes joined, is right as written when only a weak stem splits it (تن + هایی) and
    neither source ever spells it with a ZWNJ.
    """
    never = set(NEVER)
    twins = {w.replace(ZWNJ, "") for w in src.freq if ZWNJ in w} | {w.replace(ZWNJ, "") for w in src.zwnj}
    tagged = {w for w, tags in src.tags.items() if tags and ZWNJ not in w}
    untagged = {w for w, tags in src.tags.items() if not tags and ZWNJ not in w}
    untagged |= {w for w, n in src.joined.items() if n >= MIN_SEEN}
    for word in sorted(tagged | (untagged - twins)):
        if word in lex.compounds:
            continue
        form = split_word(word, lex)
        if form and word not in tagged and src.joined[word] < _misspelling_evidence(form):
            continue  # a joined spelling that is wrong whoever writes it (کلمهی, پرسپولیسیها)
        if form and (word in tagged or _split_strength(word, form, lex) < TAGGED):
            never.add(word)
    # Pieces of a compound must stay whole, or a second pass would split them again.
    full = Lexicon(lex.compounds, lex.stems, frozenset(never), lex.verb_forms, lex.participles)
    for form in lex.compounds.values():
        for piece in form.split(ZWNJ):
            if split_word(piece, full):
                never.add(piece)
    return never


def _misspelling_evidence(form: str) -> int:
    """How often Fars must write a word joined before a rule that reads it as a misspelling is
    overruled: ه + ی (کلمهی) and ی + ها (ایرانیها) are never standard joined, so hazm's untagged
    rows prove nothing and Fars must show the joined form really is a word; other splits: 0."""
    if form.endswith("ه" + ZWNJ + "ی"):
        return 1
    if re.search(f"ی{ZWNJ}ها[^{ZWNJ}]*$", form):
        return MIN_SEEN * 5
    return 0


def _split_strength(word: str, form: str, lex: Lexicon) -> int:
    """How strong the stem behind a split is: "تنهایی" -> "تن‌هایی" rests on "تن" (seen, 2)."""
    stem = form.split(ZWNJ)[0]
    if stem in ("به", "بی", "عدم") or form.endswith("ه" + ZWNJ + "ی") or zwnj._head_reading(word, lex) == {form}:
        return SEEN  # the weak readings: a prefix, ezafe after ه, a compound head (zwnj._heh_ezafe_reading, _head_reading)
    if word.startswith(("می", "نمی")) or stem in lex.compounds or stem in lex.participles:
        return TAGGED
    return lex.stems.get(stem, (0,))[0]


def prune_compounds(compounds: dict[str, str], lex: Lexicon) -> dict[str, str]:
    """Drop entries the rules already get right without them, to keep the file small."""
    bare = Lexicon({}, lex.stems, lex.never, lex.verb_forms, lex.participles)
    # A compound the head rule splits stays: a suffix joins only a listed compound without a
    # ZWNJ (رضایت‌نامه -> رضایت‌نامه‌اش, سرخ‌پوش -> سرخ‌پوشان). So does a family name the name
    # rule splits: written apart (انصاری فرد), only a listed one is joined (spaced.join_pieces).
    return {j: f for j, f in compounds.items()
            if split_word(j, bare) != f or zwnj._head_reading(j, bare) == {f} or f.rsplit(ZWNJ, 1)[-1] in zwnj.NAMES}


NOTICE = """\
ZWNJ-repair lexicon for etl.clean.zwnj
======================================

Files: zwnj_lexicon.txt, stems.txt, never_split.txt, verb_stems.txt, apart.txt

These files are derived by bench/normalize/build_lexicon.py from:

* hazm (https://github.com/roshan-research/hazm), data files words.dat and verbs.dat,
  Copyright (c) 2013 Alireza Nourian, MIT License. The full licence text is in LICENSE-hazm
  beside this file and applies to the derived data.
* Spelling counts from the training split of 600 Fars News articles (about 2008) published in
  github.com/language-ml/course-nlp-ir-1-text-exploring (Apache License 2.0). Only which
  spellings occur and how often was used: single words, no article text, is shipped here.

Rebuild: .venv/bin/python bench/normalize/build_lexicon.py [--data DIR] [--out DIR]
"""


def write(out: Path, data: Path, lex: Lexicon, verbs: list[tuple[str, str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    header = "# Generated by bench/normalize/build_lexicon.py from hazm (MIT, see NOTICE) and Fars News spelling counts.\n"
    _write(out / "zwnj_lexicon.txt", header + "# joined form<TAB>form with ZWNJ\n",
           (f"{j}\t{f}" for j, f in sorted(lex.compounds.items())))
    _write(out / "stems.txt", header + "# word<TAB>strength (3 tagged, 2 seen in news)<TAB>flags (n noun, a adjective, p plural, g gradable)"
           "<TAB>frequency class (round(4*log10(hazm frequency+1)), -1 unknown)\n",
           (f"{w}\t{s}\t{fl}\t{f}" for w, (s, fl, f) in sorted(lex.stems.items())))
    _write(out / "never_split.txt", header + "# words that are right as written; never split\n",
           sorted(lex.never))
    _write(out / "verb_stems.txt", header + "# past stem<TAB>present stem (hazm verbs.dat)\n",
           (f"{p}\t{q}" for p, q in verbs))
    _write(out / "apart.txt", header + "# compounds (joined form) whose pieces written apart are a spelling of their own\n",
           sorted(lex.apart))
    shutil.copyfile(data / "lexicon/hazm/LICENSE", out / "LICENSE-hazm")
    (out / "NOTICE").write_text(NOTICE, encoding="utf-8")


def _write(path: Path, header: str, lines) -> None:
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")


def build(data: Path, texts: list[str] | None = None) -> tuple[Lexicon, list[tuple[str, str]]]:
    """The lexicon from hazm and ``texts`` (default: corpus.lexicon_texts, the tuning splits)."""
    texts = corpus.lexicon_texts(data) if texts is None else texts
    src = read_sources(data, texts)
    forms, participles = verb_tables(src.verbs)
    stems = build_stems(src)
    rules = Lexicon({}, stems, frozenset(NEVER), forms, participles)
    phrases = build_phrases(src, rules)
    spelled = build_compounds(src, rules)
    compounds = {**phrases, **settle_two_way(src, rules), **spelled}
    lex = Lexicon(compounds, stems, frozenset(NEVER), forms, participles)
    compounds = canonical(compounds, lex)
    lex = Lexicon(compounds, stems, frozenset(NEVER), forms, participles)
    lex = Lexicon(compounds, stems, frozenset(build_never(src, lex)), forms, participles)
    compounds = prune_compounds(compounds, lex)
    apart = frozenset(build_apart(compounds, set(phrases) - set(spelled), texts, src))
    lex = Lexicon(compounds, stems, lex.never, forms, participles, apart=apart)
    return lex, src.verbs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=corpus.DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=HERE.parent.parent / "etl/clean/data")
    args = parser.parse_args(argv)
    lex, verbs = build(args.data)
    write(args.out, args.data, lex, verbs)
    print(f"{len(lex.compounds)} compounds ({len(lex.apart)} written apart as a spelling of their own),"
          f" {len(lex.stems)} stems, {len(lex.never)} never-split, {len(verbs)} verb stem pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
