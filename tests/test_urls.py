"""canonical_url (how a URL is stored) and identity_url (which article a URL names)."""

from __future__ import annotations

import pytest

from etl.clean.urls import canonical_url, identity_url


@pytest.mark.parametrize("url, expected", [
    ("HTTPS://Mehrnews.com:443/news/1/س?utm_source=x#top", "https://mehrnews.com/news/1/%D8%B3"),
    ("https://www.isna.ir/news/1/%d8%b3?utm_medium=rss&page=2", "https://www.isna.ir/news/1/%D8%B3?page=2"),
    ("https://example.ir/a?fbclid=abc&gclid=1", "https://example.ir/a"),
    ("ftp://example.ir/a", None),
    ("not a url", None),
    ("", None),
])
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_percent_encoded_persian_slug_equals_unicode_slug():
    assert canonical_url("https://www.mehrnews.com/news/6573858/رئیس-جمهور") == canonical_url(
        "https://www.mehrnews.com/news/6573858/%D8%B1%D8%A6%DB%8C%D8%B3-%D8%AC%D9%85%D9%87%D9%88%D8%B1")


@pytest.mark.parametrize("url, expected", [
    ("https://www.mehrnews.com/news/6573858/%D8%B1%D8%A6%DB%8C%D8%B3-%D8%AC%D9%85%D9%87%D9%88%D8%B1",
     "https://mehrnews.com/news/6573858"),
    ("https://www.isna.ir/news/1404101508123/%D8%A2%D8%BA%D8%A7%D8%B2-%D8%AB%D8%A8%D8%AA-%D9%86%D8%A7%D9%85",
     "https://isna.ir/news/1404101508123"),
    ("https://www.isna.ir/news/1404101508123/", "https://isna.ir/news/1404101508123"),
    ("https://www.tasnimnews.com/fa/news/1404/10/15/3456789/%D8%B9%D9%86%D9%88%D8%A7%D9%86",
     "https://tasnimnews.com/fa/news/1404/10/15/3456789"),
    ("https://www.farsnews.ir/news/14041015000123/%D8%B7%D8%B1%D8%AD-%D8%B2%D9%85%D8%B3%D8%AA%D8%A7%D9%86%D9%87",
     "https://farsnews.ir/news/14041015000123"),
    ("https://www.khabaronline.ir/news/2034567-بورس-تهران", "https://khabaronline.ir/news/2034567"),
    ("https://www.hamshahrionline.ir/news/912345.html", "https://hamshahrionline.ir/news/912345"),
    ("https://www.bbc.com/persian/articles/c0xyz4k2lm7o", "https://bbc.com/persian/articles/c0xyz4k2lm7o"),
    ("http://old.example.ir/fa/news.aspx?lang=fa&id=123&utm_source=t", "https://old.example.ir/fa/news.aspx?id=123"),
    ("https://example.ir/service/12345/section/article-title", "https://example.ir/service/12345/section/article-title"),
    ("https://example.ir/1404/10/15/short-title", "https://example.ir/1404/10/15/short-title"),
    ("mailto:news@example.ir", None),
    (None, None),
])
def test_identity_url(url, expected):
    assert identity_url(url) == expected


def test_reslugged_headline_is_the_same_article():
    before = "https://www.mehrnews.com/news/6573858/رئیس-جمهور-دولت-برنامه-دارد?utm_source=rss"
    after = "https://mehrnews.com/news/6573858/%D8%B9%D9%86%D9%88%D8%A7%D9%86-%D8%AA%D8%A7%D8%B2%D9%87#comments"
    assert identity_url(before) == identity_url(after)


def test_www_and_scheme_do_not_make_another_article():
    assert identity_url("http://www.bbc.com/persian/articles/c0xyz") == identity_url(
        "https://bbc.com/persian/articles/c0xyz")


def test_different_ids_stay_different():
    assert identity_url("https://www.isna.ir/news/1404101508123/a") != identity_url(
        "https://www.isna.ir/news/1404101508150/a")
