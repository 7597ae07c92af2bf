"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright (nothing
downloads a browser), against uvicorn on 127.0.0.1 over a PostgreSQL database loaded through the
library's own backfill and fetch paths.

Skipped only outside CI when /usr/bin/chromium (or Playwright) is missing; in CI it must run.
Set NEWS_ETL_SCREENSHOTS=DIR to also save a screenshot of each page there (the README's).
"""

from __future__ import annotations

import csv
import io
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conftest import PG_ADMIN_URL
from httpserver import LocalServer
from test_web_data import FARS_TIMES, SCRIPT_TITLE, WEB_NOW, load_corpus, tehran_days
from etl.load.db import make_engine
from etl.load.migrate import upgrade
from etl.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium from reaching anything but the page under test.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
SPELLINGS = ("نخست‌وزیر", "نخستوزیر", "نخست وزیر", "نخست‌وزير")


def _need_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing = f"playwright not installed ({exc})"
    else:
        if CHROMIUM.exists():
            return sync_playwright
        missing = f"{CHROMIUM} missing (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {missing}", pytrace=False)
    pytest.skip(missing)


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class LiveServer:
    """uvicorn on an ephemeral loopback port, in a thread (the socket is bound before it starts)."""

    def __init__(self, app):
        import uvicorn
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started, "uvicorn did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def site(browser, pg_admin, tmp_path_factory):
    """One PostgreSQL database with the web corpus (and a failing feed) for the whole module."""
    name = f"news_etl_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    feed = LocalServer("127.0.0.1").start()
    feed.route("/feed.xml", 503, {"Content-Type": "text/plain"}, b"service unavailable")
    try:
        upgrade(engine, WEB_NOW)
        corpus = load_corpus(engine, tmp_path_factory.mktemp("web"), feed.url("/feed.xml"))
        with LiveServer(create_app(engine, now=lambda: WEB_NOW)) as live:
            yield live.base, corpus.ids
    finally:
        feed.stop()
        engine.dispose()
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="fa-IR")
    tab = context.new_page()
    tab.dialogs = []  # any alert()/confirm() a page tries to open
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def screenshot(page, name: str) -> None:
    folder = os.environ.get("NEWS_ETL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def first_hit(page) -> int:
    return int(page.locator("li.hit").first.get_attribute("data-id"))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_search_form_finds_the_article_in_every_spelling(site, page, spelling):
    base, ids = site
    page.goto(f"{base}/search")
    page.fill("input[name=q]", spelling)
    page.click("button[type=submit]")
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit").count() == 1 and first_hit(page) == ids["seed"]
    assert page.locator("li.hit mark").first.inner_text() == "نخست‌وزیر"
    if spelling == SPELLINGS[1]:
        screenshot(page, "search")


def test_article_page_shows_revisions_and_duplicates(site, page):
    base, ids = site
    page.goto(f"{base}/articles/{ids['edited']}")
    assert page.locator("li.revision").count() == 1
    assert page.locator("li.revision ins").first.is_visible()
    screenshot(page, "article")
    page.goto(f"{base}/articles/{ids['story']}")
    copy = page.locator("li.duplicate a")
    assert copy.count() == 1 and copy.get_attribute("href") == f"/articles/{ids['copy']}"
    copy.click()
    page.wait_for_url(f"**/articles/{ids['copy']}")
    assert page.locator("li.duplicate a").get_attribute("href") == f"/articles/{ids['story']}"


def test_sources_page_failing_source_first_and_one_bar_per_day(site, page):
    base, _ = site
    page.goto(f"{base}/sources")
    first = page.locator("li.source-card").first
    assert first.get_attribute("data-source") == "broken" and "unhealthy" in first.get_attribute("class")
    assert "503" in first.locator(".last-error").inner_text()
    bars = page.locator('figure.chart[data-source="fars"] rect.bar')
    days = {bars.nth(i).get_attribute("data-day") for i in range(bars.count())}
    assert days == {d.isoformat() for d in tehran_days(list(FARS_TIMES.values()))}
    assert all(bars.nth(i).bounding_box()["height"] > 0 for i in range(bars.count()))
    screenshot(page, "sources")


def test_script_title_is_shown_and_runs_nothing(site, page):
    base, ids = site
    for url in (f"{base}/articles/{ids['script']}", f"{base}/search?q=آزمایشی"):
        page.goto(url)
        shown = page.locator("h1" if "articles" in url else "li.hit h2").first.inner_text()
        assert SCRIPT_TITLE in shown
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("script").count() == 0
    assert page.dialogs == []


@pytest.mark.parametrize("path", ["/search", "/search?q=ایران", "/articles/{story}", "/articles/{edited}", "/sources",
                                  "/", "/trends?q=ایران&q=پاکستان&calendar=jalali", "/terms?q=ایران",
                                  "/outlets?q=ایران", "/stories"])
def test_pages_are_rtl_and_fit_a_phone(site, page, path):
    base, ids = site
    page.goto(base + path.format(**ids))
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "fa"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] == PHONE["width"], f"{path} scrolls sideways: {width}"


def test_trends_chart_with_its_labels_and_its_csv_equal_to_the_api(site, page):
    base, _ = site
    page.goto(f"{base}/trends")
    page.locator("input[name=q]").nth(0).fill("ایران")
    page.locator("input[name=q]").nth(1).fill("پاکستان")
    page.select_option("select[name=calendar]", "jalali")
    page.click("button[type=submit]")
    page.wait_for_selector("figure.trend-chart svg polyline")
    chart = page.locator("figure.trend-chart > svg")
    assert chart.locator("polyline").count() == 2
    labels = chart.locator("text.x-label")
    assert labels.count() >= 2 and "مرداد ۱۴۰۴" in labels.first.text_content()
    box = chart.bounding_box()
    spots = [labels.nth(i).bounding_box() for i in range(labels.count())]
    for spot in spots:  # every label inside the picture, none cut off at its edges
        assert box["x"] - 1 <= spot["x"] and spot["x"] + spot["width"] <= box["x"] + box["width"] + 1
    assert spots[0]["x"] > spots[-1]["x"]  # the first period on the right: time runs right to left
    assert [t.inner_text() for t in page.locator("ul.legend bdi").all()] == ["ایران", "پاکستان"]
    screenshot(page, "trends")
    with page.expect_download() as download:
        page.click("a.csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    api = page.request.get(base + page.locator("a.json").get_attribute("href")).json()
    assert rows[0] == ["period", "total", "count: ایران", "share: ایران", "count: پاکستان", "share: پاکستان"]
    assert [r[0] for r in rows[1:]] == api["periods"]
    assert [int(r[1]) for r in rows[1:]] == api["totals"]
    for k, series in enumerate(api["series"]):
        assert [int(r[2 + 2 * k]) for r in rows[1:]] == series["counts"]
        assert [float(r[3 + 2 * k]) for r in rows[1:]] == series["shares"]
    assert sum(api["series"][0]["counts"]) > 0
