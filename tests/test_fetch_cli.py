"""`news-etl fetch` end to end: a real loopback HTTP server, a real database, the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from conftest import DATA
from etl.cli import main
from etl.load.db import make_engine
from httpserver import Recorded

FEEDS = DATA / "feeds"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def write_config(tmp_path, *tables: str):
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    return str(path)


def feed_table(name: str, url: str, full_text: bool = False) -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{url}"\nfull_text = {str(full_text).lower()}\n'


def fetch(db_url, config, *args, capsys):
    code = main(["--database-url", db_url, "--config", config, "fetch", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def rows(db_url, sql):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        result = conn.execute(text(sql)).all()
    engine.dispose()
    return result


def conditional(body: bytes):
    """Serve the feed with validators; answer 304 when the client sends them back."""
    headers = {**RSS, "ETag": '"v1"', "Last-Modified": "Thu, 08 Jan 2026 11:00:00 GMT"}

    def reply(request: Recorded):
        if request.headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, headers, body
    return reply


def test_fetch_stores_each_article_once_then_asks_conditionally(pg_url, tmp_path, http_server, capsys):
    http_server.route("/rss", conditional((FEEDS / "rss2_mehr_like.xml").read_bytes()))
    config = write_config(tmp_path, feed_table("mehr", http_server.url("/rss")))
    code, first = fetch(pg_url, config, capsys=capsys)
    assert code == 0
    assert {k: first["total"][k] for k in ("seen", "new", "failed")} == {"seen": 4, "new": 4, "failed": 0}
    stored = rows(pg_url, "SELECT key, published_at, body FROM articles ORDER BY published_at")
    assert len(stored) == 4 and all(p.tzinfo is not None for _, p, _ in stored)
    assert datetime(2026, 1, 8, 10, 44, tzinfo=timezone.utc) in [p for _, p, _ in stored]
    assert all("<p>" not in body and "&lt;" not in body for _, _, body in stored)

    code, second = fetch(pg_url, config, capsys=capsys)
    assert code == 0 and second["total"]["seen"] == 0 and second["total"]["new"] == 0
    conditional_request = http_server.requests[-1]
    assert conditional_request.headers["if-none-match"] == '"v1"'
    assert conditional_request.headers["if-modified-since"] == "Thu, 08 Jan 2026 11:00:00 GMT"
    assert conditional_request.headers["user-agent"].startswith("news-etl/")
    [(etag, status, failures)] = rows(pg_url, "SELECT etag, last_status, consecutive_failures FROM sources")
    assert (etag, status, failures) == ('"v1"', 304, 0)
    assert rows(pg_url, "SELECT count(*) FROM articles") == [(4,)]
    assert rows(pg_url, "SELECT kind, status, new FROM ingest_runs ORDER BY id") == [("fetch", "ok", 4), ("fetch", "ok", 0)]


def _feed_linking(server, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>خبر {p}</title><link>{server.url(p)}</link><description>لید کوتاه {p}</description>"
        f"<pubDate>Thu, 08 Jan 2026 10:0{i}:00 GMT</pubDate></item>" for i, p in enumerate(paths))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


@pytest.mark.slow
def test_full_text_pages_are_fetched_for_new_items_only(db_url, tmp_path, http_server, capsys):
    page = (DATA / "pages" / "article_published_meta.html").read_bytes()
    for p in ("/news/1001/a", "/news/1002/b", "/news/1003/c"):
        http_server.route(p, 200, {"Content-Type": "text/html; charset=utf-8"}, page)
    http_server.route("/rss", [(200, RSS, _feed_linking(http_server, ["/news/1001/a", "/news/1002/b"])),
                               (200, RSS, _feed_linking(http_server, ["/news/1001/a", "/news/1002/b", "/news/1003/c"]))])
    config = write_config(tmp_path, feed_table("site", http_server.url("/rss"), full_text=True))
    code, first = fetch(db_url, config, capsys=capsys)
    assert code == 0 and first["total"]["new"] == 2
    code, second = fetch(db_url, config, capsys=capsys)
    assert code == 0 and (second["total"]["new"], second["total"]["unchanged"]) == (1, 2)
    page_requests = [r.path for r in http_server.requests if r.path.startswith("/news/")]
    assert sorted(page_requests) == ["/news/1001/a", "/news/1002/b", "/news/1003/c"]  # each page once
    bodies = [b for (b,) in rows(db_url, "SELECT body FROM articles")]
    assert len(bodies) == 3 and all(len(b) > len("لید کوتاه /news/1001/a") * 3 for b in bodies)


def test_a_failing_source_is_recorded_and_the_others_load(db_url, tmp_path, http_server, capsys):
    http_server.route("/good", 200, RSS, (FEEDS / "atom10.xml").read_bytes())
    http_server.route("/gone", 404, {"Content-Type": "text/plain"}, b"not here")
    config = write_config(tmp_path, feed_table("good", http_server.url("/good")), feed_table("gone", http_server.url("/gone")))
    code, result = fetch(db_url, config, capsys=capsys)
    assert code == 1
    by_name = {r["source"]: r for r in result["sources"]}
    assert by_name["good"]["new"] > 0 and by_name["good"]["error"] is None
    assert "HTTP 404" in by_name["gone"]["error"]
    state = dict((n, (s, f, e)) for n, s, f, e in rows(
        db_url, "SELECT name, last_status, consecutive_failures, last_error FROM sources"))
    assert state["gone"][0] == 404 and state["gone"][1] == 1 and "HTTP 404" in state["gone"][2]
    assert state["good"][1] == 0
    assert rows(db_url, "SELECT status FROM ingest_runs ORDER BY id") in ([("ok",), ("failed",)], [("failed",), ("ok",)])


def test_unknown_feed_name_is_a_usage_error(sqlite_url, tmp_path, capsys):
    config = write_config(tmp_path, feed_table("mehr", "https://www.mehrnews.com/rss"))
    assert main(["--database-url", sqlite_url, "--config", config, "fetch", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "news-etl: error: no feed source named 'nope' in the sources file"
