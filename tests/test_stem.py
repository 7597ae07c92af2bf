"""Stems for search (etl/clean/stem.py): inflections off, words of their own whole.

The forms are words of the Fars News and Varzesh3 articles (tests/data); the pairs that must stay
apart are words that share a stem's letters but not its meaning.
"""

from __future__ import annotations

import pytest

from etl.clean.stem import stem


@pytest.mark.parametrize("word, root", [
    ("خبرنگاران", "خبرنگار"), ("بیماران", "بیمار"), ("کارگران", "کارگر"),   # ان after a consonant
    ("مربیان", "مربی"),                                                 # ... and after ی
    ("دانشجویان", "دانشجو"), ("آقایان", "آقا"),                          # یان after a vowel
    ("نمایندگان", "نماینده"), ("رزمندگان", "رزمنده"),                    # گان for a final ه
    ("کشورها", "کشور"), ("کشورهای", "کشور"), ("تیمها", "تیم"),           # ها joined
    ("دانشجوی", "دانشجو"),                                               # the ezafe after a vowel
    ("کتابش", "کتاب"), ("کشورمان", "کشور"),                              # a possessive
    ("خبرنگارانش", "خبرنگار"),                                           # two inflections
    ("بزرگترین", "بزرگ"),                                                # a gradable adjective's comparative
    ("خبرنگار", "خبرنگار"), ("کشور", "کشور"),                            # a stem is its own stem
])
def test_an_inflected_form_goes_to_its_word(word, root):
    assert stem(word) == root


@pytest.mark.parametrize("word, other", [
    ("باران", "بار"), ("میزان", "میز"), ("سپاهان", "سپاه"), ("استان", "است"), ("انسان", "انس"),
    ("پایان", "پای"), ("سازمان", "ساز"), ("مردم", "مرد"), ("کرمان", "کرم"), ("آبان", "آب"),
    ("ماهی", "ماه"), ("ایرانی", "ایران"), ("ایرانیان", "ایران"), ("بیماری", "بیمار"),
    ("شهرداری", "شهردار"), ("کارگر", "کار"), ("خبرنگار", "خبر"), ("دانشگاه", "دانش"), ("کشتی", "کشت"),
])
def test_words_that_share_letters_but_not_meaning_stay_apart(word, other):
    assert stem(word) != stem(other)


def test_short_words_and_verbs_stay_whole():
    for word in ("ها", "آن", "گفتند", "می", "شدند"):
        assert stem(word) == word
