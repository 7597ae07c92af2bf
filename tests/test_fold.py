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
    # An unclosed quote is plain words (each also accepting the two joined).
    assert [t.words for t in fold_query('"ایران امروز')] == [("ایران",), ("امروز",)]
    assert fold_query("  ؟! ") == []
    assert [t.words for t in fold_query("ایران ايران")] == [("ایران",)]


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
    terms = fold_query("رئیس جمهور گفت")
    assert [(t.words, t.phrase) for t in terms] == [(("رئیس", "جمهور"), True), (("گفت",), False)]
    assert ("رئیسجمهور",) in terms[0].variants


def test_fold_document_indexes_each_zwnj_compound_also_joined_after_the_text():
    # ... and after them the stem of each inflected word once, marked (etl/clean/stem.py), unless
    # the text holds the stem as a word (حرف).
    assert fold_document("حرف‌هایشان را گفتند، ساخت‌وساز‌های «شهر» و حرف‌هایشان") == (
        "حرف هایشان را گفتند ساخت وساز های شهر و حرف هایشان حرفهایشان ساختوسازهای ـساختوساز")
    assert fold_document("خبرنگاران و دانشجویان") == "خبرنگاران و دانشجویان ـخبرنگار ـدانشجو"
    assert fold_document("علي ۱۴۰۴") == fold("علي ۱۴۰۴") == "علی 1404"   # no compound: as fold
    assert fold_document("\u200cکتاب\u200c") == "کتاب"                      # a stray ZWNJ is no compound


@given(texts)
def test_fold_document_starts_with_fold(text):
    document = fold_document(text)
    assert document.startswith(fold(text)) and ZWNJ not in document


@pytest.mark.parametrize(("query", "spellings"), [
    ("حرفهایشان", {("حرفهایشان",), ("حرف", "هایشان")}),
    ("حرف‌هایشان", {("حرف", "هایشان"), ("حرفهایشان",)}),
    # The normalizer now reads نامهای as نامه‌ای ("a letter", the seed article's word): its split
    # and the joined form, no longer also نام‌های.
    ("نامهای", {("نامهای",), ("نامه", "ای")}),
    ("ساخت وساز های", {("ساخت", "وسازهای"), ("ساختوسازهای",)}),
    ("خاوند پور", None),
])
def test_fold_query_spellings_of_one_word(query, spellings):
    terms = fold_query(query)
    if spellings is None:  # two words: each also accepts the pair joined
        assert [t.words for t in terms] == [("خاوند",), ("پور",)]
        assert all(t.variants == (("خاوندپور",),) for t in terms)
        return
    [term] = terms
    assert set(term.spellings) == spellings


def test_fold_query_joins_runs_of_up_to_three_neighbours():
    terms = fold_query("ان بی سی گفت")
    assert ("انبیسی",) in terms[0].variants and ("انبیسی",) in terms[2].variants
    assert ("انبیسیگفت",) not in terms[0].variants
    # A quoted phrase is matched as written: no neighbour joins across it.
    assert fold_query('"وزارت خارجه"') == [Term(("وزارت", "خارجه"), True)]


def test_fold_query_is_bounded_and_flat_for_a_thousand_words():
    words = " ".join(f"کلمه{i}" for i in range(1000))
    with pytest.raises(QueryTooLong, match=f"query of 1000 words is too long: at most {MAX_WORDS}"):
        fold_query(words)
    with pytest.raises(QueryTooLong, match="1000 words"):
        fold_query('"' + words + '"')
    assert len(fold_query(" ".join(f"کلمه{i}" for i in range(MAX_WORDS)))) == MAX_WORDS


def test_snippet_hit_spelled_otherwise_in_the_text_is_still_marked():
    # The query is joined, the text has the ZWNJ (or the reverse): the hit is shown either way.
    assert snippet("گفت حرف‌هایشان را شنیدیم", fold_query("حرفهایشان")) == "گفت [حرف‌هایشان] را شنیدیم"
    assert snippet("گفت حرفهایشان را شنیدیم", fold_query("حرف‌هایشان")) == "گفت [حرفهایشان] را شنیدیم"


def test_excerpt_is_data_spans_and_marks_are_the_callers_choice():
    text = "او گفت:  «کتاب\n\nرا» خواند و کتاب را برد"
    shown = excerpt(text, fold_query("کتاب"))
    assert shown.text == "او گفت: «کتاب را» خواند و کتاب را برد"
    assert [shown.text[s:e] for s, e in shown.spans] == ["کتاب", "کتاب"] and shown.note == ""
    # Default marks are not Persian quotation marks; a terminal renderer picks its own.
    assert shown.marked() == "او گفت: «[کتاب] را» خواند و [کتاب] را برد"
    assert shown.marked(("\x1b[1m", "\x1b[0m")).count("\x1b[1m") == 2


def test_excerpt_without_a_hit_says_why():
    shown = excerpt("متن بدون آن واژه", fold_query("کتاب"), note="the match is in the title")
    assert shown.spans == () and shown.marked() == "متن بدون آن واژه (the match is in the title)"


@given(texts, st.sampled_from(["می‌شود", "کتاب", "علی", "۱۴۰۴", "حرفهایشان"]))
def test_excerpt_spans_cover_hits_of_the_shown_text(text, query):
    shown = excerpt(text + " " + query, fold_query(query), width=40)
    assert shown.spans, shown
    for start, end in shown.spans:
        assert 0 <= start < end <= len(shown.text)
        assert fold(shown.text[start:end]).replace(" ", "") in {
            "".join(w) for t in fold_query(query) for w in t.spellings}
