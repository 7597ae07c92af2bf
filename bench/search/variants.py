"""Variant search suite: is a rare word found in every spelling a user may type it in?

    .venv/bin/python bench/search/variants.py [--phrases 40] [--database sqlite|postgresql] [--pg-url URL]
    PYTHONPATH=/tmp/before .venv/bin/python bench/search/variants.py   # the same suite on older code

Prints figures; asserts nothing. Loads the 600 Fars News and 500 Varzesh3 articles of
tests/data through the real loader, picks rare ZWNJ compounds from their text (each a word
written with a ZWNJ that occurs in one article only; half of them inflected, e.g. حرف‌هایشان),
and searches each in four spellings: with the ZWNJ, joined (حرفهایشان), spaced (حرف هایشان) and
with Arabic yeh/kaf. It counts how often the article is among the first 5 hits, twice: on the
articles as published, and on the same articles with every ZWNJ removed (an old dump, where the
normalizer has to guess each split and sometimes cannot).

The phrases are picked by ``pick_phrases`` alone (deterministic: no seed, no hand choice);
tests/test_search_variants.py runs the same suite on both databases. To compare with older
code, export it (``git archive <commit> etl | tar -x -C /tmp/before``) and run this script with
``PYTHONPATH`` pointing there: the script only uses the loader and ``search``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: a PYTHONPATH given for older code comes first

from sqlalchemy import text  # noqa: E402

from etl.clean.fold import fold  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from etl.clean.article import to_article  # noqa: E402
from etl.config import Source  # noqa: E402
from etl.load.db import make_engine  # noqa: E402
from etl.load.migrate import upgrade  # noqa: E402
from etl.load.search import search  # noqa: E402
from etl.load.sources import ensure_source  # noqa: E402
from etl.load.upsert import write_articles  # noqa: E402
from etl.models import RawItem  # noqa: E402

ZWNJ = "\u200c"
DATASETS = (("fars", REPO / "tests" / "data" / "fars-news"), ("varzesh3", REPO / "tests" / "data" / "varzesh3"))
SPELLINGS = ("zwnj", "joined", "spaced", "arabic")
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TOP = 5
# A compound of Persian letters around one or more ZWNJs (no digits, no Latin, no punctuation).
_COMPOUND = re.compile(f"[\u0621-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc]+(?:{ZWNJ}[\u0621-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc]+)+")
_INFLECTED = ("ها", "های", "هایی", "هایش", "هایشان", "هایمان", "هایتان", "ای", "ترین", "تر")


@dataclass(frozen=True)
class Doc:
    key: str  # "fars:17"
    title: str
    summary: str
    body: str


@dataclass(frozen=True)
class Phrase:
    text: str  # as written in the article, with its ZWNJ
    key: str   # the article it comes from


def load_docs() -> list[Doc]:
    docs = []
    for name, folder in DATASETS:
        n = 0
        for path in sorted(folder.glob("*.json")):
            for record in json.loads(path.read_text(encoding="utf-8")):
                docs.append(Doc(f"{name}:{n}", record["title"], record.get("abstract") or "",
                                "\n".join(record["paragraphs"])))
                n += 1
    return docs


def pick_phrases(docs: list[Doc], count: int = 40) -> list[Phrase]:
    """Rare ZWNJ compounds, half from each outlet, half of each inflected, in a fixed order.

    Rare: its letters (ZWNJ removed) occur as a word in one article only, so a hit in the top 5
    is the right article and not a namesake.
    """
    found: dict[str, set[str]] = {}
    written: dict[str, Phrase] = {}
    for doc in docs:
        text_ = " ".join((doc.title, doc.summary, doc.body))
        for key in _spans(fold(text_).split()):
            found.setdefault(key, set()).add(doc.key)
        for compound in _COMPOUND.findall(text_):
            written.setdefault(_squeezed(compound), Phrase(compound, doc.key))
    rare = [p for joined, p in written.items() if len(joined) >= 6 and len(found.get(joined, ())) == 1]
    rare.sort(key=lambda p: hashlib.sha1(p.text.encode()).hexdigest())  # spread, but fixed
    picked: list[Phrase] = []
    for outlet in ("fars", "varzesh3"):
        for inflected in (True, False):
            pool = [p for p in rare if p.key.startswith(outlet + ":") and _inflected(p) == inflected]
            picked += pool[:count // 4]
    return picked


def _spans(words: list[str]) -> set[str]:
    """Every word and every two or three neighbours joined: any spelling of a compound."""
    return {"".join(words[i:i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}


def _squeezed(phrase: str) -> str:
    return fold(phrase).replace(" ", "")


def _inflected(phrase: Phrase) -> bool:
    return phrase.text.split(ZWNJ)[-1] in _INFLECTED


def spellings(phrase: str) -> dict[str, str]:
    """The four ways a user types it: ``"حرف‌هایشان"`` -> with ZWNJ, ``حرفهایشان``, ``حرف هایشان``, ``حرف‌هايشان``."""
    return {"zwnj": phrase, "joined": phrase.replace(ZWNJ, ""), "spaced": phrase.replace(ZWNJ, " "),
            "arabic": phrase.replace("ی", "ي").replace("ک", "ك")}


def load(engine, docs: list[Doc], drop_zwnj: bool) -> dict[str, int]:
    """Loads the documents (every ZWNJ removed first when asked); returns article id per key."""
    cut = (lambda s: s.replace(ZWNJ, "")) if drop_zwnj else (lambda s: s)
    raws = [RawItem(location=d.key, guid=d.key, title=cut(d.title), summary=cut(d.summary) or None,
                    body=cut(d.body)) for d in docs]
    with engine.begin() as conn:
        sid = ensure_source(conn, Source(name="variants", kind="files", path="x"), NOW, in_config=False)
        for start in range(0, len(raws), 500):
            write_articles(conn, sid, [to_article(r, NOW) for r in raws[start:start + 500]], NOW)
        rows = conn.execute(text("SELECT id, key FROM articles")).all()
    return {key.removeprefix("guid:"): aid for aid, key in rows}


def run_suite(engine, ids: dict[str, int], phrases: list[Phrase]) -> tuple[dict[str, list[Phrase]], int]:
    """Per spelling, the phrases whose article is not in the first TOP hits; and how many other
    articles those searches returned (a precision check: the phrases are rare)."""
    misses: dict[str, list[Phrase]] = {s: [] for s in SPELLINGS}
    others = 0
    with engine.connect() as conn:
        for phrase in phrases:
            for name, query in spellings(phrase.text).items():
                found = [h.id for h in search(conn, query, limit=TOP)]
                others += len([i for i in found if i != ids[phrase.key]])
                if ids[phrase.key] not in found:
                    misses[name].append(phrase)
    return misses, others


def report(title: str, outcome: tuple[dict[str, list[Phrase]], int], count: int) -> None:
    misses, others = outcome
    total = count * len(SPELLINGS)
    hits = total - sum(len(m) for m in misses.values())
    print(f"{title}: hits@{TOP} {hits}/{total} ({hits / total:.3f})  " +
          "  ".join(f"{s} {count - len(misses[s])}/{count}" for s in SPELLINGS) +
          f"  other articles in those top {TOP}s: {others}")
    for name in SPELLINGS:
        for phrase in misses[name]:
            print(f"    miss {name:>6}: {spellings(phrase.text)[name]}  ({phrase.key})")


def _database(kind: str, pg_url: str, tmp: str):
    """A throwaway database URL, and how to drop it."""
    if kind == "sqlite":
        return f"sqlite:///{tmp}/{uuid.uuid4().hex[:8]}.db", lambda: None
    admin = make_engine(pg_url)
    name = f"news_etl_variants_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phrases", type=int, default=40)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NEWS_ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    docs = load_docs()
    phrases = pick_phrases(docs, args.phrases)
    import etl
    print(f"{len(phrases)} rare ZWNJ compounds from {len(docs)} articles, {len(SPELLINGS)} spellings each; "
          f"code: {Path(etl.__file__).parent}, {args.database}")
    with tempfile.TemporaryDirectory() as tmp:
        for drop_zwnj, title in ((False, "as published"), (True, "ZWNJ removed from the articles")):
            url, drop = _database(args.database, args.pg_url, tmp)
            engine = make_engine(url)
            try:
                upgrade(engine, NOW)
                report(title, run_suite(engine, load(engine, docs, drop_zwnj), phrases), len(phrases))
            finally:
                engine.dispose()
                drop()


if __name__ == "__main__":
    main()
