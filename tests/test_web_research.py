"""The analysis pages over HTTP on both databases: each page and its JSON twin (the CLI's own
``--json``), the CSV links (the CLI's ``--csv``), the OpenAPI description of every answer, bad
input as a 400 naming it, the home page's latest articles and volume, and the article page's
decoded address and agency.
"""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from conftest import invoke
from test_web import validate
from test_web_data import WEB_NOW, corpus  # noqa: F401
from etl.web import create_app

QUERIES = ("ایران", "پاکستان")


@pytest.fixture
def client(corpus):
    with TestClient(create_app(corpus.engine, now=lambda: WEB_NOW)) as c:
        yield c


def cli_args(corpus) -> tuple[str, ...]:
    return ("--database-url", corpus.engine.url.render_as_string(hide_password=False), "--config", "/dev/null", "-q")


def test_api_trends_is_the_cli_json_and_the_csv_the_cli_csv(client, corpus):
    params = [("q", QUERIES[0]), ("q", QUERIES[1]), ("by", "week"), ("calendar", "jalali")]
    api = client.get("/api/trends", params=params)
    assert api.status_code == 200
    validate(api.json(), "Trends")
    cli = invoke("trends", *QUERIES, "--by", "week", "--calendar", "jalali", "--json", *cli_args(corpus))
    assert api.json() == json.loads(cli.stdout)
    assert [s["query"] for s in api.json()["series"]] == list(QUERIES)
    csv = client.get("/trends.csv", params=params)
    assert csv.headers["content-type"].startswith("text/csv")
    cli_csv = invoke("trends", *QUERIES, "--by", "week", "--calendar", "jalali", "--csv", *cli_args(corpus)).stdout
    assert csv.text == cli_csv.replace("\n", "\r\n") if "\r\n" not in cli_csv else csv.text == cli_csv


def test_trends_page_draws_an_svg_chart_with_labels_and_links_its_csv(client):
    page = client.get("/trends", params=[("q", QUERIES[0]), ("q", QUERIES[1]), ("by", "month"), ("calendar", "jalali")])
    assert page.status_code == 200
    svg = page.text.split('<figure class="trend-chart">')[1].split("</figure>")[0]
    assert svg.count("<polyline") == 2 and "مرداد ۱۴۰۴" in svg and "شهریور ۱۴۰۴" in svg
    labels = re.findall(r'<text class="x-label" x="([\d.]+)"', svg)
    assert len(labels) == 2 and float(labels[0]) > float(labels[1])  # time runs right to left
    link = re.search(r'<a class="csv" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert link.startswith("/trends.csv?") and client.get(link).status_code == 200
    assert client.get("/trends").status_code == 200  # the form alone


@pytest.mark.parametrize("path, schema", [("/api/terms?q=ایران&limit=5", "Terms"), ("/api/outlets?q=ایران", "Outlets"),
                                          ("/api/stories", "Stories"), ("/api/trends?q=ایران", "Trends")])
def test_every_analysis_answer_matches_openapi(client, path, schema):
    got = client.get(path)
    assert got.status_code == 200, got.text
    validate(got.json(), schema)


@pytest.mark.parametrize("path, named", [("/api/trends?q=ایران&by=year", "by: 'year'"), ("/api/trends", "q: missing"),
                                         ("/api/terms?q=و", "only stopwords"), ("/api/outlets?q=ایران&since=دیروز", "since"),
                                         ("/api/terms?q=a&q=b", "one query"),
                                         ("/api/stories?since=2025-09-01&until=2025-08-01", "is not before")])
def test_bad_input_is_a_400_naming_it(client, path, named):
    got = client.get(path)
    assert got.status_code == 400 and named in got.json()["error"]
    validate(got.json(), "Error")
    if "?" in path:  # without a query a page shows its form
        page = client.get(path.replace("/api", ""))
        assert page.status_code == 400 and named.split(":")[0] in page.text


def test_terms_outlets_and_stories_pages(client, corpus):
    terms = client.get("/terms", params={"q": "ایران", "limit": "10"})
    assert terms.status_code == 200 and terms.text.count('<td class="term">') == 10
    assert client.get("/terms.csv", params={"q": "ایران", "limit": "10"}).text.startswith("term,count,background,score")
    outlets = client.get("/outlets", params={"q": "ایران", "calendar": "jalali"})
    assert 'data-kind="source"' in outlets.text and "1404-06-" in outlets.text
    stories = client.get("/stories").text
    assert f'href="/articles/{corpus.ids["story"]}"' in stories and 'data-source="isna"' in stories


def test_home_shows_latest_articles_and_volume(client, corpus):
    home = client.get("/")
    assert home.status_code == 200
    latest = [int(i) for i in re.findall(r'class="hit" data-id="(\d+)"', home.text)]
    assert corpus.ids["story"] in latest and corpus.ids["copy"] in latest
    assert '<figure class="chart" data-source="fars">' in home.text and '<rect class="bar"' in home.text
    assert 'action="/search"' in home.text


def test_article_page_shows_its_agency_and_its_address_decoded(client, corpus):
    page = client.get(f"/articles/{corpus.ids['copy']}").text
    assert '<dd class="agency">ایسنا</dd>' in page
    assert ">https://www.isna.ir/news/1404060901/<" in page


def test_chart_geometry_runs_right_to_left_with_persian_period_names():
    from datetime import date
    from etl.analysis.trends import Series, Trends
    from etl.load.search import Filters
    from etl.web.trend_chart import HEIGHT, chart, percent, period_name
    starts = (date(2025, 12, 22), date(2026, 1, 21), date(2026, 2, 20))  # Dey, Bahman, Esfand 1404
    found = Trends("month", "jalali", Filters(), starts, ("1404-10", "1404-11", "1404-12"), (10, 20, 0),
                   (Series("الف", (1, 10, 0), (0.1, 0.5, 0.0)), Series("ب", (0, 2, 0), (0.0, 0.1, 0.0))))
    drawn = chart(found)
    first, second = drawn.lines
    xs = [dot[0] for dot in first.dots]
    assert xs == sorted(xs, reverse=True)  # the first period on the right
    assert first.dots[1][1] < first.dots[0][1] < first.dots[2][1] == HEIGHT - 36  # higher share, higher point
    assert [t.text for t in drawn.x_labels] == ["دی ۱۴۰۴", "بهمن ۱۴۰۴", "اسفند ۱۴۰۴"]
    assert [t.anchor for t in drawn.x_labels] == ["start", "middle", "end"]  # the outer ones kept inside
    assert [t.text for t in drawn.y_labels] == ["۰٪", "۲۵٪", "۵۰٪"] and percent(0.125) == "۱۲٫۵٪"
    assert period_name(date(2026, 1, 8), "day", "gregorian") == "۸ ژانویه ۲۰۲۶"
