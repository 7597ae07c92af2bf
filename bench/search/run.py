"""Search latency over a large corpus, and the cost of incremental clustering per new article.

    .venv/bin/python bench/search/run.py [--articles 100000] [--database postgresql|sqlite] [--pg-url URL]
                                         [--database-url URL  (reuse a loaded database, e.g. for a second run)]
                                         [--million  (1,000,000 articles: hours of loading, not for CI)]
                                         [--tiny  (300 articles: a smoke run)]

Prints figures; asserts nothing. Builds a corpus of N articles from the real Fars News paragraphs
(each article a random mix of 3-8 paragraphs, so the corpus is not N copies of 600 texts), loads
it through the real loader into a throwaway database, then:
  - runs each query of QUERIES (spelling variants, phrases, rare and common words, and the nouns
    of bench/search/nouns.tsv, which now also match their inflected forms) REPEAT times and prints
    the median and 95th percentile latency, and each query's median;
  - then indexes the same articles as before issue 23 (no stems in the documents) and runs the same
    queries with the words as typed only (``search(stems=False)``): today's search, measured in the
    same run, and the ratio of the two p95s;
  - on PostgreSQL, does the same with the previous candidate plan (one statement, ORDER BY id
    DESC LIMIT 1000 left to the planner) as the baseline, and prints the ratio of the two p95s;
  - loads 1,000 more articles and prints the clustering cost per new article (time spent in
    assign_clusters / articles), beside the whole load cost per article in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import bench_database  # noqa: E402
from etl.clean import fold as fold_module  # noqa: E402
from etl.clean.article import to_article  # noqa: E402
from etl.clean.stem import stem  # noqa: E402
from etl.load.reindex import rebuild_search_docs  # noqa: E402
from etl.config import Source  # noqa: E402
from etl.load import index as index_module  # noqa: E402
from etl.load import upsert as upsert_module  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.schema import articles, sources  # noqa: E402
from etl.load import search as search_module  # noqa: E402
from etl.load.search import search  # noqa: E402
from etl.load.sources import ensure_source  # noqa: E402
from etl.models import RawItem  # noqa: E402

QUERIES = ["میشود", "می‌شود", "می شود", "رئیس‌جمهور", "رئيس جمهور", "بانک", "بانك", '"وزارت خارجه"',
           "ایران آمریکا", "۱۳۸۷", "1387", "فوتبال", "نفت", "مجلس", '"خبرگزاری فارس"', "روستا",
           "دانشگاه تهران", "انرژی هسته‌ای", "قیمت", "صادرات"]
# The nouns of the stem benchmark (bench/search/stems.py): common words whose forms now match too.
QUERIES += [line.split("\t")[0] for line in (Path(__file__).parent / "nouns.tsv").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")][:10]
REPEAT = 15
BATCH = 1000


def paragraphs() -> tuple[list[str], list[str]]:
    titles, paras = [], []
    for f in sorted((REPO / "tests" / "data" / "fars-news").glob("*.json")):
        for r in json.loads(f.read_text(encoding="utf-8")):
            titles.append(r["title"])
            paras.extend(p for p in r["paragraphs"] if len(p) > 40)
    return titles, paras


def raw_items(count: int, seed: int, start: int = 0):
    rng = random.Random(seed)
    titles, paras = paragraphs()
    base = datetime(2024, 3, 20, tzinfo=timezone.utc)
    for n in range(start, start + count):
        body = "\n".join(rng.sample(paras, rng.randint(3, 8)))
        when = base + timedelta(minutes=7 * n)
        yield RawItem(location=f"bench#{n}", title=f"{rng.choice(titles)} {n}", body=body,
                      url=f"https://bench.example/news/{n}", published=when.isoformat())


def load(engine, source_id: int, items, now) -> int:
    count = 0
    batch = []
    for item in items:
        batch.append(to_article(item, now))
        if len(batch) >= BATCH:
            count += _write(engine, source_id, batch, now)
            batch = []
    if batch:
        count += _write(engine, source_id, batch, now)
    return count


def _write(engine, source_id, batch, now) -> int:
    with engine.begin() as conn:
        upsert_module.write_articles(conn, source_id, batch, now)
    return len(batch)


def timed_clustering():
    """Wrap assign_clusters to add up the time spent in it."""
    spent = [0.0]
    original = index_module.assign_clusters

    def wrapper(conn, written):
        start = time.perf_counter()
        clusters = original(conn, written)
        spent[0] += time.perf_counter() - start
        return clusters
    upsert_module.assign_clusters = wrapper
    return spent


def _previous_candidates(conn, tsquery, filters):
    """The candidate plan before the id windows: one statement, the planner's choice."""
    query = (select(articles.c.id).join(sources, sources.c.id == articles.c.source_id)
             .where(articles.c.search_doc.op("@@")(tsquery), *filters.clauses())
             .order_by(articles.c.id.desc()).limit(search_module.RANK_CANDIDATES))
    return list(conn.execute(query).scalars())


def measure(engine, stems: bool = True, repeat: int = REPEAT) -> dict[str, list[float]]:
    """Milliseconds per run of each query (``repeat`` runs), and its hit count last."""
    latencies: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for query in QUERIES:
            for _ in range(repeat):
                t0 = time.perf_counter()
                hits = search(conn, query, limit=20, stems=stems)
                latencies.setdefault(query, []).append((time.perf_counter() - t0) * 1000)
            latencies[query].append(len(hits))
    return latencies


