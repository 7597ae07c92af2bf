"""Variant search on real text: a rare ZWNJ compound of the Fars News or Varzesh3 articles is found
in each of the four spellings a user may type (with the ZWNJ, joined, spaced, Arabic yeh/kaf),
whether the stored article kept its ZWNJ or lost every one (the normalizer then has to guess).

The phrases are picked by bench/search/variants.py (``pick_phrases``), which prints the same
suite's hits@5 over all 1,100 articles; here it runs on both databases over a subset.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from etl.clean.fold import fold, fold_query

_PATH = Path(__file__).resolve().parents[1] / "bench" / "search" / "variants.py"
_spec = importlib.util.spec_from_file_location("bench_search_variants", _PATH)
variants = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = variants
_spec.loader.exec_module(variants)

DOCS = variants.load_docs()
PHRASES = variants.pick_phrases(DOCS, 40)


def subset() -> list:
    """The phrases' articles and the first 60 of each outlet (more text for the others to hit)."""
    wanted = {p.key for p in PHRASES}
    return [d for d in DOCS if d.key in wanted or int(d.key.split(":")[1]) < 60]


def test_the_suite_is_forty_rare_compounds_of_both_outlets_that_need_variants():
    assert len(PHRASES) == 40 and len({p.text for p in PHRASES}) == 40
    assert {p.key.split(":")[0] for p in PHRASES} == {"fars", "varzesh3"}
    assert all("\u200c" in p.text for p in PHRASES)
    # Not a ZWNJ-free sample: for most phrases the joined spelling folds to other words than the
    # one with the ZWNJ, so only a variant can match it.
    differ = [p for p in PHRASES if fold(variants.spellings(p.text)["joined"]) != fold(p.text)]
    assert len(differ) >= 30


@pytest.mark.parametrize("drop_zwnj", [False, True], ids=["as-published", "zwnj-removed"])
def test_every_spelling_finds_its_article_in_the_top_five(engine, drop_zwnj):
    ids = variants.load(engine, subset(), drop_zwnj)
    misses, _ = variants.run_suite(engine, ids, PHRASES)
    assert misses == {name: [] for name in variants.SPELLINGS}


def test_variants_do_not_widen_a_query_that_already_matched(engine):
    # Precision: a spaced compound also matches joined, but two unrelated common words stay an
    # AND of both (the joined form "ایرانآمریکا" is no word), so the results are the same articles.
    ids = variants.load(engine, subset(), drop_zwnj=False)
    from etl.load.search import search
    with engine.connect() as conn:
        both = {h.id for h in search(conn, "ایران آمریکا", limit=200)}
        each = [{h.id for h in search(conn, w, limit=200)} for w in ("ایران", "آمریکا")]
    assert both and both <= each[0] & each[1]
    assert len(ids) == len(subset())
    assert all(len(term.words) == 1 for term in fold_query("ایران آمریکا"))
