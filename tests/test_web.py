"""The web page over HTTP (Starlette's in-process client) on PostgreSQL and SQLite: search in
every spelling, filters and paging, the article page, escaping, the token gate, the JSON API
against its OpenAPI description, and ``news-etl serve`` itself (bind refusal, read-only role).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests
from jsonschema import Draft202012Validator
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from conftest import REPO, free_port, invoke
from test_web_data import EDIT_MARK, SCRIPT_TITLE, WEB_NOW, corpus, load_corpus  # noqa: F401
from etl.load.db import make_engine
from etl.web import check_bind, create_app, is_loopback
from etl.web.openapi import spec

# The analysis endpoints, tested in tests/test_web_research.py.
ANALYSIS_PATHS = {"/api/trends", "/api/terms", "/api/outlets", "/api/stories"}
SPELLINGS = ("نخست‌وزیر", "نخستوزیر", "نخست وزیر", "نخست‌وزير")  # ZWNJ, joined, spaced, Arabic yeh


@pytest.fixture
def client(corpus):
    with TestClient(create_app(corpus.engine, now=lambda: WEB_NOW)) as c:
        yield c


def hit_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="hit" data-id="(\d+)"', html)]


@pytest.mark.parametrize("query", SPELLINGS)
def test_every_spelling_finds_the_seed_article_marked(client, corpus, query):
    page = client.get("/search", params={"q": query})
    assert page.status_code == 200
    assert hit_ids(page.text) == [corpus.ids["seed"]]
    assert "<mark>نخست‌وزیر</mark>" in page.text  # the article's own spelling, ZWNJ kept
    assert 'lang="fa" dir="rtl"' in page.text


def test_filters_and_paging(client, corpus):
    def ids(**params):
        return hit_ids(client.get("/search", params=params).text)
    everywhere = ids(q="پاکستان")
    assert corpus.ids["seed"] in everywhere
    assert corpus.ids["seed"] not in ids(q="پاکستان", source="fars")
    assert ids(q="پاکستان", agency="مهر") == [corpus.ids["seed"]]  # meta.agency from the lead
    assert ids(q="پاکستان", agency="مهر", since="۱۴۰۴/۰۵/۳۱") == [corpus.ids["seed"]]  # Jalali, Persian digits
    assert ids(q="پاکستان", agency="مهر", since="2025-08-23") == []
    assert ids(q="پاکستان", until="1404/05/31") == []  # until is exclusive, as in the CLI
    story = client.get("/search", params={"q": "ایران", "size": "1"}).text
    second = client.get("/search", params={"q": "ایران", "size": "1", "page": "2"}).text
    assert len(hit_ids(story)) == 1 and hit_ids(story) != hit_ids(second)
    assert 'rel="next"' in story and 'rel="prev"' in second


@pytest.mark.parametrize("params, named", [({"q": "x", "since": "دیروز"}, "since"), ({"q": "x", "page": "0"}, "page"),
                                           ({"q": " ، "}, "no words")])
def test_bad_input_is_a_400_naming_it(client, params, named):
    page = client.get("/search", params=params)
    assert page.status_code == 400 and named in page.text
    api = client.get("/api/search", params=params)
    assert api.status_code == 400 and named in api.json()["error"]


def test_article_page_shows_revisions_duplicates_and_time(client, corpus):
    edited = client.get(f"/articles/{corpus.ids['edited']}").text
    assert "نسخه‌های پیشین (۱)" in edited and f"<ins>{EDIT_MARK}</ins>" in edited
    story = client.get(f"/articles/{corpus.ids['story']}").text
    assert f'href="/articles/{corpus.ids["copy"]}"' in story  # the ISNA copy of the same story
    seed = client.get(f"/articles/{corpus.ids['seed']}").text
    assert "۳۱ مرداد ۱۴۰۴" in seed and "(۲۰۲۵-۰۸-۲۲)" in seed  # Jalali beside Gregorian, Persian digits
    assert "فقط روز انتشار معلوم است" in seed  # a date-only source: no invented clock time
    assert "مهر" in seed and "href=" in seed
    assert client.get("/articles/999999").status_code == 404


def test_script_title_is_text_everywhere(client, corpus):
    for path in (f"/articles/{corpus.ids['script']}", "/search?q=" + "آزمایشی"):
        page = client.get(path)
        assert "<script" not in page.text.lower()
        assert "&lt;script&gt;window.__xss = 1;" in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' covers scripts
        assert "default-src 'none'" in page.headers["content-security-policy"]
    assert client.get(f"/api/articles/{corpus.ids['script']}").json()["title"] == SCRIPT_TITLE


def test_sources_page_lists_failing_source_first(engine, tmp_path, http_server):
    http_server.route("/feed.xml", 503, {"Content-Type": "text/plain"}, b"down")
    load_corpus(engine, tmp_path, http_server.url("/feed.xml"))
    with TestClient(create_app(engine, now=lambda: WEB_NOW)) as c:
        page = c.get("/sources").text
    names = re.findall(r'class="source-card (\w+)" data-source="([\w-]+)"', page)
    assert names[0] == ("unhealthy", "broken") and all(state == "healthy" for state, _ in names[1:])
    fars = page.split('<figure class="chart" data-source="fars">')[1].split("</figure>")[0]
    assert fars.count('<rect class="bar"') == 3


def test_lost_database_is_a_503_naming_it():
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")  # nothing listens on port 1
    with TestClient(create_app(gone, now=lambda: WEB_NOW)) as c:
        page, api = c.get("/sources"), c.get("/api/search?q=x")
    assert page.status_code == 503 and "database unavailable" in page.text
    assert api.status_code == 503 and api.json()["error"].startswith("database unavailable")
    validate(api.json(), response_schema("/api/search", 503))


# --- the JSON API, checked against its own OpenAPI description -----------------------------

def validate(payload, schema_name: str) -> None:
    document = {"$ref": f"#/components/schemas/{schema_name}", "components": spec()["components"]}
    Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(payload)


def response_schema(path: str, status: int) -> str:
    ref = spec()["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def test_every_api_endpoint_matches_openapi(engine, tmp_path, http_server):
    http_server.route("/feed.xml", 503, {"Content-Type": "text/plain"}, b"down")
    ids = load_corpus(engine, tmp_path, http_server.url("/feed.xml")).ids
    calls = [("/api/search", "/api/search?q=نخستوزیر", 200), ("/api/search", "/api/search?q=ایران&size=2&page=2", 200),
             ("/api/search", "/api/search?q=x&since=nope", 400), ("/api/search", "/api/search", 400),
             ("/api/articles/{id}", f"/api/articles/{ids['edited']}", 200),
             ("/api/articles/{id}", f"/api/articles/{ids['story']}", 200),
             ("/api/articles/{id}", "/api/articles/424242", 404),
             ("/api/sources", "/api/sources", 200), ("/api/runs", "/api/runs?limit=3", 200),
             ("/api/runs", "/api/runs?source=fars", 200), ("/api/runs", "/api/runs?limit=0", 400)]
    with TestClient(create_app(engine, now=lambda: WEB_NOW)) as c:
        described = set(c.get("/api/openapi.json").json()["paths"])
        assert described == {p for p, _, _ in calls} | ANALYSIS_PATHS  # those: tests/test_web_research.py
        answers = {}
        for path, url, status in calls:
            got = c.get(url)
            assert got.status_code == status, url
            validate(got.json(), response_schema(path, status))
            answers[url] = got.json()
    assert answers["/api/search?q=نخستوزیر"]["results"][0]["snippet"].count("«نخست‌وزیر»") >= 1
    assert answers[f"/api/articles/{ids['story']}"]["duplicates"][0]["id"] == ids["copy"]
    assert answers[f"/api/articles/{ids['edited']}"]["revisions"][0]["changes"]
    assert answers["/api/sources"]["sources"][0]["name"] == "broken"
    assert {r["source"] for r in answers["/api/runs?source=fars"]["runs"]} == {"fars"}


def test_schema_validation_rejects_a_wrong_answer():
    with pytest.raises(Exception):
        validate({"runs": [{"id": "1"}]}, "Runs")


# --- who may bind, who may read -------------------------------------------------------------

@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.5", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.10", False), ("news.example", False)])
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def test_non_loopback_bind_needs_a_token():
    with pytest.raises(ValueError, match="NEWS_ETL_WEB_TOKEN"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "s3cret")  # allowed with a token
    check_bind("127.0.0.1", None)


def test_token_gate(corpus):
    with TestClient(create_app(corpus.engine, token="s3cret", now=lambda: WEB_NOW)) as c:
        refused = c.get("/sources")
        assert refused.status_code == 401 and refused.text.count("\n") == 1
        assert c.get("/api/sources", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/static/style.css").status_code == 401
        assert c.get("/api/sources", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        entry = c.get("/search?q=نخستوزیر&token=s3cret", follow_redirects=False)
        assert entry.status_code == 303 and "token" not in entry.headers["location"]
        assert "HttpOnly" in entry.headers["set-cookie"]
        assert hit_ids(c.get(entry.headers["location"]).text) == [corpus.ids["seed"]]  # the cookie is enough now


def test_serve_refuses_a_public_bind_without_token(sqlite_url):
    result = invoke("--database-url", sqlite_url, "serve", "--host", "0.0.0.0", env={"NEWS_ETL_WEB_TOKEN": ""})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not a loopback address" in result.stderr


def test_serve_refuses_a_database_without_schema(sqlite_url):
    result = invoke("--database-url", sqlite_url, "serve", "--port", "0")
    assert result.returncode == 1 and "news-etl db upgrade" in result.stderr



READ_ONLY_ROLE = """
CREATE ROLE {role} LOGIN;
GRANT CONNECT ON DATABASE {db} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
"""


@pytest.mark.slow
def test_serve_runs_under_a_read_only_role(pg_url, pg_admin, tmp_path):
    """The README's read-only role is enough for `news-etl serve`, and it cannot write."""
    engine = make_engine(pg_url)
    from etl.load.migrate import upgrade
    upgrade(engine, WEB_NOW)
    ids = load_corpus(engine, tmp_path).ids
    db = make_url(pg_url).database
    role = f"news_web_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        for statement in READ_ONLY_ROLE.format(role=role, db=db).strip().splitlines():
            conn.execute(text(statement))
    engine.dispose()
    url = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "etl", "--database-url", url, "serve", "--port", str(port)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                page = requests.get(f"{base}/search", params={"q": "نخست وزیر"}, timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert page.status_code == 200 and hit_ids(page.text) == [ids["seed"]]
        assert requests.get(f"{base}/sources", timeout=5).status_code == 200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE {role}"))
    assert "token" not in stderr.split("serving", 1)[-1].splitlines()[0]
    # uvicorn shuts down cleanly on SIGTERM, then re-raises it (so the exit status says why).
    assert "Application shutdown complete" in stderr and server.returncode in (0, -signal.SIGTERM), stderr


# --- how things are shown (pure) ------------------------------------------------------------

def test_tehran_time_jalali_beside_gregorian_with_history():
    from datetime import datetime, timezone
    from etl.web.present import fa_digits, tehran_time
    assert tehran_time(datetime(2025, 8, 22, 10, 0, tzinfo=timezone.utc)) == "۳۱ مرداد ۱۴۰۴، ساعت ۱۳:۳۰ (۲۰۲۵-۰۸-۲۲)"
    # Summer time until 2022: +04:30 in June 2020.
    assert tehran_time(datetime(2020, 6, 1, 19, 45, tzinfo=timezone.utc)) == "۱۳ خرداد ۱۳۹۹، ساعت ۰۰:۱۵ (۲۰۲۰-۰۶-۰۲)"
    assert tehran_time(datetime(2025, 8, 21, 20, 30, tzinfo=timezone.utc), False) == "۳۱ مرداد ۱۴۰۴ (۲۰۲۵-۰۸-۲۲)"
    assert tehran_time(None) == "—" and fa_digits(None) == ""


def test_marked_snippet_escapes_and_never_leaves_a_tag_open():
    from etl.web.present import MARK, marked, plain_snippet
    a, b = MARK
    assert marked(f"«نقل» {a}<b>نخست‌وزیر</b>{b}") == "«نقل» <mark>&lt;b&gt;نخست‌وزیر&lt;/b&gt;</mark>"
    assert marked(f"{b}x{a}y") == "x<mark>y</mark>"
    assert plain_snippet(f"{a}می‌شود{b}") == "«می‌شود»"
