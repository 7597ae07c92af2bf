"""Learning ZWNJ spellings from stored text (etl/clean/learn.py) and using them to clean.

Real text: the Varzesh3 sports articles. The packaged lexicon read the even-indexed documents
(bench/normalize's dev half), so the odd-indexed ones, which it never read, play the stored
articles whose spellings are learned.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text as sql

from etl.clean import lexicon, text
from etl.clean.learn import (LexiconError, Tally, count_spellings, learn, read_learned, settle, stable,
                             write_learned)
from etl.clean.lexicon import Learned
from etl.clean.text import normalize_safe, normalize_text, use_learned_lexicon
from conftest import invoke

DATA = Path(__file__).parent / "data"
VARZESH3 = DATA / "varzesh3" / "varzesh3-1.json"
ZWNJ = "\u200c"


def z(value: str) -> str:
    return value.replace("|", ZWNJ)


def _texts(docs: list[dict]) -> list[str]:
    return [t for d in docs for t in [d["title"], d["abstract"], *d["paragraphs"]] if t]


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return json.loads(VARZESH3.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def learned(docs) -> Learned:
    stored = [normalize_text(t) for t in _texts(docs[1::2])]  # stored text is normalized text
    return learn(count_spellings(stored), lexicon.load())


@pytest.fixture
def in_use(learned):
    use_learned_lexicon(learned)
    yield learned
    use_learned_lexicon(None)


def _tally(**spellings: int) -> Tally:
    tally = Tally()
    for word, n in spellings.items():
        for _ in range(n):
            tally.add(z(word))
    return tally


def test_learns_the_outlets_spellings_the_packaged_lexicon_lacks(learned):
    # Those documents write دل‌بوسکه (Del Bosque) 6 times and مهدوی‌کیا 3 times, never joined;
    # the packaged lexicon has neither (the names are not in the half it read).
    assert learned.entries["دلبوسکه"] == z("دل|بوسکه")
    assert learned.entries["مهدویکیا"] == z("مهدوی|کیا")
    assert normalize_text("دلبوسکه") == "دلبوسکه"  # the packaged lexicon alone leaves it


def test_later_cleaning_uses_the_learned_spellings(in_use, docs):
    assert normalize_text("تیم دلبوسکه و مهدویکیا") == z("تیم دل|بوسکه و مهدوی|کیا")
    # An old dump of the same outlet without its ZWNJ gets them back.
    old = next(t for t in _texts(docs[1::2]) if z("دل|بوسکه") in t)
    assert z("دل|بوسکه") in normalize_text(normalize_safe(old).replace(ZWNJ, ""))


def test_idempotent_and_every_zwnj_kept_with_a_learned_lexicon(in_use, docs):
    paragraphs = _texts(docs)
    assert len(paragraphs) > 3000
    for paragraph in paragraphs:
        once = normalize_text(paragraph)
        assert normalize_text(once) == once
        assert once.count(ZWNJ) >= normalize_safe(paragraph).count(ZWNJ)


def test_words_right_as_written_are_not_learned():
    # برتر is a dictionary word (hazm), میدان is on the never list: a writer's habit of
    # splitting them is not learned, however often it is seen.
    learned = learn(_tally(**{"بر|تر": 20, "می|دان": 20}), lexicon.load())
    assert learned.entries == {}


@pytest.mark.parametrize("spellings, learned", [
    ({"دل|بوسکه": 1}, True),                     # seen once, no other spelling: MIN_COUNT is 1
    ({"دل|بوسکه": 1, "دلبوسکه": 1}, False),        # once each way: no clear evidence
    ({"هال|های": 3, "هالهای": 2}, True),          # هال‌های or هاله‌ای: the joined letters are no rival
    ({"دل|بوسکه": 5, "دلبوسکه": 2}, False),        # not 3x more often than the joined spelling
    ({"دل|بوسکه": 6, "دلبوسکه": 2}, True),
    ({"دل|بوسکه": 6, "دلبو|سکه": 3}, False),       # another ZWNJ spelling competes
    ({"گل|محمدی": 6}, False),                    # the packaged lexicon already writes it so
    ({"کشور|ها": 9}, False),                    # ZWNJ after a non-joining letter: a habit
    ({"کتاب|ها": 9}, False),                    # the rules already write it so
])
def test_only_clear_evidence_is_learned(spellings, learned):
    result = learn(_tally(**spellings), lexicon.load())
    assert bool(result.entries) is learned


def test_entries_that_would_split_again_are_dropped():
    base = lexicon.load()
    # وزیر is a piece of the packaged نخست‌وزیر: splitting it would unsettle that compound.
    assert stable({"وزیر": z("وز|یر")}, base) == {}
    # دل‌بوسکه is stable alone; with بوسکه also learned split, its piece would split again.
    assert stable({"دلبوسکه": z("دل|بوسکه")}, base) == {"دلبوسکه": z("دل|بوسکه")}
    assert stable({"دلبوسکه": z("دل|بوسکه"), "بوسکه": z("بو|سکه")}, base) == {"بوسکه": z("بو|سکه")}


def test_version_follows_the_spellings_and_survives_the_file(tmp_path, learned):
    again = Learned(dict(learned.entries), pieces=dict(learned.pieces))
    assert again.version == learned.version and len(learned.version) == 12
    assert Learned({"دلبوسکه": z("دل|بوسکه")}).version != learned.version
    path = tmp_path / "learned.tsv"
    write_learned(path, learned, "test")
    read = read_learned(path, lexicon.load())
    assert read.entries == learned.entries and read.version == learned.version
    first = path.read_bytes()
    write_learned(path, read, "test")
    assert path.read_bytes() == first  # deterministic bytes


def test_normalizer_version_names_the_learned_lexicon(learned):
    from etl.clean.text import NORMALIZER_VERSION as imported
    assert imported == text.RULES_VERSION == text.normalizer_version()
    try:
        version = use_learned_lexicon(learned)
        assert version == text.NORMALIZER_VERSION == text.normalizer_version()
        assert version == f"{text.RULES_VERSION}+learned.{learned.version}"
    finally:
        use_learned_lexicon(None)
    assert text.NORMALIZER_VERSION == text.RULES_VERSION
    assert normalize_text("دلبوسکه") == "دلبوسکه"  # words repaired under the learned lexicon are redone


@pytest.mark.parametrize("content, message", [
    ("# news-etl learned lexicon\nگلمحمدی\tگل\u200cمحمدی\n", "line 2: expected joined<TAB>form"),
    ("# news-etl learned lexicon\nگلمحمدی\tگل\u200cمحمدی\tsix\t0\n", "line 2: expected joined<TAB>form"),
    ("# news-etl learned lexicon\n# c\nگلمحمدی\tگل محمدی\t6\t0\n", "line 3: 'گل محمدی' is not 'گلمحمدی' with ZWNJ"),
    ("# news-etl learned lexicon\nگلمحمدی\tگل\u200cمحمدیها\t6\t0\n", "line 2:"),
    ("joined\tform\n", "not a learned lexicon"),
])
def test_a_bad_lexicon_file_is_a_one_line_error_naming_it(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError) as caught:
        read_learned(path, lexicon.load())
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


# --- the command, on PostgreSQL and SQLite -----------------------------------------------

def _stored_body(db_url: str, source: str) -> str:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sql(
                "SELECT a.body FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = :n"
            ), {"n": source}).scalar_one()
    finally:
        engine.dispose()


def test_lexicon_learn_then_clean_with_it(tmp_path, db_url):
    db = ["--database-url", db_url]
    assert invoke("backfill", str(VARZESH3), "--source", "varzesh3", "--no-progress", *db).returncode == 0
    out = tmp_path / "learned.tsv"
    learned = invoke("lexicon", "learn", "--output", str(out), "--source", "varzesh3", *db)
    assert learned.returncode == 0, learned.stderr
    assert "spellings learned from 1500 texts" in learned.stdout and " compound pieces and " in learned.stdout
    assert z("دلبوسکه\tدل|بوسکه\t") in out.read_text(encoding="utf-8")

    # An old dump without ZWNJ, loaded with and without the learned lexicon.
    dump = tmp_path / "old.json"
    dump.write_text(json.dumps([{"title": "دلبوسکه در اردو", "link": "https://example.ir/1",
                                 "paragraphs": ["دلبوسکه به اردو رفت."]}], ensure_ascii=False),
                    encoding="utf-8")
    env = {"NEWS_ETL_LEXICON": str(out)}
    assert invoke("backfill", str(dump), "--source", "with", "--no-progress", *db, env=env).returncode == 0
    assert invoke("backfill", str(dump), "--source", "without", "--no-progress", *db).returncode == 0
    assert _stored_body(db_url, "with") == z("دل|بوسکه به اردو رفت.")
    assert _stored_body(db_url, "without") == "دلبوسکه به اردو رفت."


def test_a_missing_lexicon_file_stops_the_command_with_one_line(tmp_path, sqlite_url):
    missing = tmp_path / "nope.tsv"
    result = invoke("articles", "--database-url", sqlite_url, env={"NEWS_ETL_LEXICON": str(missing)})
    assert result.returncode == 2
    assert str(missing) in result.stderr and "NEWS_ETL_LEXICON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# Learned pieces: the سیتی of استوک‌سیتی, هال‌سیتی, کاردیف‌سیتی (learn.learn_pieces).
CITY = {"استوک|سیتی": 2, "هال|سیتی": 2, "کاردیف|سیتی": 1}


@pytest.fixture
def pieces_in_use():
    def install(**spellings: int) -> Learned:
        learned = learn(_tally(**spellings), lexicon.load())
        use_learned_lexicon(learned)
        return learned
    yield install
    use_learned_lexicon(None)


def test_a_second_half_of_several_compounds_splits_an_unseen_one(pieces_in_use):
    learned = pieces_in_use(**CITY)
    assert learned.pieces["سیتی"] == ZWNJ + "سیتی" and "سیتی" in learned.tails
    assert learned.piece_counts["سیتی"] == (3, 0)  # three compounds, no joined word ends so
    # برایتون‌سیتی was never seen: the piece splits it, and a second pass leaves it alone.
    once = normalize_text("بازی برایتونسیتی")
    assert once == z("بازی برایتون|سیتی") and normalize_text(once) == once
    assert normalize_text("سیتی") == "سیتی"  # the piece alone is a word


def test_a_piece_does_not_split_a_word_stored_joined_or_known(pieces_in_use):
    # The stored text writes الکتریسیتی joined (3 times, never with ZWNJ): it is kept as written,
    # and the file says so; جنسیتی is a dictionary word (hazm): no piece cuts a known word.
    learned = pieces_in_use(**CITY, الکتریسیتی=3)
    assert "الکتریسیتی" in learned.kept and "سیتی" in learned.tails
    assert normalize_text("الکتریسیتی") == "الکتریسیتی"
    assert normalize_text("جنسیتی") == "جنسیتی"
    assert normalize_text("برایتونسیتی") == z("برایتون|سیتی")


@pytest.mark.parametrize("spellings", [
    {"استوک|سیتی": 5},                                   # one compound: a name, no piece
    {"استوک|سیتی": 2, "هال|سیتی": 2, "پابلیسیتی": 1, "سنسیتی": 1, "الکتریسیتی": 1},  # often inside words
    {"می|دهند": 3, "نمی|دهند": 3, "برمی|دهند": 3},           # a verb after می: the verb rules' business
    {"کتاب|ها": 3, "دفتر|ها": 3},                          # a suffix the rules know
])
def test_a_piece_needs_strong_evidence(spellings):
    learned = learn(_tally(**spellings), lexicon.load())
    assert not (learned.heads | learned.tails) & {"سیتی", "دهند", "ها"}


def test_pieces_and_kept_words_survive_the_file(tmp_path):
    learned = learn(_tally(**CITY, الکتریسیتی=3), lexicon.load())
    assert Learned(dict(learned.entries)).version != learned.version  # pieces are in the version
    path = tmp_path / "learned.tsv"
    write_learned(path, learned)
    text_ = path.read_text(encoding="utf-8")
    assert "سیتی\t" + ZWNJ + "سیتی\t3\t1\n" in text_ and "الکتریسیتی\tالکتریسیتی\t3\t0\n" in text_
    read = read_learned(path, lexicon.load())
    assert read.pieces == learned.pieces and read.version == learned.version


def test_a_piece_that_would_cut_a_packaged_compound_is_dropped():
    base = lexicon.load()
    # استیشن is a piece of a packaged compound (hazm's word list): a learned first half است‌
    # would cut it on the next pass (است‌یشن), so the piece goes; سیتی cuts none and stays.
    assert "استیشن" in {p for f in base.compounds.values() for p in f.split(ZWNJ)}
    assert settle({}, base, {"است": "است" + ZWNJ, "سیتی": ZWNJ + "سیتی"}) == ({}, {"سیتی": ZWNJ + "سیتی"})
