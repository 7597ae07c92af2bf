"""The web page's data: a corpus loaded through the library's own backfill and fetch paths
(shared by tests/test_web.py and tests/test_web_browser.py), and the read functions the pages
use (articles per Tehran day, the chart, revisions' changes, source order), on both databases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from conftest import DATA
from etl.config import Source
from etl.fetch.http import HttpClient, HttpSettings
from etl.load.queries import articles_per_day
from etl.load.sources import sync_sources
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context
from etl.tasks.poll import poll_feed
from etl.web.changes import changes, word_diff
from etl.web.chart import charts, window
from etl.web.data import article_view, sources_state

TEHRAN = ZoneInfo("Asia/Tehran")
WEB_NOW = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
FARS = json.loads((DATA / "fars-news" / "fars-news-1.json").read_text(encoding="utf-8"))
STORY, EDITED = 12, 1
# Fars articles with the publication times the web corpus gives them (Tehran is +03:30 in 2025).
# 5 is just after Tehran midnight: UTC still says the day before, the chart must not.
FARS_TIMES = {STORY: "2025-08-31T10:00:00+03:30", 3: "2025-08-31T11:00:00+03:30",
              4: "2025-08-28T23:50:00+03:30", 5: "2025-08-25T00:10:00+03:30", EDITED: "2025-08-25T12:00:00+03:30"}
SCRIPT_TITLE = "<script>window.__xss = 1; alert('xss')</script> خبر آزمایشی"
EDIT_MARK = "(اصلاح شد)"


@dataclass
class Corpus:
    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)  # role -> article id


def _record(i: int, **changes) -> dict:
    r = FARS[i]
    return {"title": r["title"], "abstract": r["abstract"], "paragraphs": r["paragraphs"], "link": r["link"],
            "cat": r["cat"], "tags": r["tags"], "published": FARS_TIMES[i], **changes}


def _wire_copy(i: int, lead: str) -> list[str]:
    """The story as another outlet republishes it: its own attribution opening the lead."""
    paragraphs = list(FARS[i]["paragraphs"])
    paragraphs[0] = lead + " " + paragraphs[0].split("،", 1)[-1]
    return paragraphs


def _write(folder: Path, name: str, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


FILE_SOURCES = ("mehr", "fars", "isna", "evil")


def configure(engine: Engine, feed_url: str | None, now: datetime) -> dict[str, Source]:
    sources = {name: Source(name=name, kind="files", path=str(DATA)) for name in FILE_SOURCES}
    if feed_url:
        sources["broken"] = Source(name="broken", kind="feed", url=feed_url)
    with engine.begin() as conn:
        sync_sources(conn, sources.values(), now)
    return sources


def load_corpus(engine: Engine, tmp: Path, feed_url: str | None = None, now: datetime = WEB_NOW) -> Corpus:
    """The seed article, dated Fars articles (one edited later), an ISNA copy of a Fars story,
    an article whose title holds a <script>, and optionally a feed source that fails."""
    sources = configure(engine, feed_url, now)
    earlier = now - timedelta(minutes=30)

    def backfill(name: str, path: Path, at: datetime) -> None:
        report = run_backfill(Context(engine, lambda: at), Backfill(sources[name], [path], in_config=True))
        assert report.failed == 0 and report.error is None, report

    backfill("mehr", DATA / "seed", earlier)
    backfill("fars", _write(tmp / "v1", "fars.json", [_record(i) for i in FARS_TIMES]), earlier)
    edited = _record(EDITED, title=FARS[EDITED]["title"] + " " + EDIT_MARK,
                     paragraphs=[FARS[EDITED]["paragraphs"][0] + " این جمله بعداً افزوده شد."] + FARS[EDITED]["paragraphs"][1:])
    backfill("fars", _write(tmp / "v2", "fars.json", [edited]), now - timedelta(minutes=15))
    copy = {"title": "بازنشر ایسنا: " + FARS[STORY]["title"], "paragraphs": _wire_copy(STORY, "به گزارش ایسنا،"),
            "link": "https://www.isna.ir/news/1404060901/", "published": "2025-08-31T11:20:00+03:30"}
    backfill("isna", _write(tmp / "isna", "isna.json", [copy]), earlier)
    # Feeds entity-encode markup in titles; decoded, this one is a literal <script> element's text.
    evil = {"title": SCRIPT_TITLE.replace("<", "&lt;").replace(">", "&gt;"),
            "paragraphs": FARS[7]["paragraphs"], "published": "2025-08-30T09:00:00+03:30"}
    backfill("evil", _write(tmp / "evil", "evil.json", [evil]), earlier)
    if feed_url:
        with HttpClient(HttpSettings(retries=0, per_host_delay=0.0, connect_timeout=2.0, read_timeout=2.0)) as client:
            report = poll_feed(Context(engine, lambda: now, client), sources["broken"])
        assert report.error, "the failing feed should have failed"
    return Corpus(engine, _ids(engine))


def _ids(engine: Engine) -> dict[str, int]:
    from sqlalchemy import text  # the test reads ids back with plain SQL; the web layer has none
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT a.id, s.name, a.url, a.title FROM articles a JOIN sources s ON s.id = a.source_id")).all()
    by = {}
    for id_, source, url, title in rows:
        if source == "mehr":
            by["seed"] = id_
        elif source == "isna":
            by["copy"] = id_
        elif source == "evil":
            by["script"] = id_
        elif url and url.rstrip("/").endswith(FARS[STORY]["link"].rstrip("/").rsplit("/", 1)[-1]):
            by["story"] = id_
        elif title.endswith(EDIT_MARK):
            by["edited"] = id_
    return by


def tehran_days(times: list[str]) -> set[date]:
    return {datetime.fromisoformat(t).astimezone(TEHRAN).date() for t in times}


@pytest.fixture
def corpus(engine, tmp_path) -> Corpus:
    return load_corpus(engine, tmp_path)


def test_corpus_has_every_role(corpus):
    assert set(corpus.ids) == {"seed", "copy", "script", "story", "edited"}


def test_articles_per_tehran_day(corpus):
    days, start, end = window(WEB_NOW)
    with corpus.engine.connect() as conn:
        rows = articles_per_day(conn, start, end)
    fars = {r["day"]: r["articles"] for r in rows if r["source"] == "fars"}
    assert set(fars) == tehran_days(list(FARS_TIMES.values()))
    assert sum(fars.values()) == len(FARS_TIMES)
    assert date(2025, 8, 24) not in fars  # 00:10 Tehran is the 24th in UTC, the 25th in Tehran
    assert {r["source"] for r in rows} == {"mehr", "fars", "isna", "evil"}


def test_window_is_thirty_tehran_days_ending_today():
    late = datetime(2025, 8, 31, 21, 0, tzinfo=timezone.utc)  # already 1 September in Tehran
    days, start, end = window(late)
    assert len(days) == 30 and days[-1] == date(2025, 9, 1)
    assert start.astimezone(TEHRAN).hour == 0 and end - start == timedelta(days=30)


def test_chart_has_one_bar_per_day_with_articles():
    days, _, _ = window(WEB_NOW)
    rows = [{"source": "a", "day": days[0], "articles": 1}, {"source": "a", "day": days[-1], "articles": 4},
            {"source": "b", "day": days[5], "articles": 2}]
    a, b, empty = charts(rows, days, ["a", "b", "c"])
    assert [bar.day for bar in a.bars] == [days[0], days[-1]] and a.total == 5 and a.peak == 4
    # The peak fills the height; the oldest day is on the right, today on the left.
    assert a.bars[1].height == 60 and a.bars[0].x > a.bars[1].x
    assert len(b.bars) == 1 and empty.bars == ()


def test_revision_says_what_changed(corpus):
    with corpus.engine.connect() as conn:
        article = article_view(conn, corpus.ids["edited"])
    [revision] = article["revisions"]
    fields = {c.field: c for c in revision["changes"]}
    assert set(fields) == {"title", "body"}
    assert ("added", EDIT_MARK) in [(p.kind, p.text) for p in fields["title"].pieces]
    assert any(p.kind == "added" and "افزوده" in p.text for p in fields["body"].pieces)


def test_word_diff_keeps_zwnj_and_context():
    pieces = word_diff("نخست‌وزیر گفت که می‌رود", "نخست‌وزیر گفت که نمی‌رود")
    assert [(p.kind, p.text) for p in pieces] == [("same", "نخست‌وزیر گفت که"), ("removed", "می‌رود"), ("added", "نمی‌رود")]
    assert changes({"title": "الف"}, {"title": "الف"}) == []


def test_sources_state_puts_the_failing_source_first(engine, tmp_path, http_server):
    http_server.route("/feed.xml", 503, {"Content-Type": "text/plain"}, b"down")
    load_corpus(engine, tmp_path, http_server.url("/feed.xml"))
    with engine.connect() as conn:
        rows = sources_state(conn, WEB_NOW)
    assert rows[0]["name"] == "broken" and not rows[0]["healthy"] and rows[0]["consecutive_failures"] == 1
    assert "503" in rows[0]["last_error"]
    assert all(r["healthy"] for r in rows[1:])
