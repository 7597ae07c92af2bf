"""Search by stem on real articles: does a noun find the articles that use only its other forms?

    .venv/bin/python bench/search/stems.py [--database sqlite|postgresql] [--tiny] [--candidates]

Prints figures; asserts nothing. Loads the 1,100 real articles of tests/data (Fars News and
Varzesh3) through the loader into a throwaway database, then for each noun of bench/search/nouns.tsv
(forms listed by hand) searches the noun and prints, per stemmer:

- found: of the articles that use only inflected forms of the noun (a form as a whole word, the
  noun nowhere), the share the search returns (all its matches, not only a first page);
- top-10 precision: the share of the first ten results that hold the noun or one of its forms;
- apart: of the pairs that must stay apart (words that share a stem's letters but not its
  meaning, tests/test_stem.py), how many the stemmer conflates.

Stemmers: none (the words as typed, what search did before: ``search(stems=False)``), this
project's (etl/clean/stem.py), and Snowball's Persian stemmer through PyStemmer when it is
installed (``pip install PyStemmer``), alone and with the same dictionary guard as ours (its stem
taken only when it is a dictionary noun or adjective and the word is none). Each stemmer's documents
are indexed anew. ``--tiny``: 100 articles and 5 nouns (a smoke run). ``--candidates`` prints the
nouns a corpus offers (how nouns.tsv was started) and exits.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import tempfile
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402

from bench.common import throwaway_database  # noqa: E402
from etl.clean import fold as fold_module, snippet as snippet_module  # noqa: E402
from etl.clean import lexicon  # noqa: E402
from etl.clean.article import to_article  # noqa: E402
from etl.clean.fold import fold  # noqa: E402
from etl.clean.stem import stem as ours  # noqa: E402
from etl.config import Source  # noqa: E402
from etl.fetch.records import record_to_item  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.reindex import rebuild_search_docs  # noqa: E402
from etl.load.search import search  # noqa: E402
from etl.load.sources import ensure_source  # noqa: E402
from etl.load.upsert import write_articles  # noqa: E402

DATA = REPO / "tests" / "data"
NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)
# Words that share a stem's letters but not its meaning (tests/test_stem.py keeps the same list).
APART = [("باران", "بار"), ("میزان", "میز"), ("سپاهان", "سپاه"), ("استان", "است"), ("انسان", "انس"),
         ("پایان", "پای"), ("سازمان", "ساز"), ("مردم", "مرد"), ("کرمان", "کرم"), ("آبان", "آب"),
         ("ماهی", "ماه"), ("ایرانی", "ایران"), ("ایرانیان", "ایران"), ("بیماری", "بیمار"),
         ("شهرداری", "شهردار"), ("کارگر", "کار"), ("خبرنگار", "خبر"), ("دانشگاه", "دانش"), ("کشتی", "کشت")]


def documents(limit: int | None = None) -> list[dict]:
    docs = []
    for name in ("fars-news/fars-news-1.json", "fars-news/fars-news-2.json", "varzesh3/varzesh3-1.json"):
        docs += json.loads((DATA / name).read_text(encoding="utf-8"))
    return docs[::len(docs) // limit][:limit] if limit else docs


def nouns(limit: int | None = None) -> list[tuple[str, list[str]]]:
    rows = [line.split("\t") for line in (Path(__file__).parent / "nouns.tsv").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    return [(noun, forms.split(",")) for noun, forms in rows][:limit]


def snowball(guarded: bool):
    """Snowball's Persian stemmer (PyStemmer), optionally with ours' dictionary guard, or None."""
    try:
        import Stemmer
    except ImportError:
        return None
    stemmer, lex = Stemmer.Stemmer("persian"), lexicon.load()

    def stem(word: str) -> str:
        root = stemmer.stemWord(word)
        if not guarded:
            return root
        strength, flags, _ = lex.stems.get(root, (0, "", -1))
        known = lex.stems.get(word, (0,))[0] >= 3
        return root if not known and strength >= 3 and ("n" in flags or "a" in flags) else word
    return stem


def load(engine, docs: list[dict]) -> None:
    upgrade(engine, NOW)
    with engine.begin() as conn:
        source = ensure_source(conn, Source(name="real", kind="files", path="x"), NOW, in_config=False)
        articles = [to_article(record_to_item(doc, doc["link"]), NOW) for doc in docs]
        write_articles(conn, source, articles, NOW)


def use_stemmer(engine, stem) -> None:
    """Index and query with ``stem`` (None: leave the documents as they are)."""
    fold_module.stem = snippet_module.stem = stem
    with engine.begin() as conn:
        rebuild_search_docs(conn)


def folded_words(engine) -> dict[int, set[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, title, summary, body FROM articles")).all()
    return {row.id: set(fold("\n".join(x for x in row[1:] if x)).split()) for row in rows}


def measure(engine, words: dict[int, set[str]], cases, stems: bool) -> tuple[int, int, int, int]:
    """(inflected-only articles, found, top-10 results, top-10 results holding the noun or a form)."""
    only = found = shown = right = 0
    with engine.connect() as conn:
        for noun, forms in cases:
            wanted = {aid for aid, ws in words.items() if noun not in ws and ws.intersection(forms)}
            hits = search(conn, noun, limit=5000, stems=stems)
            ids = [hit.id for hit in hits]
            only += len(wanted)
            found += len(wanted.intersection(ids))
            shown += min(10, len(ids))
            right += sum(1 for aid in ids[:10] if words[aid] & {noun, *forms})
    return only, found, shown, right


def candidates(docs: list[dict]) -> None:
    """Nouns whose inflected forms stand alone in at least 3 articles (how nouns.tsv was started)."""
    from etl.clean.text import normalize_text
    lex = lexicon.load()
    per_doc = [set(fold(normalize_text("\n".join([d["title"], d.get("abstract") or "", *d["paragraphs"]]))).split())
               for d in docs]
    seen = collections.Counter(w for ws in per_doc for w in ws)
    for noun, (strength, flags, _) in sorted(lex.stems.items()):
        if strength < 3 or "n" not in flags or len(noun) < 3:
            continue
        forms = ([noun + "یان", noun + "ی"] if noun[-1] in "او" else [noun[:-1] + "گان"] if noun[-1] == "ه"
                 else [noun + "ان"]) + ([noun + e for e in ("ها", "های", "هایی")] if noun[-1] in "ادذرزژو" else [])
        forms = [f for f in forms if seen[f] and lex.stems.get(f, (0,))[0] < 3]
        only = sum(1 for ws in per_doc if noun not in ws and ws.intersection(forms))
        if only >= 3:
            print(f"{only}\t{noun}\t{','.join(forms)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--tiny", action="store_true", help="100 articles and 5 nouns (a smoke run)")
    parser.add_argument("--candidates", action="store_true", help="print the nouns the corpus offers and exit")
    args = parser.parse_args()
    docs = documents(100 if args.tiny else None)
    if args.candidates:
        candidates(docs)
        return
    cases = nouns(5 if args.tiny else None)
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        if args.database == "postgresql":
            url = stack.enter_context(throwaway_database(args.pg_url, prefix="news_etl_stems"))
        else:
            url = f"sqlite:///{tmp}/stems.db"
        engine = make_engine(url)
        stack.callback(engine.dispose)
        load(engine, docs)
        words = folded_words(engine)
        print(f"{args.database}: {len(words)} real articles, {len(cases)} nouns (bench/search/nouns.tsv)")
        print(f"{'stemmer':<34} {'only-inflected':>14} {'found':>6} {'share':>6} {'top-10 right':>13} {'apart kept':>11}")
        variants = [("none (words as typed)", None, False), ("news-etl (etl/clean/stem.py)", ours, True),
                    ("Snowball persian (PyStemmer)", snowball(False), True),
                    ("Snowball + dictionary guard", snowball(True), True)]
        for label, stemmer, stems in variants:
            if stems and stemmer is None:
                print(f"{label:<34} skipped: PyStemmer is not installed (pip install PyStemmer)")
                continue
            if stemmer is not None:
                use_stemmer(engine, stemmer)
            only, found, shown, right = measure(engine, words, cases, stems)
            apart = sum(1 for a, b in APART if (stemmer or (lambda w: w))(a) != (stemmer or (lambda w: w))(b))
            print(f"{label:<34} {only:>14} {found:>6} {found / max(only, 1):>6.3f} {right:>6}/{shown:<6}"
                  f" {apart:>5}/{len(APART)}")
        fold_module.stem = snippet_module.stem = ours


if __name__ == "__main__":
    main()
