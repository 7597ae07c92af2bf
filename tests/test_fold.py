"""Search folding: one spelling per word for documents and queries, and snippets of the original."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.clean.fold import MAX_WORDS, QueryTooLong, Term, fold, fold_document, fold_query, fold_with_offsets
from etl.clean.snippet import Snippet, excerpt, snippet
from etl.clean.text import normalize_text

ZWNJ = "\u200c"


@pytest.mark.parametrize(("text", "folded"), [
    ("می\u200cشود", "می شود"),                      # ZWNJ becomes a space, on purpose
    ("علي ۱۴۰۴", "علی 1404"),
    ("كتاب ١٤٠٤", "کتاب 1404"),                      # Arabic kaf, Arabic-Indic digits
    ("مدرسة أحمد إيران ٱلله مؤمن", "مدرسه احمد ایران الله مومن"),
    ("موسى", "موسی"),                                # alef maksura
    ("رئیس مسئول آب", "رئیس مسئول آب"),              # ئ and آ are Persian letters: kept
    ("خانۀ خانهٔ", "خانه خانه"),                      # one letter or heh + hamza above
    ("كِتابٌ عـــلی", "کتاب علی"),                    # harakat and kashida removed
    ("«سلام»، چطوری؟ خوب؛ (بله) - «نه».", "سلام چطوری خوب بله نه"),
    ("Hello WORLD, Straße!", "hello world strasse"),
    ("  a\n\n\tb \u00a0 c  ", "a b c"),
    ("a\u200bb\u200fc\ufeffd", "a b c d"),          # other invisibles separate words too
    ("ﻻ ﺑﺎ", "لا با"),                               # presentation forms from PDF copy-paste
    ("", ""),
])
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_with_offsets_points_back_into_the_original():
    text = "علي  مي\u200cشود،"
    folded, origins = fold_with_offsets(text)
    assert folded == "علی می شود"
    assert [text[i] for i in origins] == ["ع", "ل", "ي", " ", "م", "ي", ZWNJ, "ش", "و", "د"]


# Persian-heavy text with the characters folding cares about, plus anything else.
_FOLDABLE = list("يكىئةأإٱؤۀآ\u200c\u200d\u200f\u0640\u064b\u0650\u0654\u0670۰۱۹٠٩،؛؟«»ﻻﺑ²") + [" ", "\n"]
texts = st.text(st.one_of(st.sampled_from(_FOLDABLE), st.characters(codec="utf-8")), max_size=60)


@given(texts)
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(texts)
def test_fold_leaves_no_arabic_letters_zwnj_or_foreign_digits(text):
    folded = fold(text)
    assert not set(folded) & {"ي", "ك", ZWNJ}
    assert all(c in "0123456789" for c in folded if unicodedata.digit(c, None) is not None)
    assert "  " not in folded and folded == folded.strip()


@given(texts)
def test_fold_with_offsets_agrees_with_fold(text):
    folded, origins = fold_with_offsets(text)
    assert folded == fold(text)
    assert len(origins) == len(folded)
    assert origins == sorted(origins) and all(0 <= i < len(text) for i in origins)


def test_fold_query_example():
    assert fold_query('"وزارت خارجه" میشود') == [
        Term(("وزارت", "خارجه"), True),
        Term(("می", "شود"), True, (("میشود",),)),        # also the joined spelling
    ]


def test_fold_query_tokens_quotes_and_empty_terms():
    assert fold_query("«وزارت  خارجه» علي ، U.S. \"\" «»") == [
        Term(("وزارت", "خارجه"), True),
        Term(("علی",), False),
        Term(("u", "s"), True, (("us",),)),              # a token folding to two words: a phrase
    ]
    assert fold_query('"ایران امروز') == [Term(("ایران",), False), Term(("امروز",), False)]
    assert fold_query("  ؟! ") == []
    assert fold_query("ایران ايران") == [Term(("ایران",), False)]


VARIANTS = [
    ("می\u200cشود", "میشود", "می شود"),
    ("علي", "علی"),
    ("كتاب", "کتاب"),
    ("۱۴۰۴", "1404", "١٤٠٤"),
    ("رئیس\u200cجمهور", "رئیسجمهور", "رئیس جمهور"),
]


@pytest.mark.parametrize("variants", VARIANTS, ids=lambda v: v[0])
def test_every_variant_queries_the_same_terms(variants):
    queries = [fold_query(v) for v in variants]
    spellings = [{s for term in q for s in term.spellings} for q in queries]
    assert all(len(q) == 1 for q in queries), queries
    assert all(s == spellings[0] for s in spellings), spellings


@pytest.mark.parametrize("variants", VARIANTS, ids=lambda v: v[0])
def test_every_variant_is_found_in_every_stored_variant(variants):
    for query in variants:
        (term,) = fold_query(query)
        for document in variants:
            # As the loader stores it: normalized, then folded for the search index.
            stored = f" {fold_document('خبر: ' + normalize_text(document) + ' امروز')} "
            assert any(f" {' '.join(words)} " in stored for words in term.spellings), (query, document)


def test_snippet_marks_the_original_spelling():
    text = "وزیر گفت: این کار انجام می\u200cشود و كتاب چاپ می\u200cشود."
    assert snippet(text, fold_query("میشود كتاب")) == (
        "وزیر گفت: این کار انجام [می\u200cشود] و [كتاب] چاپ [می\u200cشود]."
    )


def test_snippet_windows_around_the_first_hit():
    text = " ".join(["آغاز"] * 60 + ["رئيس\u200cجمهور"] + ["پایان"] * 60)
    result = snippet(text, fold_query("رئیس جمهور"), width=60, mark=("<b>", "</b>"))
    assert result.startswith("…") and result.endswith("…")
    assert "<b>رئيس\u200cجمهور</b>" in result
    assert len(result.replace("<b>", "").replace("</b>", "")) <= 60 + 2
    assert "آغاز" in result and "پایان" in result   # context on both sides


def test_snippet_keeps_trailing_marks_of_a_hit():
    assert snippet("او کتابَ را خواند", [Term(("کتاب",), False)]) == "او [کتابَ] را خواند"


def test_snippet_without_a_hit_is_the_beginning():
    text = "یک دو سه چهار پنج شش هفت"
    assert snippet(text, fold_query("هشت"), width=10) == "یک دو سه… (no match in this text)"
    assert excerpt(text, [], width=100) == Snippet(text, (), "no match in this text")


def test_snippet_hit_longer_than_width_is_shown_whole():
    text = "الف " + "ب" * 30 + " ج"
    assert snippet(text, [Term(("ب" * 30,), False)], width=10) == "…[" + "ب" * 30 + "]…"


def test_snippet_matches_whole_words_only():
    assert snippet("کتابخانه کتاب", [Term(("کتاب",), False)]) == "کتابخانه [کتاب]"


def test_fold_query_treats_a_spaced_compound_as_one_phrase():
    # The normalizer leaves "رئیس جمهور" apart in prose; a query means the compound.
    assert fold_query("رئیس جمهور گفت") == [Term(("رئیس", "جمهور"), True, (("رئیسجمهور",),)), Term(("گفت",), False)]
