"""Feeds and article pages end to end, through a real HTTP server on loopback.

Fixtures live in tests/data/feeds and tests/data/pages, one behaviour each; each says what it
expects in a comment at its top.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from httpserver import LocalServer, endless_body, hang

from etl.clean import html_to_text, parse_date
from etl.config import PageOptions, Source
from etl.fetch.feedfile import read_feed
from etl.fetch.feeds import fetch_feed
from etl.fetch.http import FetchError, HttpClient, HttpSettings
from etl.fetch.pages import fetch_full_text, site_hosts
from etl.models import ItemError, RawItem

from conftest import NOW

DATA = Path(__file__).parent / "data"
RSS = "application/rss+xml"
HTML = "text/html; charset=utf-8"
# Short timeouts and no politeness pause: the server is ours and the suite must stay fast.
SETTINGS = HttpSettings(per_host_delay=0.0, connect_timeout=2.0, read_timeout=0.5, total_timeout=5.0,
                        retries=1, backoff_base=0.01, max_bytes=1024 * 1024)


@pytest.fixture
def client():
    with HttpClient(SETTINGS) as client:
        yield client


def feed_bytes(name: str, **template: str) -> bytes:
    data = (DATA / "feeds" / name).read_bytes()
    for key, value in template.items():
        data = data.replace(f"{{{key}}}".encode(), value.encode())
    return data


def serve_feed(server: LocalServer, name: str, content_type: str = RSS, **template: str) -> Source:
    server.route(f"/feeds/{name}", 200, {"Content-Type": content_type}, feed_bytes(name, **template))
    return Source(name="local", kind="feed", url=server.url(f"/feeds/{name}"), full_text=True)


def serve_pages(server: LocalServer, content_type: str = HTML) -> None:
    for page in (DATA / "pages").glob("*.html"):
        server.route(f"/pages/{page.name}", 200, {"Content-Type": content_type}, page.read_bytes())


# --- feeds -----------------------------------------------------------------------------------

def test_rss2_items_and_fields(client, http_server):
    source = serve_feed(http_server, "rss2_mehr_like.xml")
    result = fetch_feed(client, source, None, None)
    assert (result.status, result.not_modified, result.warning) == (200, False, None)
    assert result.final_url == source.url
    first, second, third, fourth = result.items
    assert first.title == "رئیس\u200cجمهور: دولت برای مهار تورم برنامه دارد"
    assert first.url.startswith("https://www.mehrnews.com/news/6573858/%D8%B1")
    assert (first.guid, first.published) == ("6573858", "Thu, 08 Jan 2026 10:44:00 GMT")
    assert first.extra == {"tags": ["سیاست"]}
    assert first.location == f"{source.url}#1"
    # Entity-escaped markup arrives as markup (once unescaped), ready for the cleaner.
    assert first.body.startswith("<p>به گزارش خبرگزاری مهر،") and "&lt;" not in first.body
    assert html_to_text(first.body).startswith("به گزارش خبرگزاری مهر،")
    assert second.title == "بارش برف در ۱۲ استان کشور & هشدار هواشناسی"
    assert html_to_text(second.body) == "سازمان هواشناسی از بارش برف و باران در ۱۲ استان کشور خبر داد."
    assert "utm_source=rss" in third.url  # the cleaner's canonical_url strips it, not the fetcher
    # Escaped twice by the CMS: still markup, never the visible text "<p>".
    assert html_to_text(fourth.body) == "سی\u200cوهفتمین نمایشگاه بین\u200cالمللی کتاب تهران اردیبهشت\u200cماه برگزار می\u200cشود."


def test_atom10(client, http_server):
    result = fetch_feed(client, serve_feed(http_server, "atom10.xml", "application/atom+xml"), None, None)
    first, second = result.items
    assert first.guid == "tag:bbc.com,2026:/persian/articles/c0xyz4k2lm7o"
    assert first.published == "2026-01-08T10:30:00+03:30"
    assert html_to_text(first.body) == ("شورای امنیت سازمان ملل متحد روز پنجشنبه نشستی اضطراری برگزار کرد.\n"
                                        "نمایندگان درباره آتش\u200cبس گفت\u200cوگو کردند.")
    assert first.summary == "شورای امنیت سازمان ملل نشستی اضطراری برگزار کرد."
    assert second.url == "https://www.bbc.com/persian/articles/c9abc1d2ef3o"  # xml:base
    assert html_to_text(second.title) == "گزارش ویژه: زندگی در تهران"
    assert second.published == "2026-01-07T18:00:00Z"


@pytest.mark.parametrize("name, titles, guids, dates", [
    ("rdf_rss10.xml", ["آغاز ثبت\u200cنام کنکور سراسری ۱۴۰۵", "تیم ملی والیبال به اردو رفت"],
     ["https://www.isna.ir/news/1404101508123/", "https://www.isna.ir/news/1404101508150/"],
     ["2026-01-05T09:15:00+03:30", "2026-01-05T11:40:00+03:30"]),
    ("atom03.xml", ["یادداشت روز: آغاز بهار"], ["tag:blog.example-news.ir,2006:123"], ["2006-03-01T15:30:00+03:30"]),
    ("rss091.xml", ["افتتاح خط جدید مترو تهران"], [None], [None]),
])
def test_older_dialects(client, http_server, name, titles, guids, dates):
    result = fetch_feed(client, serve_feed(http_server, name, "text/xml"), None, None)
    assert [i.title for i in result.items] == titles
    assert [i.guid for i in result.items] == guids
    assert [i.published for i in result.items] == dates
    assert all(i.url.startswith("https://") for i in result.items)
    assert result.warning is None  # charset-less text/xml is not worth a warning


@pytest.mark.parametrize("content_type", [
    RSS, "text/xml", "application/rss+xml; charset=utf-8", "text/xml; charset=iso-8859-1",
])
def test_windows1256_feed(client, http_server, content_type):
    result = fetch_feed(client, serve_feed(http_server, "rss_windows1256.xml", content_type), None, None)
    assert [i.title for i in result.items] == ["گزارش ويژه درباره کشاورزي پايدار", "ژاپن و گفت\u200cوگوي فرهنگي"]
    assert result.items[0].body == "کشاورزان چهارمحال و بختياري از طرح جديد آبياري استقبال کردند."


@pytest.mark.parametrize("content_type", [
    "text/xml; charset=iso-8859-1", "text/xml; charset=windows-1256", "application/rss+xml; charset=us-ascii",
])
def test_mislabelled_charset_feed(client, http_server, content_type):
    result = fetch_feed(client, serve_feed(http_server, "rss_mislabelled_charset.xml", content_type), None, None)
    (item,) = result.items
    assert item.title == "آغاز طرح زمستانه ایمنی راه\u200cها"
    assert item.body == "پلیس راه از آغاز طرح زمستانه در جاده\u200cهای کشور خبر داد."


def test_feed_labelled_windows1256_but_utf8_says_so():
    data = feed_bytes("rss_mislabelled_charset.xml").replace(b'encoding="UTF-8"', b'encoding="windows-1256"')
    feed = read_feed(data, "mislabelled")
    assert feed.items[0].title == "آغاز طرح زمستانه ایمنی راه\u200cها"
    assert feed.warning == "charset: feed read as windows-1256 but its bytes are utf-8"


def test_feed_encoded_twice_upstream_is_flagged():
    garbled = "آغاز طرح زمستانه ایمنی راه‌ها".encode("utf-8").decode("cp1252")
    data = feed_bytes("rss_mislabelled_charset.xml").replace(
        "آغاز طرح زمستانه ایمنی راه‌ها".encode("utf-8"), garbled.encode("utf-8"))
    feed = read_feed(data, "twice")
    assert feed.items[0].title == garbled  # the bytes really say this; no guessing
    assert feed.warning.startswith("titles look like mojibake")


def test_malformed_feed_is_read_with_a_warning(client, http_server):
    result = fetch_feed(client, serve_feed(http_server, "rss_malformed.xml"), None, None)
    assert [i.title for i in result.items] == ["بورس & بازار سرمایه: شاخص کل رشد کرد", "نرخ ارز در بازار آزاد"]
    assert html_to_text(result.items[0].body) == "شاخص کل بورس تهران امروز رشد کرد.\nمعاملات خرد افزایش یافت."
    assert result.warning.startswith("SAXParseException:") and "not well-formed" in result.warning


def test_reused_guids_are_dropped_so_items_key_on_links(client, http_server):
    result = fetch_feed(client, serve_feed(http_server, "rss_duplicate_guids.xml"), None, None)
    assert [i.guid for i in result.items] == [None, None, None, "example-news-101104"]
    assert len({i.url for i in result.items}) == 4
    assert result.items[0].extra["guid_reused"] == "https://www.example-news.ir/"


def test_relative_links_resolve_against_the_feed_url(client, http_server):
    result = fetch_feed(client, serve_feed(http_server, "rss_relative_links.xml"), None, None)
    assert [i.url for i in result.items] == [
        http_server.url("/pages/article_published_meta.html"),
        http_server.url("/pages/article_jsonld.html"),
        http_server.url("/pages/article_jalali_date.html"),
    ]


def test_not_a_feed_is_a_fetch_error(client, http_server):
    http_server.route("/feeds/home", 200, {"Content-Type": HTML}, b"<html><body><p>welcome</p></body></html>")
    source = Source(name="local", kind="feed", url=http_server.url("/feeds/home"))
    with pytest.raises(FetchError) as err:
        fetch_feed(client, source, None, None)
    assert err.value.reason.startswith("not a") and not err.value.transient


def test_conditional_get_round_trip(client, http_server):
    body = feed_bytes("rss2_mehr_like.xml")
    validators = {"ETag": '"mehr-v1"', "Last-Modified": "Thu, 08 Jan 2026 10:45:00 GMT"}

    def reply(request):
        if request.headers.get("if-none-match") == '"mehr-v1"':
            return 304, {}, b""
        return 200, {"Content-Type": RSS, **validators}, body
    http_server.route("/feeds/mehr", reply)
    source = Source(name="mehr", kind="feed", url=http_server.url("/feeds/mehr"))

    first = fetch_feed(client, source, None, None)
    assert (first.etag, first.last_modified, len(first.items)) == ('"mehr-v1"', validators["Last-Modified"], 4)
    second = fetch_feed(client, source, first.etag, first.last_modified)
    sent = http_server.requests[-1].headers
    assert sent["if-none-match"] == '"mehr-v1"' and sent["if-modified-since"] == validators["Last-Modified"]
    assert (second.status, second.not_modified, second.items) == (304, True, [])
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)


def test_server_error_then_success_recovers(client, http_server):
    http_server.route("/feeds/flaky", [(500, {}, b"oops"), (200, {"Content-Type": RSS}, feed_bytes("rdf_rss10.xml"))])
    source = Source(name="flaky", kind="feed", url=http_server.url("/feeds/flaky"))
    result = fetch_feed(client, source, None, None)
    assert len(result.items) == 2 and http_server.paths() == ["/feeds/flaky", "/feeds/flaky"]


def test_endless_body_is_refused_without_reading_it(client, http_server):
    http_server.route("/feeds/endless", 200, {"Content-Type": RSS}, endless_body(http_server))
    source = Source(name="endless", kind="feed", url=http_server.url("/feeds/endless"))
    with pytest.raises(FetchError) as err:
        fetch_feed(client, source, None, None)
    assert err.value.reason == "body over 1 MiB" and not err.value.transient
    # The server stopped once the client hung up: far short of its 64 MiB budget.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not _stopped_growing(http_server):
        pass
    assert http_server.bytes_streamed < 24 * 1024 * 1024


def _stopped_growing(server: LocalServer) -> bool:
    before = server.bytes_streamed
    time.sleep(0.1)
    return server.bytes_streamed == before


def test_hanging_feed_times_out(client, http_server):
    http_server.route("/feeds/slow", hang(http_server, 5))
    source = Source(name="slow", kind="feed", url=http_server.url("/feeds/slow"))
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch_feed(client, source, None, None)
    assert err.value.reason == "timeout" and err.value.transient
    assert time.monotonic() - started < 3  # two attempts of 0.5 s, not the server's 5 s


# --- full text -------------------------------------------------------------------------------

def test_full_text_from_pages_with_dates_from_metadata(client, http_server):
    serve_pages(http_server)
    source = serve_feed(http_server, "rss_relative_links.xml")
    items = fetch_feed(client, source, None, None).items
    full = [fetch_full_text(client, item, source) for item in items]
    assert all(isinstance(f, RawItem) and f.extra["full_text"] for f in full)
    meta, jsonld, jalali = full
    # The page's lead (p.summary.introtext) first, then the three body paragraphs.
    assert meta.body.split("\n")[0] == "سخنگوی دولت در نشست هفتگی به پرسش\u200cها پاسخ داد."
    assert meta.body.split("\n")[1].startswith("به گزارش خبرگزاری محلی، سخنگوی دولت امروز")
    assert len(meta.body.split("\n")) == 4
    assert "اخبار مرتبط" not in meta.body and "حقوق" not in meta.body  # boilerplate gone
    assert "تقدیم می\u200cشود" in meta.body  # the zero-width non-joiner survives extraction
    assert meta.summary == "سخنگوی دولت در نشست هفتگی به پرسش\u200cها پاسخ داد."  # the feed's lead
    assert meta.published == "2026-01-08T14:14:00+03:30"  # article:published_time
    assert jsonld.published == "2026-01-07T09:30:00+03:30"  # JSON-LD datePublished
    assert jalali.published == "۱۴۰۴/۱۰/۱۸ - ۱۴:۱۴"  # visible Jalali date, as written
    assert parse_date(jalali.published) == datetime(2026, 1, 8, 10, 44, tzinfo=timezone.utc)
    assert not jalali.body.startswith("جشنواره فیلم فجر با نمایش")  # the repeated headline went


def test_full_text_keeps_the_feeds_date(client, http_server):
    serve_pages(http_server)
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/article_time_tag.html"),
                   published="Tue, 06 Jan 2026 06:00:00 GMT")
    source = Source(name="local", kind="feed", url=http_server.url("/rss"))
    assert fetch_full_text(client, item, source).published == "Tue, 06 Jan 2026 06:00:00 GMT"
    assert fetch_full_text(client, replace(item, published=None), source).published == "2026-01-06T10:00:00+03:30"


def test_per_source_selector(client, http_server):
    serve_pages(http_server)
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/article_published_meta.html"))
    source = Source(name="local", kind="feed", url=http_server.url("/rss"), page=PageOptions(selector="div.item-text"))
    full = fetch_full_text(client, item, source)
    paragraphs = full.body.split("\n")
    assert len(paragraphs) == 4 and paragraphs[1].startswith("به گزارش خبرگزاری محلی")  # after the lead
    missing = replace(source, page=PageOptions(selector="div.does-not-exist"))
    error = fetch_full_text(client, item, missing)
    assert isinstance(error, ItemError) and "matched no text" in error.reason


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=iso-8859-1", "text/html; charset=utf-8"])
def test_windows1256_page(client, http_server, content_type):
    serve_pages(http_server, content_type)
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/article_windows1256.html"))
    source = Source(name="local", kind="feed", url=http_server.url("/rss"))
    full = fetch_full_text(client, item, source)
    assert full.body.startswith("کشاورزان چهارمحال و بختياري از طرح جديد آبياري قطره\u200cاي استقبال کردند.")
    assert "\ufffd" not in full.body and len(full.body.split("\n")) == 3
    assert full.published == "15 دي 1404"  # visible date, Arabic yeh and Latin digits as printed


def test_offsite_link_is_refused_without_a_request(client, http_server, second_server):
    serve_pages(second_server)
    source = serve_feed(http_server, "rss_offsite_links.xml", OFFSITE=second_server.base)
    (item,) = fetch_feed(client, source, None, None).items
    assert item.url == second_server.url("/pages/article_published_meta.html")
    error = fetch_full_text(client, item, source)
    assert isinstance(error, ItemError) and error.reason.startswith("off-site link: 127.0.0.2")
    assert second_server.requests == []


def test_redirect_off_site_is_refused(client, http_server, second_server):
    serve_pages(second_server)
    http_server.route("/pages/moved", 302, {"Location": second_server.url("/pages/article_jsonld.html")})
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/moved"))
    source = Source(name="local", kind="feed", url=http_server.url("/rss"))
    error = fetch_full_text(client, item, source)
    assert isinstance(error, ItemError) and "redirect to a disallowed host" in error.reason
    assert second_server.requests == []


def test_allowed_hosts_option_admits_another_site(client, http_server, second_server):
    serve_pages(second_server)
    item = RawItem("x#1", title="t", body="lead", url=second_server.url("/pages/article_jsonld.html"))
    allowed = [f"127.0.0.2:{second_server.port}"]  # a host on a non-standard port is named with it
    source = Source(name="local", kind="feed", url=http_server.url("/rss"), page=PageOptions(allowed_hosts=tuple(allowed)))
    full = fetch_full_text(client, item, source)
    assert isinstance(full, RawItem) and full.published == "2026-01-07T09:30:00+03:30"
    assert second_server.paths() == ["/pages/article_jsonld.html"]


def test_allowed_host_without_port_admits_standard_ports_only(client, http_server, second_server):
    serve_pages(second_server)
    item = RawItem("x#1", title="t", body="lead", url=second_server.url("/pages/article_jsonld.html"))
    source = Source(name="local", kind="feed", url=http_server.url("/rss"), page=PageOptions(allowed_hosts=("127.0.0.2",)))
    error = fetch_full_text(client, item, source)
    assert isinstance(error, ItemError) and f"port {second_server.port} of host 127.0.0.2 not allowed" in error.reason
    assert second_server.requests == []


def test_items_of_a_loopback_feed_cannot_reach_another_port(client, http_server):
    # The feed is on 127.0.0.1:<port>; an item pointing at the same host's PostgreSQL port is refused
    # before any connection is made.
    source = Source(name="local", kind="feed", url=http_server.url("/rss"), full_text=True)
    item = RawItem("x#1", title="t", body="lead", url="http://127.0.0.1:5432/")
    error = fetch_full_text(client, item, source)
    assert isinstance(error, ItemError) and "port 5432 of host 127.0.0.1 not allowed" in error.reason


def test_site_hosts_names_the_feeds_port():
    assert site_hosts("http://127.0.0.1:8000/rss") == {"127.0.0.1", "127.0.0.1:8000"}
    assert "[::1]:8000" in site_hosts("http://[::1]:8000/rss")
    assert site_hosts("https://www.mehrnews.com:443/rss") == {"www.mehrnews.com", "mehrnews.com"}


def test_page_without_article_text(client, http_server):
    serve_pages(http_server)
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/article_no_text.html"))
    error = fetch_full_text(client, item, Source(name="local", kind="feed", url=http_server.url("/rss")))
    assert isinstance(error, ItemError) and error.reason == "full text: no article text found on the page"


def test_hanging_page_times_out(client, http_server):
    http_server.route("/pages/slow", hang(http_server, 5))
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/slow"))
    started = time.monotonic()
    error = fetch_full_text(client, item, Source(name="local", kind="feed", url=http_server.url("/rss")))
    assert isinstance(error, ItemError) and error.reason == "full text: timeout (transient)"
    assert time.monotonic() - started < 3


def test_missing_page_is_permanent(client, http_server):
    item = RawItem("x#1", title="t", body="lead", url=http_server.url("/pages/gone.html"))
    error = fetch_full_text(client, item, Source(name="local", kind="feed", url=http_server.url("/rss")))
    assert error.reason == "full text: HTTP 404"


def test_site_hosts():
    assert site_hosts("https://rss.tasnimnews.com/fa/rss") == {
        "rss.tasnimnews.com", "www.rss.tasnimnews.com", "tasnimnews.com", "www.tasnimnews.com"}
    assert site_hosts("https://www.mehrnews.com/rss", ["media.mehrnews.com"]) == {
        "www.mehrnews.com", "mehrnews.com", "media.mehrnews.com", "www.media.mehrnews.com"}
    assert "www.bbc.com" in site_hosts("https://feeds.bbci.co.uk/persian/rss.xml", ["bbc.com"])
    assert "bbc.com" not in site_hosts("https://feeds.bbci.co.uk/persian/rss.xml")


def test_a_loopback_feed_cannot_redirect_to_another_local_port(client, http_server):
    # A local mirror's feed that redirects to another service on the same machine (here a port
    # nobody listens on, standing for PostgreSQL's) is refused before any connection.
    http_server.route("/rss", 302, {"Location": "http://127.0.0.1:5432/"})
    source = Source(name="local", kind="feed", url=http_server.url("/rss"))
    with pytest.raises(FetchError) as err:
        fetch_feed(client, source)
    assert "port 5432 of host 127.0.0.1 not allowed" in err.value.reason and not err.value.transient


def test_a_page_the_crawl_stored_stays_one_row_when_the_feed_lists_it_under_a_guid(pg_engine, client, http_server):
    """The crawl keys a page by its URL; the feed that later carries it under a GUID updates that
    row instead of adding a second one (crawl first, feed second: one article, one row)."""
    from sqlalchemy import text

    from etl.tasks.context import Context
    from etl.tasks.poll import poll_feed
    from etl.load.sources import ensure_source
    from etl.load.batch import load_batch
    from etl.clean.article import to_article
    from etl.models import RunReport

    link = http_server.url("/news/12345/kandoodari")
    rss = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
           f'<item><title>کندوداری در روستا</title><link>{link}</link><guid isPermaLink="false">item-12345</guid>'
           f'<description>زنبورداران روستا از برداشت عسل خبر دادند.</description></item></channel></rss>')
    http_server.route("/feed", 200, {"Content-Type": RSS}, rss.encode("utf-8"))
    source = Source(name="local", kind="feed", url=http_server.url("/feed"))
    crawled = to_article(RawItem("crawl", title="کندوداری در روستا", body="متن کامل صفحه درباره کندوداری.",
                                 url=link), NOW)
    assert crawled.key.startswith("url:")
    with pg_engine.begin() as conn:
        sid = ensure_source(conn, source, NOW, True)
    load_batch(pg_engine, sid, RunReport(kind="crawl", source="local"), [crawled], [], NOW)
    report = poll_feed(Context(pg_engine, lambda: NOW, client), source)
    assert report.error is None and (report.new, report.updated) == (0, 1)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT key FROM articles")).scalars().all() == [crawled.key]
