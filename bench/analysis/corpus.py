"""The analysis bench's corpus: real Fars News text as eight outlets' articles, some stories
carried by several outlets, loaded through the product's own backfill; and, for archive sizes,
the same rows multiplied in SQL with shifted dates.

    iter_records(articles)            N (outlet, record) pairs, one at a time (a dump of any size)
    build(engine, articles, tmp)      N articles through run_backfill (JSON files, one per source)
    multiply(engine, factor)          PostgreSQL: factor - 1 shifted copies of every article

A multiplied corpus is not a real one: each text occurs ``factor`` times, minutes apart, so its
word statistics are the base corpus's and its near-duplicate clusters are copies of the base's.
It has the size, the spread over time and the index shapes of a large archive, which is what the
latency figures need; nothing in it is evidence about Persian news.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

from etl.config import Source
from etl.tasks.backfill import Backfill, run_backfill
from etl.tasks.context import Context

REPO = Path(__file__).resolve().parents[2]
# Outlets and the agency name their own leads carry (None: a site without a wire service).
OUTLETS = {"fars": "فارس", "mehr": "مهر", "isna": "ایسنا", "irna": "ایرنا", "tasnim": "تسنیم",
           "ilna": "ایلنا", "khabaronline": None, "entekhab": None}
START = datetime(2025, 3, 21, tzinfo=timezone.utc)  # 1 Farvardin 1404, Tehran (00:00 Tehran is 20:30 UTC the day before)
SPAN = timedelta(days=400)
SHARED = 0.08  # share of stories carried by more than one outlet


def fars_text() -> tuple[list[str], list[str]]:
    titles, paras = [], []
    for f in sorted((REPO / "tests" / "data" / "fars-news").glob("*.json")):
        for r in json.loads(f.read_text(encoding="utf-8")):
            titles.append(r["title"])
            paras.extend(p for p in r["paragraphs"] if len(p) > 40)
    return titles, paras


def records(count: int, seed: int = 1) -> dict[str, list[dict]]:
    """``count`` records in all, by outlet name: ``iter_records`` gathered by outlet."""
    out: dict[str, list[dict]] = {name: [] for name in OUTLETS}
    for outlet, record in iter_records(count, seed):
        out[outlet].append(record)
    return out


def iter_records(count: int, seed: int = 1) -> Iterator[tuple[str, dict]]:
    """``count`` (outlet, record) pairs in publication order of their stories, one at a time (a
    million records need not fit in memory): each a random mix of 3-8 real paragraphs under a real
    title, spread evenly over SPAN; a share of stories republished by 1-3 other outlets minutes to
    hours later, their lead naming the first outlet's agency."""
    rng = random.Random(seed)
    titles, paras = fars_text()
    names = list(OUTLETS)
    step = SPAN / max(1, count)
    made = 0
    story = 0
    while made < count:
        when = START + step * made
        first = rng.choice(names)
        body = rng.sample(paras, rng.randint(3, 8))
        title = f"{rng.choice(titles)} {story}"
        yield first, _record(first, story, title, _lead(OUTLETS[first]) + body, when)
        made += 1
        if rng.random() < SHARED:
            for other in rng.sample([n for n in names if n != first], rng.randint(1, 3)):
                if made >= count:
                    break
                delay = timedelta(minutes=rng.randint(3, 240))
                lead = _lead(OUTLETS[first]) or [f"به گزارش {first}،"]
                yield other, _record(other, story, title, lead + body, when + delay)
                made += 1
        story += 1


def _lead(agency: str | None) -> list[str]:
    return [f"به گزارش خبرگزاری {agency}، این خبر منتشر شد."] if agency else []


def _record(source: str, story: int, title: str, paragraphs: list[str], when: datetime) -> dict:
    return {"title": title, "paragraphs": paragraphs, "link": f"https://{source}.example/news/{story}",
            "published": when.isoformat()}


def build(engine: Engine, count: int, tmp: Path, now: datetime, cleaners: int | None = None) -> int:
    """Load about ``count`` articles through the product's backfill; returns the articles stored."""
    loaded = 0
    for name, rows in records(count).items():
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        source = Source(name=name, kind="files", path=str(tmp))
        report = run_backfill(Context(engine, lambda: now), Backfill(source, [path], in_config=False, cleaners=cleaners))
        if report.error or report.failed:
            raise RuntimeError(f"backfill of {name} failed: {report.error or report.failed}")
        loaded += report.new
    return loaded


def multiply(engine: Engine, factor: int, shift: timedelta = timedelta(seconds=29)) -> int:
    """PostgreSQL: ``factor - 1`` copies of every article, copy k published k x ``shift`` later
    (ids, keys, URLs and clusters offset so each copy is its own article and its clusters its
    own). The search indexes are dropped first and rebuilt after, as a bulk load would do."""
    with engine.begin() as conn:
        top = conn.execute(text("SELECT max(id) FROM articles")).scalar()
        conn.execute(text("DROP INDEX IF EXISTS articles_search"))
        conn.execute(text("DROP INDEX IF EXISTS articles_title_trgm"))
    for k in range(1, factor):
        with engine.begin() as conn:
            conn.execute(text(f"""
                INSERT INTO articles (id, source_id, key, url, title, title_derived, summary, body, published_at,
                    published_time_known, fetched_at, updated_at, content_hash, meta, cluster_id, search_doc, raw_hash)
                SELECT id + {k} * :top, source_id, key || '#{k}', url || '#{k}', title, title_derived, summary, body,
                    published_at + {k} * CAST(:shift AS interval), published_time_known, fetched_at, updated_at,
                    content_hash, meta, cluster_id + {k} * :top, search_doc, raw_hash
                FROM articles WHERE id <= :top"""), {"top": top, "shift": f"{shift.total_seconds()} seconds"})
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX articles_search ON articles USING gin (search_doc)"))
        conn.execute(text("CREATE INDEX articles_title_trgm ON articles USING gin (title gin_trgm_ops)"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('articles', 'id'), (SELECT max(id) FROM articles))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE articles"))
        return conn.execute(text("SELECT count(*) FROM articles")).scalar()
