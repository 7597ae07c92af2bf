"""Whole articles from pages: the lead first, every paragraph, no page chrome, the over-title in meta.

tests/data/pages/layout_*.html reproduce the article pages of the shipped outlets (and Tabnak) with
their full chrome around real Fars News text (tests/data/fars-news, ZWNJ as published); each page's
<link rel="canonical"> names the Fars article whose title, lead (abstract) and paragraphs it carries,
so the expected text is the dump's, not a copy typed into the test.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import DATA, NOW
from etl.cli import main
from etl.clean.article import to_article
from etl.fetch.layout import PageParts, assemble, page_parts, text_key
from etl.fetch.pages import page_to_item
from etl.models import RawItem
from test_fetch_cli import RSS, feed_table, write_config

PAGES = DATA / "pages"
URL = "https://www.example.ir/news/1/"
LAYOUTS = {  # fixture -> the over-title its page shows (None: the outlet prints none)
    "layout_mehr.html": "مدیرکل حفاظت محیط زیست قزوین خبر داد",
    "layout_isna.html": "معاون استاندار تهران:",
    "layout_irna.html": "سخنگوی ستاد تسهیلات نوروزی کرمان:",
    "layout_tasnim.html": None,
    "layout_fars.html": "یک مقام مسئول در بورس کالا:",
    "layout_hamshahri.html": "عضو شورای شهر کرج مطرح کرد",
    "layout_khabaronline.html": "برنامه‌ریز سازمان اوقاف خبر داد",
    "layout_bbc_persian.html": None,
    "layout_tabnak.html": "مدیرعامل شرکت برق استان بوشهر:",
}
# Text of the chrome around the articles: menu, tags, share box, related and most-read boxes,
# comments, footer, the in-body "read more" link, the closing mark, the Next.js data blob.
CHROME = ["صفحه نخست", "فرهنگ و هنر", "برچسب", "تلگرام", "اخبار مرتبط", "نشست مشترک مدیران استانی",
          "پربازدید", "پربیننده", "ارسال نظر", "کلیه حقوق", "درباره ما", "بیشتر بخوانید", "افزایش ظرفیت حمل",
          "انتهای پیام", "کد خبر", "pageProps", "نسخه چاپی", "فوری |", "ممنون از تابناک", "اعتماد کنید"]


def _dump() -> dict[str, dict]:
    articles = []
    for name in ("fars-news-1.json", "fars-news-2.json"):
        articles += json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))
    return {a["link"]: a for a in articles}


FARS = _dump()


def _source_article(page: bytes) -> dict:
    link = re.search(rb'<link rel="canonical" href="([^"]+)"', page).group(1).decode("utf-8")
    return FARS[link]


def _spaced(text: str) -> str:
    return " ".join(text.split())


def _extract(name: str, selector: str | None = None) -> RawItem:
    item = RawItem(f"feed#{name}", title=None, body="لید خوراک", url=URL)
    result = page_to_item(item, (PAGES / name).read_bytes(), "text/html; charset=utf-8", URL, selector)
    assert isinstance(result, RawItem), result
    return result


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_outlet_layout_gives_lead_then_every_paragraph(name):
    expected = _source_article((PAGES / name).read_bytes())
    item = _extract(name)
    lines = item.body.split("\n")
    assert lines[0] == _spaced(expected["abstract"])  # the lead first
    assert lines[1:] == [_spaced(p) for p in expected["paragraphs"]]  # then every paragraph, in order
    assert not [c for c in CHROME if c in item.body]
    assert item.extra.get("kicker") == LAYOUTS[name]
    assert "\u200c" in item.body and item.body.count("\u200c") == sum(
        t.count("\u200c") for t in [expected["abstract"], *expected["paragraphs"]])


def test_page_parts_of_the_nama_layout():
    from bs4 import BeautifulSoup
    soup = BeautifulSoup((PAGES / "layout_mehr.html").read_bytes(), "lxml")
    parts = page_parts(soup)
    expected = _source_article((PAGES / "layout_mehr.html").read_bytes())
    assert parts.kicker == "مدیرکل حفاظت محیط زیست قزوین خبر داد"
    assert parts.lead == _spaced(expected["abstract"])
    assert parts.description == _spaced(expected["abstract"])


def test_a_lead_only_the_description_carries_goes_first():
    expected = _source_article((PAGES / "article_lead_in_description.html").read_bytes())
    lines = _extract("article_lead_in_description.html").body.split("\n")
    assert lines == [_spaced(expected["abstract"])] + [_spaced(p) for p in expected["paragraphs"]]


def test_a_lead_the_body_repeats_is_kept_once():
    page = (PAGES / "article_body_repeats_lead.html").read_bytes()
    expected = _source_article(page)
    lines = _extract("article_body_repeats_lead.html").body.split("\n")
    # The page's p.lead lost its ZWNJ; the body's copy kept them, and that copy is the one kept.
    assert lines == [_spaced(expected["abstract"])] + [_spaced(p) for p in expected["paragraphs"]]
    assert "\u200c" in lines[0]


def test_a_description_that_only_cuts_the_body_is_not_a_lead():
    expected = _source_article((PAGES / "article_description_is_excerpt.html").read_bytes())
    lines = _extract("article_description_is_excerpt.html").body.split("\n")
    assert lines == [_spaced(p) for p in expected["paragraphs"]]


def test_a_selector_still_decides_the_text_and_the_lead_goes_first():
    expected = _source_article((PAGES / "layout_tabnak.html").read_bytes())
    item = _extract("layout_tabnak.html", selector="div.body")
    assert item.body.split("\n") == [_spaced(expected["abstract"])] + [_spaced(p) for p in expected["paragraphs"]]
    assert item.extra["kicker"] == "مدیرعامل شرکت برق استان بوشهر:"


@pytest.mark.parametrize("body, parts, title, out", [
    # the body already opens with the lead, spelled with and without ZWNJ: not added twice
    ("نتیجه‌بخش بود.\nدوم", PageParts(lead="نتیجه بخش بود"), None, "نتیجه‌بخش بود.\nدوم"),
    # the lead further down (after a caption) moves up
    ("زیرنویس عکس\nلید خبر اینجاست\nدوم", PageParts(lead="لید خبر اینجاست"), None, "لید خبر اینجاست\nزیرنویس عکس\nدوم"),
    # the over-title and the headline kept by the extractor as first lines go
    ("روتیتر خبر\nتیتر خبر\nمتن", PageParts(kicker="روتیتر خبر"), "تیتر خبر", "متن"),
    # a description that is the title is no lead
    ("متن نخست خبر\nمتن دوم", PageParts(description="تیتر خبر در این‌جا آمده است"), "تیتر خبر در این‌جا آمده است",
     "متن نخست خبر\nمتن دوم"),
    # a site slogan is no lead: its words are not the article's
    ("وزیر نیرو گفت سد تکمیل می‌شود\nوی افزود", PageParts(description="آخرین اخبار ایران و جهان را اینجا بخوانید"), None,
     "وزیر نیرو گفت سد تکمیل می‌شود\nوی افزود"),
])
def test_assemble(body, parts, title, out):
    assert assemble(body, parts, title) == out


def test_text_key_ignores_spacing_zwnj_and_arabic_letters():
    assert text_key("نتیجه‌بخش، بود.") == text_key("نتيجه بخش بود") == "نتیجهبخشبود"


def test_the_kicker_reaches_the_article_meta():
    article = to_article(_extract("layout_isna.html"), NOW)
    assert article.meta["kicker"] == "معاون استاندار تهران:"
    assert article.body.startswith("معاون استاندار تهران گفت:")
    assert article.meta["agency"] == "فارس"  # read from the paragraph after the lead


def test_show_prints_the_lead_as_the_first_paragraph(db_url, tmp_path, http_server, capsys):
    page = (PAGES / "layout_mehr.html").read_bytes()
    expected = _source_article(page)
    http_server.route("/news/5123456/a", 200, {"Content-Type": "text/html; charset=utf-8"}, page)
    feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item>'
            f'<title>{expected["title"]}</title><link>{http_server.url("/news/5123456/a")}</link>'
            f'<pubDate>Thu, 08 Jan 2026 10:00:00 GMT</pubDate></item></channel></rss>').encode()
    http_server.route("/rss", 200, RSS, feed)
    config = write_config(tmp_path, feed_table("mehr", http_server.url("/rss"), full_text=True))
    assert main(["--database-url", db_url, "--config", config, "fetch", "--json"]) == 0
    capsys.readouterr()
    assert main(["--database-url", db_url, "--config", config, "show", "1"]) == 0
    out = capsys.readouterr().out
    body = out.split("\n\n")[2]  # title, header block, then the body (no feed summary here)
    assert body.split("\n")[0].startswith("خبرگزاری فارس: مدیرکل حفاظت محیط زیست استان قزوین")
    assert len(body.split("\n")) == 1 + len(expected["paragraphs"])
