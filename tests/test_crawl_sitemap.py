"""Sitemap documents as real sites serve them (pure parsing), and discovery through robots.txt
and the well-known paths (HttpClient on recorded responses: no connection is made)."""

from __future__ import annotations

import gzip
import socket

import pytest
import responses

from etl.crawl.discover import WELL_KNOWN, discover, read_robots
from etl.crawl.sitemap import SitemapError, parse_sitemap
from etl.fetch.http import FetchError, HttpClient, HttpSettings

SITE = "https://news.example/"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
URLSET = (f'<?xml version="1.0"?><urlset {NS} xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" '
          'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
          '<url><loc>https://news.example/fa/news/1403/05/12/1/a</loc><lastmod>2024-08-02T10:00:00+03:30</lastmod></url>'
          '<url><image:image><image:loc>https://cdn.example/1.jpg</image:loc></image:image>'
          '<loc><![CDATA[https://news.example/news/2?x=1&y=2]]></loc>'
          '<news:news><news:publication_date>2024-08-02T09:00:00Z</news:publication_date></news:news></url>'
          '<url><loc>  https://news.example/news/3  </loc></url>'
          '<url><loc>javascript:alert(1)</loc></url></urlset>').encode()


def locs(parsed):
    return [e.loc for e in parsed.entries]


def test_urlset_entries_with_lastmod_news_date_cdata_and_missing_dates():
    parsed = parse_sitemap(URLSET, "u")
    assert parsed.kind == "urlset"
    assert locs(parsed) == ["https://news.example/fa/news/1403/05/12/1/a", "https://news.example/news/2?x=1&y=2",
                            "https://news.example/news/3"]
    first, second, third = parsed.entries
    assert first.lastmod.isoformat() == "2024-08-02T06:30:00+00:00" and first.published is None
    assert second.published.isoformat() == "2024-08-02T09:00:00+00:00" and second.lastmod is None
    assert (third.lastmod, third.published) == (None, None)


@pytest.mark.parametrize("body", [
    gzip.compress(URLSET, mtime=0),                  # a .gz served as gzip bytes
    URLSET,                                     # a .gz already decompressed in transit
    gzip.compress(gzip.compress(URLSET, mtime=0), mtime=0),    # gzip bytes sent with Content-Encoding: gzip twice over
    b"\xef\xbb\xbf\n  " + URLSET,               # BOM and blank lines before the declaration
    URLSET.replace(f" {NS}".encode(), b""),     # namespace-less
])
def test_the_same_urlset_however_it_is_wrapped(body):
    assert len(parse_sitemap(body, "u").entries) == 3


def test_sitemap_index_keeps_each_sub_sitemaps_lastmod():
    body = (f'<sitemapindex {NS}><sitemap><loc>https://news.example/s-2024-08.xml.gz</loc>'
            '<lastmod>2024-08-31</lastmod></sitemap><sitemap><loc>https://news.example/s-2024-09.xml.gz</loc>'
            '</sitemap></sitemapindex>').encode()
    parsed = parse_sitemap(body, "u")
    assert parsed.kind == "index"
    assert [(e.loc.rsplit("/", 1)[1], e.lastmod and e.lastmod.date().isoformat()) for e in parsed.entries] == [
        ("s-2024-08.xml.gz", "2024-08-30"), ("s-2024-09.xml.gz", None)]  # a date-only lastmod is Tehran midnight


def test_truncated_sitemap_keeps_what_it_held():
    assert len(parse_sitemap(URLSET[: URLSET.index(b"<url><loc>  https")], "u").entries) == 2


def test_plain_text_sitemap():
    assert locs(parse_sitemap(b"https://news.example/a\n\nhttps://news.example/b\n", "u")) == [
        "https://news.example/a", "https://news.example/b"]


@pytest.mark.parametrize("body, reason", [
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "an HTML page, not a sitemap"),
    (gzip.compress(b"<html><head><title>Not found</title></head></html>", mtime=0), "an HTML page, not a sitemap"),
    (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
    (b"", "empty sitemap"),
    (b"<rss version='2.0'><channel/></rss>", "not a sitemap (root element <rss>)"),
    (b"just words", "neither XML nor a list of URLs"),
])
def test_not_a_sitemap_is_a_located_permanent_failure(body, reason):
    with pytest.raises(SitemapError) as caught:
        parse_sitemap(body, "https://news.example/s.xml.gz")
    assert caught.value.reason.startswith(reason)
    assert str(caught.value).startswith("https://news.example/s.xml.gz: ") and not caught.value.transient


def test_entities_are_not_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b'<urlset><url><loc>https://news.example/&b;</loc></url></urlset>')
    assert all("aaaa" not in loc for loc in locs(parse_sitemap(bomb, "u")))


# --- discovery ---------------------------------------------------------------------------------

def public(host, port, family=0, type=0, *args):
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))]


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def get():
    client = HttpClient(HttpSettings(per_host_delay=0, retries=0), resolve=public, sleep=lambda s: None)
    yield lambda url: client.get(url)
    client.close()


ROBOTS = ("User-agent: *\nDisallow: /private/\nAllow: /private/open/\nCrawl-delay: 2\n"
          "Sitemap: https://news.example/sitemap_index.xml\nSitemap: https://news.example/news.xml\n")


def test_robots_sitemap_lines_rules_and_crawl_delay(rsps, get):
    rsps.get("https://news.example/robots.txt", body=ROBOTS)
    found = discover(get, SITE)
    assert (found.via, found.sitemaps) == ("robots", ["https://news.example/sitemap_index.xml",
                                                       "https://news.example/news.xml"])
    assert found.robots.crawl_delay == 2.0
    assert not found.robots.allows("https://news.example/private/a")
    assert found.robots.allows("https://news.example/private/open/a") and found.robots.allows(SITE + "news/1")
    assert [c.request.url for c in rsps.calls] == ["https://news.example/robots.txt"]


def test_sources_file_list_overrides_robots(rsps, get):
    rsps.get("https://news.example/robots.txt", body=ROBOTS)
    found = discover(get, SITE, ["/archive/sitemap.xml"])
    assert (found.via, found.sitemaps) == ("config", ["https://news.example/archive/sitemap.xml"])


def test_without_robots_the_well_known_paths_are_tried(rsps, get):
    rsps.get("https://news.example/robots.txt", status=404)
    rsps.get("https://news.example/sitemap_index.xml", body=b"<sitemapindex/>")
    rsps.get("https://news.example/sitemap-news.xml", body=b"<urlset/>")
    found = discover(get, SITE)
    assert found.via == "well-known" and found.robots.allows(SITE + "anything")
    assert found.sitemaps == ["https://news.example/sitemap_index.xml", "https://news.example/sitemap-news.xml"]
    assert set(found.probed) == set(found.sitemaps)  # their bodies are kept: not fetched again
    assert len(rsps.calls) == 1 + len(WELL_KNOWN)


def test_robots_server_error_stops_the_crawl(rsps, get):
    rsps.get("https://news.example/robots.txt", status=503)
    with pytest.raises(FetchError) as caught:
        read_robots(get, SITE)
    assert caught.value.transient
