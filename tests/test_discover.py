"""`news-etl sources discover URL` (issue 26): from a local outlet's home page, the right feed and
sitemap first, every other candidate kept or dropped with its reason, a ready [[sources]] block,
`--add` writing a valid source; bad input is one line with exit 2 or 1. Real loopback site."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timezone

import pytest

from conftest import free_port, invoke
from etl.config import load_config
from etl.discover import discover_outlet
from etl.discover.measure import full_text, is_persian
from etl.discover.candidates import page_feeds
from etl.fetch.http import HttpClient, HttpSettings
from etl.models import RawItem
from outletsite import serve_outlet

FAST = ["--per-host-delay", "0"]


def discover(url: str):
    with HttpClient(HttpSettings(per_host_delay=0.0, retries=0)) as client:
        return discover_outlet(client, url, datetime.now(timezone.utc))


def test_the_right_feed_and_sitemap_come_first_and_the_others_say_why(http_server):
    home = serve_outlet(http_server)
    found = discover(home)
    feeds = {f.url.removeprefix(http_server.base): f for f in found.feeds}
    assert found.feeds[0].url == http_server.url("/fa/rss/allnews") and found.feeds[0].kept
    assert "30 items" in found.feeds[0].why and "100% Persian" in found.feeds[0].why
    assert "lead only" in found.feeds[0].why and found.feeds[0].found == "declared in the page's head"
    assert feeds["/fa/rss/sport"].kept and feeds["/fa/rss/sport"].found == f"listed on {http_server.url('/rss-help')}"
    assert feeds["/en/rss"].why.startswith("mostly not Persian") and not feeds["/en/rss"].kept
    assert feeds["/old/feed.xml"].why == "HTTP 404" and not feeds["/old/feed.xml"].kept
    assert feeds["/fa/rss/archive.xml"].why.startswith("stale:")
    assert feeds["/rss"].why == f"the same items as {http_server.url('/fa/rss/allnews')}"
    assert feeds["/rss-help"].why.startswith("a page listing 3 feed(s)")
    assert feeds["/feed"].why == "HTTP 404" and feeds["/feed"].found == "a usual feed path"
    assert [f.kept for f in found.feeds] == sorted((f.kept for f in found.feeds), reverse=True)  # kept first
    # Sitemaps: the news sitemap an index lists comes first, then the index, then a month.
    assert [s.url.removeprefix(http_server.base) for s in found.sitemaps if s.kept][:2] == [
        "/sitemap-news.xml", "/sitemap_index.xml"]
    assert found.sitemaps[0].news and "a news sitemap: 12 URLs" in found.sitemaps[0].why
    assert {s.url for s in found.sitemaps} >= {http_server.url("/sitemap.xml")}  # a well-known path, 404
    # Each candidate was fetched once.
    paths = http_server.paths()
    assert len(paths) == len(set(paths))


def test_cli_prints_a_block_and_json_and_add_writes_a_valid_source(http_server, tmp_path):
    home = serve_outlet(http_server)
    config = tmp_path / "sources.toml"
    config.write_text('# my sources\n[[sources]]\nname = "mehr"\nkind = "feed"\nurl = "https://www.mehrnews.com/rss"\n')
    text = invoke("--config", str(config), "sources", "discover", home, *FAST)
    assert text.returncode == 0, text.stderr
    assert f"  kept     {http_server.url('/fa/rss/allnews')}  30 items" in text.stdout
    block = text.stdout[text.stdout.index("# 127.0.0.1"):]
    table = tomllib.loads(block)["sources"][0]
    assert table == {"name": "127.0.0.1", "kind": "feed", "url": http_server.url("/fa/rss/allnews"),
                     "interval": "15m", "full_text": True, "sitemaps": [http_server.url("/sitemap-news.xml")]}

    as_json = json.loads(invoke("sources", "discover", home, "--json", *FAST).stdout)
    assert set(as_json) == {"feeds", "sitemaps", "source"}
    first = as_json["feeds"][0]
    assert {"url", "kept", "why", "items", "newest", "persian_share"} <= set(first)
    assert (first["kept"], first["items"], first["persian_share"]) == (True, 30, 1.0)
    assert all({"url", "kept", "why"} <= set(s) for s in as_json["sitemaps"])
    assert as_json["feeds"][-1]["kept"] is False and as_json["feeds"][-1]["why"]

    added = invoke("--config", str(config), "sources", "discover", home, "--add", "sample", *FAST)
    assert added.returncode == 0, added.stderr
    sources = load_config(config).sources
    assert [s.name for s in sources] == ["mehr", "sample"]
    assert sources[1].url == http_server.url("/fa/rss/allnews") and sources[1].full_text
    assert config.read_text().startswith("# my sources\n")  # the file's own text is kept
    asked = len(http_server.paths())
    again = invoke("--config", str(config), "sources", "discover", home, "--add", "sample", *FAST)
    assert again.returncode == 2 and "already has a source of that name" in again.stderr
    assert len(http_server.paths()) == asked  # the refused --add fetched nothing


def test_an_outlet_without_a_feed_but_with_a_news_sitemap_becomes_a_site_source(http_server):
    serve_outlet(http_server)
    for path in ("/fa/rss/allnews", "/fa/rss/sport", "/rss", "/en/rss"):
        http_server.routes.pop(path)
    http_server.route("/", 200, {"Content-Type": "text/html"}, b"<html><body><p>no feeds here</p></body></html>")
    done = invoke("sources", "discover", http_server.url("/"), "--json", *FAST)
    assert done.returncode == 0
    source = json.loads(done.stdout)["source"]
    assert source == {"name": "127.0.0.1", "kind": "site", "url": http_server.url("/"), "interval": "1h",
                      "crawl": {"days": 2}, "sitemaps": [http_server.url("/sitemap-news.xml")]}


@pytest.mark.parametrize("argv, code, message", [
    (["not-a-url"], 2, "'not-a-url' is not an http(s) address"),
    (["ftp://example.com/"], 2, "is not an http(s) address"),
    (["https://example.com/", "--add", "bad name"], 2, "--add 'bad name': use letters"),
    (["https://example.com/", "--proxy", "socks5://127.0.0.1:1"], 2, "--proxy: proxy must be http://"),
])
def test_bad_input_is_one_line_and_exit_2(argv, code, message):
    done = invoke("sources", "discover", *argv, *FAST)
    assert done.returncode == code and message in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("news-etl: error: ")


def test_an_unreachable_host_and_a_page_without_feeds_are_exit_1(http_server):
    refused = invoke("sources", "discover", f"http://127.0.0.1:{free_port()}/", *FAST)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "connection error" in refused.stderr
    http_server.route("/", 200, {"Content-Type": "text/html"}, b"<html><body><p>just a page</p></body></html>")
    empty = invoke("sources", "discover", http_server.url("/"), *FAST)
    assert empty.returncode == 1
    assert empty.stderr == f"news-etl: error: {http_server.url('/')}: no feed or sitemap worth keeping " \
                           "(each candidate says why)\n"
    assert "dropped  " + http_server.url("/rss") + "  HTTP 404 (a usual feed path)" in empty.stdout


def test_a_walled_candidate_says_so(http_server):
    from pathlib import Path
    home = serve_outlet(http_server)
    wall = (Path(__file__).parent / "data" / "walls" / "arvancloud_challenge.html").read_bytes()
    http_server.route("/en/rss", 200, {"Content-Type": "text/html"}, wall)
    feeds = {f.url: f for f in discover(home).feeds}
    assert feeds[http_server.url("/en/rss")].why == "blocked: ArvanCloud challenge"


def test_sources_alone_still_lists():
    assert invoke("--config", "/dev/null", "--database-url", "sqlite://", "sources", "--json").returncode == 0


def test_persian_is_told_from_arabic_and_english():
    assert is_persian("خبرگزاری مهر گزارش داد") and is_persian("کاهش دمای هوا در تهران")
    assert not is_persian("الرئيس الإيراني يزور المدينة المنورة")
    assert not is_persian("وزارة الخارجية تدين الهجوم")
    assert not is_persian("Breaking news from Tehran")


def test_full_text_or_lead():
    lead = RawItem("x", body="لید کوتاه خبر")
    whole = RawItem("x", body="<p>" + "متن کامل خبر " * 200 + "</p>")
    assert full_text([lead, lead, whole]) is False and full_text([whole, whole, lead]) is True


def test_page_feeds_reads_head_then_links_and_skips_comments():
    html = ('<html><head><link rel="alternate" type="application/atom+xml" href="/atom">'
            '<link rel="alternate" hreflang="en" href="/en/"></head><body><a href="/comments/feed">c</a>'
            '<a href="/x">آر اس اس</a><a href="/sitemap.xml">map</a><a href="/news/1">news</a></body></html>')
    assert [(c.url, c.found) for c in page_feeds(html, "https://o.example/")] == [
        ("https://o.example/atom", "declared in the page's head"), ("https://o.example/x", "linked from the page")]
