"""Watches from the outside: the sources file, `news-etl backfill` with and without --alert,
`news-etl watches` / `watch NAME`, the /watches page and the Atom feed of a watch."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import feedparser
import pytest
from starlette.testclient import TestClient

from conftest import invoke, scalar
from etl.load.db import make_engine
from etl.web import create_app

SOURCES = """
[[sources]]
name = "desk"
kind = "files"
path = "{path}"

[[watches]]
name = "oil"
query = "نفت"
webhook = "http://127.0.0.1:9/hooks/T0/secret-part"

[[watches]]
name = "quiet"
query = "واژه‌ای‌که‌نیست"
"""


@pytest.fixture
def desk(tmp_path, db_url):
    dump = tmp_path / "in"
    dump.mkdir()
    records = [{"title": f"خبر نفت {n}", "body": f"قیمت نفت در روز {n} بالا رفت.", "url": f"https://d.example/{n}"}
               for n in range(3)] + [{"title": "خبر گاز", "body": "قیمت گاز", "url": "https://d.example/gas"}]
    (dump / "news.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    config = tmp_path / "sources.toml"
    config.write_text(SOURCES.format(path=dump), encoding="utf-8")
    return ["--database-url", db_url, "--config", str(config)], dump


def test_a_backfill_alerts_nobody_unless_asked(desk, db_url):
    args, dump = desk
    assert invoke(*args, "backfill", str(dump), "--source", "desk", "--cleaners", "0").returncode == 0
    engine = make_engine(db_url)
    assert scalar(engine, "SELECT count(*) FROM articles") == 4
    assert scalar(engine, "SELECT count(*) FROM watch_hits") == 0
    engine.dispose()


def test_backfill_alert_records_the_hits_and_watches_lists_them(desk, db_url):
    args, dump = desk
    done = invoke(*args, "backfill", str(dump), "--source", "desk", "--cleaners", "0", "--alert", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["hits"] == 3
    listed = json.loads(invoke(*args, "watches", "--json").stdout)
    oil = next(w for w in listed if w["name"] == "oil")
    assert oil["hits"] == 3 and oil["deliveries"]["webhook"]["pending"] == 3
    assert oil["webhook"] == "http://127.0.0.1:9/…"  # the hook's path is its secret
    table = invoke(*args, "watches", "--wide").stdout
    assert "oil" in table and "webhook 3 pending" in table and "secret-part" not in table
    hits = json.loads(invoke(*args, "watch", "oil", "--json").stdout)
    assert [h["title"] for h in hits] == ["خبر نفت 2", "خبر نفت 1", "خبر نفت 0"]
    assert hits[0]["deliveries"] == {"webhook": "pending"}
    missing = invoke(*args, "watch", "nope")
    assert missing.returncode == 1 and "no watch named 'nope'" in missing.stderr


def test_a_bad_watch_stops_every_command_with_one_line(tmp_path, db_url):
    config = tmp_path / "sources.toml"
    config.write_text('[[watches]]\nname = "w"\nquery = "نفت"\ndigest = "often"\n', encoding="utf-8")
    done = invoke("--database-url", db_url, "--config", str(config), "watches")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and f"{config}: watch 'w': key 'digest'" in done.stderr


def test_the_atom_feed_lists_exactly_the_hits_and_the_page_shows_them(desk, db_url):
    args, dump = desk
    assert invoke(*args, "backfill", str(dump), "--source", "desk", "--cleaners", "0", "--alert").returncode == 0
    engine = make_engine(db_url)
    with TestClient(create_app(engine)) as client:
        answer = client.get("/watches/oil.atom")
        page = client.get("/watches")
        empty = client.get("/watches/quiet.atom")
        missing = client.get("/watches/nope.atom")
    engine.dispose()
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(answer.content)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fa"
    feed = feedparser.parse(answer.content)
    assert not feed.bozo and feed.feed.title == "news-etl: oil"
    assert sorted(e.link for e in feed.entries) == [f"https://d.example/{n}" for n in range(3)]
    assert all(e.id.startswith("urn:uuid:") for e in feed.entries) and len({e.id for e in feed.entries}) == 3
    assert "نفت" in feed.entries[0].summary
    assert empty.status_code == 200 and not feedparser.parse(empty.content).entries
    assert missing.status_code == 404
    assert page.status_code == 200 and "oil" in page.text and "خبر نفت 2" in page.text
    assert "secret-part" not in page.text
