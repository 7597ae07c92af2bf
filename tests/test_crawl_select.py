"""Date pruning is pure: URL dates, sitemap and page verdicts, sibling order. Table-driven."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from etl.clean.dates import TEHRAN
from etl.crawl.select import Observed, Window, page_verdict, sibling_skip, sitemap_skip, url_span


def tehran(*args) -> datetime:
    return datetime(*args, tzinfo=TEHRAN).astimezone(timezone.utc)


SUMMER = Window(tehran(2024, 6, 1), tehran(2024, 9, 1))  # three months, Tehran midnights


@pytest.mark.parametrize("url, allow_year, start, end", [
    # Jalali day in the path (Tasnim style): 1403/05/12 is 2024-08-02
    ("https://www.tasnimnews.com/fa/news/1403/05/12/3021/x", False, tehran(2024, 8, 2), tehran(2024, 8, 3)),
    ("https://x.ir/news/1403-05-12/3021", False, tehran(2024, 8, 2), tehran(2024, 8, 3)),
    # Jalali month: 1403/05 (Mordad) runs 2024-07-22 .. 2024-08-21
    ("https://x.ir/sitemap/1403/05/posts.xml", False, tehran(2024, 7, 22), tehran(2024, 8, 22)),
    ("https://x.ir/sitemaps/1403/1403-12.xml.gz", False, tehran(2025, 2, 19), tehran(2025, 3, 21)),
    # Gregorian day and month
    ("https://x.com/2024/08/02/story", False, tehran(2024, 8, 2), tehran(2024, 8, 3)),
    ("https://x.com/sitemap-2024-08.xml", False, tehran(2024, 8, 1), tehran(2024, 9, 1)),
    ("https://x.com/sitemap_2024_12.xml", False, tehran(2024, 12, 1), tehran(2025, 1, 1)),
    # a bare year counts only for sitemaps
    ("https://x.ir/sitemaps/index-1402.xml", True, tehran(2023, 3, 21), tehran(2024, 3, 20)),
    ("https://x.com/archive-2019.xml", True, tehran(2019, 1, 1), tehran(2020, 1, 1)),
    # percent-encoded path and a date in the query
    ("https://x.ir/%D8%A7/1403/05/12/a", False, tehran(2024, 8, 2), tehran(2024, 8, 3)),
    ("https://x.com/sitemap.xml?month=2024-08", False, tehran(2024, 8, 1), tehran(2024, 9, 1)),
])
def test_url_span(url, allow_year, start, end):
    span = url_span(url, allow_year)
    assert (span.start, span.end) == (start, end)


@pytest.mark.parametrize("url", [
    "https://x.ir/news/6573858/slug",        # an article id, not a date
    "https://x.ir/news/1403/13/40/a",         # no 13th month
    "https://x.ir/news/1403/12/31/a",         # 1403 is not leap enough for a 31st of Esfand
    "https://x.com/2024/02/30/a",             # no 30 February
    "https://x.ir/sitemap.xml?page=2",
    "https://x.ir/sitemaps/index-1402.xml",   # a bare year without allow_year
    "https://2024-08.x.com/sitemap.xml",      # the host is not the path
])
def test_url_without_a_date(url):
    assert url_span(url) is None


@pytest.mark.parametrize("url, lastmod, expect", [
    ("https://x.com/sitemap-2024-07.xml", None, None),
    ("https://x.com/sitemap-2024-05.xml", None, "its URL dates it 2024-05-01..2024-06-01 (Tehran)"),
    ("https://x.com/sitemap-2024-09.xml", None, "its URL dates it 2024-09-01..2024-10-01 (Tehran)"),
    ("https://x.ir/sitemaps/1403/1403-03.xml", None, None),  # 1403/03 ends 2024-06-20: overlaps
    ("https://x.ir/sitemaps/1403/1403-02.xml", None, "its URL dates it 2024-04-20..2024-05-21 (Tehran)"),
    ("https://x.ir/sitemaps/index-1402.xml", None, "its URL dates it 2023-03-21..2024-03-20 (Tehran)"),
    ("https://x.ir/sitemaps/index-1403.xml", None, None),
    # lastmod before the range: nothing in it can be newer
    ("https://x.com/sitemap-7.xml", tehran(2024, 5, 31, 23), "not modified since 2024-05-31, before the range"),
    # lastmod after the range proves nothing (old sitemaps get regenerated)
    ("https://x.com/sitemap-7.xml", tehran(2026, 1, 1), None),
    ("https://x.com/sitemap-2024-02.xml", tehran(2026, 1, 1), "its URL dates it 2024-02-01..2024-03-01 (Tehran)"),
    ("https://x.com/sitemap.xml", None, None),  # no evidence: fetch it
])
def test_sitemap_skip(url, lastmod, expect):
    assert sitemap_skip(url, lastmod, SUMMER) == expect


def test_fifteen_years_of_monthly_sitemaps_keep_the_months_of_the_range():
    urls = [f"https://x.com/sitemap-{year}-{month:02d}.xml" for year in range(2010, 2025) for month in range(1, 13)]
    kept = [u for u in urls if sitemap_skip(u, None, SUMMER) is None]
    assert kept == [f"https://x.com/sitemap-2024-{m:02d}.xml" for m in (6, 7, 8)]
    jalali = [f"https://x.ir/sm/{year}/{month:02d}.xml" for year in range(1389, 1404) for month in range(1, 13)]
    assert [u.rsplit("/", 2)[1:] for u in jalali if sitemap_skip(u, None, SUMMER) is None] == [
        ["1403", "03.xml"], ["1403", "04.xml"], ["1403", "05.xml"], ["1403", "06.xml"]]


def months(position: int, year: int, month: int) -> Observed:
    start = tehran(year, month, 1)
    return Observed(position, start, start + timedelta(days=27))


@pytest.mark.parametrize("position, siblings, expect", [
    # newest first: 0 = 2024-10, 1 = 2024-09; 3 is older than 2 ... so still possibly in range
    (2, [months(0, 2024, 10), months(1, 2024, 9)], None),
    # newest first and 1 already ends before the range: 2, 3, ... are older still
    (2, [months(0, 2024, 6), months(1, 2024, 5)], "the index runs newest-first and a sibling at 1 ends before the range"),
    # newest first, 5 starts after the range: 4 is newer still
    (4, [months(5, 2024, 10), months(6, 2024, 9)], "the index runs newest-first and a sibling at 5 starts after the range"),
    # oldest first, 1 ends before the range: does not rule out 2
    (2, [months(0, 2024, 4), months(1, 2024, 5)], None),
    (0, [months(1, 2024, 4), months(2, 2024, 5)], "the index runs oldest-first and a sibling at 1 ends before the range"),
    (9, [months(0, 2024, 9), months(1, 2024, 10)], "the index runs oldest-first and a sibling at 0 starts after the range"),
    # one sibling or overlapping siblings tell no order
    (2, [months(1, 2024, 1)], None),
    (2, [months(0, 2024, 5), Observed(1, tehran(2024, 5, 10), tehran(2024, 7, 1))], None),
])
def test_sibling_skip(position, siblings, expect):
    assert sibling_skip(position, siblings, SUMMER) == expect


@pytest.mark.parametrize("date_from, date_to, lastmod, expect", [
    (tehran(2024, 7, 1, 10), tehran(2024, 7, 1, 10), None, "in"),        # news:publication_date
    (tehran(2024, 9, 1), tehran(2024, 9, 1), None, "out"),               # until is exclusive
    (tehran(2024, 6, 1), tehran(2024, 6, 1), None, "in"),                # since is inclusive
    (tehran(2024, 5, 31), tehran(2024, 6, 1), tehran(2024, 7, 1), "out"),  # URL day before; lastmod is an edit
    (tehran(2024, 8, 31), tehran(2024, 9, 1), None, "in"),               # the last day
    (None, None, tehran(2024, 5, 1), "out"),                             # unchanged since before the range
    (None, None, tehran(2024, 7, 1), "unknown"),                         # only the page can tell
    (None, None, tehran(2025, 1, 1), "unknown"),
    (None, None, None, "unknown"),
])
def test_page_verdict(date_from, date_to, lastmod, expect):
    assert page_verdict(date_from, date_to, lastmod, SUMMER) == expect