def p95(latencies: dict[str, list[float]]) -> tuple[float, float]:
    every = sorted(v for q in QUERIES for v in latencies[q][:-1])
    return statistics.median(every), every[int(len(every) * 0.95) - 1]


def report(label: str, loaded: int, latencies: dict[str, list[float]]) -> None:
    median, high = p95(latencies)
    print(f"{label}: search over {loaded} articles, {len(QUERIES)} queries x {REPEAT}: "
          f"median {median:.1f} ms, p95 {high:.1f} ms")
    for query in QUERIES:
        times = sorted(latencies[query][:-1])
        print(f"  {query:>18}  median {statistics.median(times):7.1f} ms  max {times[-1]:7.1f} ms  hits {latencies[query][-1]}")


@contextmanager
def copy_without_stems(engine, admin_url: str, url: str, database: str, folder: str):
    """A copy of the loaded database whose search documents are built as before issue 23 (no
    stems), settled as after a fresh load; dropped afterwards."""
    engine.dispose()
    if database == "postgresql":
        admin = make_engine(admin_url)
        name = make_url(url).database + "_today"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
        copy_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    else:
        copy_url = f"sqlite:///{folder}/today.db"
        shutil.copyfile(make_url(url).database, make_url(copy_url).database)
    copy = make_engine(copy_url)
    fold_module.stem = lambda word: word  # search_tokens then adds no stem
    try:
        with copy.begin() as conn:
            rebuild_search_docs(conn)
    finally:
        fold_module.stem = stem
    if database == "postgresql":
        with copy.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (FULL, ANALYZE) articles"))
    try:
        yield copy
    finally:
        copy.dispose()
        if database == "postgresql":
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def measure_pair(engine, today_engine) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``measure`` of search with stems on ``engine`` and without on ``today_engine``, each run of
    a query on one followed by the same run on the other."""
    ours: dict[str, list[float]] = {}
    theirs: dict[str, list[float]] = {}
    with engine.connect() as conn, today_engine.connect() as today:
        for query in QUERIES:
            for _ in range(REPEAT):
                for connection, stems, out in ((conn, True, ours), (today, False, theirs)):
                    t0 = time.perf_counter()
                    search(connection, query, limit=20, stems=stems)
                    out.setdefault(query, []).append((time.perf_counter() - t0) * 1000)
            ours[query].append(len(search(conn, query, limit=20)))
            theirs[query].append(len(search(today, query, limit=20, stems=False)))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--million", action="store_const", const=1_000_000, dest="articles",
                        help="1,000,000 articles (hours of loading; not part of CI)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database-url", help="an existing database to search (loaded up to --articles first); kept")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--tiny", action="store_const", const=300, dest="articles", help="300 articles (a smoke run)")
    args = parser.parse_args()

    now = datetime.now(timezone.utc)
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        url = bench_database(stack, args.database_url, args.database, args.pg_url, tmp)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine, now)
        with engine.begin() as conn:
            sid = ensure_source(conn, Source(name="bench", kind="files", path="x"), now, in_config=False)
        spent = timed_clustering()
        with engine.connect() as conn:
            present = conn.execute(text("SELECT count(*) FROM articles WHERE source_id = :s"), {"s": sid}).scalar()
        start = time.perf_counter()
        loaded = present + load(engine, sid, raw_items(args.articles - present, seed=1, start=present), now)
        load_secs = time.perf_counter() - start
        print(f"{args.database}: {loaded} articles ({present} already there); loading took {load_secs:.1f} s, "
              f"clustering {spent[0]:.1f} s of it")
        if args.database == "postgresql":
            # In its own committed transaction: statistics gathered in a rolled-back one are lost.
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        latencies = measure(engine)
        report(args.database, loaded, latencies)
        if args.database == "postgresql":
            current = search_module._recent_matches
            search_module._recent_matches = _previous_candidates
            try:
                baseline = measure(engine)
            finally:
                search_module._recent_matches = current
            report("baseline (previous candidate plan, same run)", loaded, baseline)
            print(f"p95 now / baseline: {p95(latencies)[1] / p95(baseline)[1]:.2f}")
        # Today's search on a copy of the database whose documents have no stems, each query's
        # runs alternated with the same query on this one, so both see the same machine load;
        # this one settled as the copy is (VACUUM FULL: no GIN pending list, compact pages).
        if args.database == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (FULL, ANALYZE) articles"))
        with copy_without_stems(engine, args.pg_url, url, args.database, tmp) as today_engine:
            stemmed, today = measure_pair(engine, today_engine)
        report("with stems (alternated with today's)", loaded, stemmed)
        report("today's search (documents without stems, the words as typed; same run)", loaded, today)
        print(f"p95 with stems / today's: {p95(stemmed)[1] / p95(today)[1]:.2f}")
        spent[0] = 0.0
        start = time.perf_counter()
        extra = load(engine, sid, raw_items(1000, seed=2, start=args.articles), now)
        total = time.perf_counter() - start
        print(f"1000 new articles onto {loaded}: clustering {spent[0] / extra * 1000:.2f} ms/article, "
              f"whole load {total / extra * 1000:.2f} ms/article")
        with engine.connect() as conn:
            clusters = conn.execute(text("SELECT count(DISTINCT cluster_id), count(*) FROM articles")).one()
        print(f"clusters: {clusters[0]} for {clusters[1]} articles")


if __name__ == "__main__":
    main()
