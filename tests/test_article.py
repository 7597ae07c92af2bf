"""RawItem -> Article: titles, keys, dates and flags, on fixed times (no clock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import DATA, NOW
from etl.clean.article import derive_title, natural_key, to_article
from etl.models import Article, ItemError, RawItem

SEED = (DATA / "seed" / "000_3b436877025587a2.txt").read_text(encoding="utf-8").strip().removeprefix("date 2025-08-22").strip()


def test_seed_becomes_a_repaired_article_with_a_derived_title():
    article = to_article(RawItem("seed.txt", body=SEED, published="2025-08-22"), NOW)
    assert isinstance(article, Article)
    assert article.title_derived and article.title.startswith("در دیداری صمیمانه")
    assert not article.title.startswith("به گزارش")
    for word in ("نخست‌وزیر", "می‌دهند", "همکاری‌های", "اسلام‌آباد"):
        assert word in article.body
    assert article.published_at == datetime(2025, 8, 21, 20, 30, tzinfo=timezone.utc)
    assert article.published_time_known is False
    assert article.meta["agency"] == "مهر"
    assert article.key.startswith("hash:")


def test_long_first_sentence_is_cut_at_a_word():
    title = derive_title("کلمه " * 80 + ".")
    assert len(title) <= 151 and title.endswith("…") and not title.endswith(" …")


def test_decimal_point_does_not_end_the_derived_title():
    assert derive_title("نرخ رشد 2.5 درصد شد. جمله دوم.") == "نرخ رشد 2.5 درصد شد"


def test_key_prefers_guid_then_url_identity_then_hash():
    assert natural_key(" abc ", "https://x.ir/news/123456/slug", "t", "b") == "guid:abc"
    assert natural_key(None, "https://www.x.ir/news/123456/slug", "t", "b") == "url:https://x.ir/news/123456"
    assert natural_key(None, None, "t", "b") == natural_key("", None, "t", "b") != natural_key(None, None, "t", "c")


def test_re_slugged_url_is_the_same_article():
    a = to_article(RawItem("a", title="عنوان", body="متن", url="https://www.mehrnews.com/news/6573858/old-slug"), NOW)
    b = to_article(RawItem("b", title="عنوان", body="متن", url="https://mehrnews.com/news/6573858/new-slug?utm_source=tg"), NOW)
    assert a.key == b.key


def test_html_is_text_and_arabic_letters_are_persian():
    article = to_article(RawItem("x", title="<b>علي</b>", body="<p>كتاب</p><p>دوم</p>"), NOW)
    assert (article.title, article.body) == ("علی", "کتاب\nدوم")


def test_future_date_is_flagged_not_stored():
    claimed = (NOW + timedelta(days=3)).isoformat()
    article = to_article(RawItem("x", title="t", body="b", published=claimed), NOW)
    assert article.published_at is None
    assert article.meta["date_flag"] == "future" and article.meta["published_claimed"].startswith("2026-01-13")


def test_slightly_ahead_is_tolerated():
    article = to_article(RawItem("x", title="t", body="b", published=(NOW + timedelta(minutes=20)).isoformat()), NOW)
    assert article.published_at == NOW + timedelta(minutes=20) and "date_flag" not in article.meta


def test_unparseable_date_is_kept_in_meta():
    article = to_article(RawItem("x", title="t", body="b", published="هفته گذشته"), NOW)
    assert article.published_at is None and article.meta == {"published_raw": "هفته گذشته", "date_flag": "unparsed"}


def test_jalali_time_is_tehran_local():
    article = to_article(RawItem("x", title="t", body="b", published="۱۴۰۴/۱۰/۱۸ - ۱۴:۱۴"), NOW)
    assert article.published_at == datetime(2026, 1, 8, 10, 44, tzinfo=timezone.utc) and article.published_time_known


def test_empty_item_is_an_error_with_its_location():
    error = to_article(RawItem("dump.jsonl:7", title="  ", body="<p></p>", url="https://x.ir/1"), NOW)
    assert isinstance(error, ItemError) and error.location == "dump.jsonl:7" and error.reason == "no title and no body"


def test_content_hash_is_stable_and_sensitive():
    item = RawItem("x", title="عنوان", body="متن", url="https://x.ir/1", published="2025-01-01T10:00:00Z")
    assert to_article(item, NOW).content_hash == to_article(item, NOW + timedelta(days=1)).content_hash
    changed = RawItem("x", title="عنوان", body="متن تازه", url="https://x.ir/1", published="2025-01-01T10:00:00Z")
    assert to_article(changed, NOW).content_hash != to_article(item, NOW).content_hash
