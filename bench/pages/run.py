"""Paragraphs recovered per page layout, before (trafilatura alone) and after (lead and chrome rules).

    .venv/bin/python bench/pages/run.py

Prints figures; asserts nothing. The pages are tests/data/pages/layout_*.html and the three lead
behaviour pages (article_*lead*.html, article_description_is_excerpt.html): outlet layouts around
real Fars News articles, each naming its article by <link rel="canonical">. An article's expected
paragraphs are its lead (the dump's abstract, when the page shows one) and its paragraphs; a
paragraph counts as recovered when a stored line has the same text (``text_key``: spacing, ZWNJ,
Arabic letters and punctuation aside). Extra lines are stored lines that are none of them (chrome).
"before" is what ``page_to_item`` stored until now: trafilatura's text minus a repeated headline.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from etl.fetch.layout import text_key  # noqa: E402
from etl.fetch.pages import _drop_headline, extract_text, page_to_item  # noqa: E402
from etl.models import RawItem  # noqa: E402

DATA = REPO / "tests" / "data"
URL = "https://www.example.ir/news/1/"
# Pages whose lead is not on the page as an article paragraph (the description-only page has it).
NO_LEAD = {"article_description_is_excerpt.html"}


def dump() -> dict[str, dict]:
    articles = []
    for name in ("fars-news-1.json", "fars-news-2.json"):
        articles += json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))
    return {a["link"]: a for a in articles}


def expected(page: bytes, name: str, fars: dict[str, dict]) -> list[str]:
    link = re.search(rb'<link rel="canonical" href="([^"]+)"', page).group(1).decode("utf-8")
    article = fars[link]
    return ([] if name in NO_LEAD else [article["abstract"]]) + list(article["paragraphs"])


def before(page: bytes) -> str:
    item = RawItem("bench", url=URL)
    return _drop_headline(extract_text(page.decode("utf-8"), URL), item, BeautifulSoup(page, "lxml"))


def after(page: bytes) -> str:
    return page_to_item(RawItem("bench", url=URL), page, "text/html; charset=utf-8", URL).body


def score(body: str, want: list[str]) -> tuple[int, int, bool]:
    """(recovered, extra lines, lead first)"""
    got = [text_key(line) for line in body.split("\n") if line.strip()]
    keys = [text_key(w) for w in want]
    return sum(k in got for k in keys), sum(g not in keys for g in got), bool(got) and got[0] == keys[0]


def main() -> None:
    fars = dump()
    pages = sorted((DATA / "pages").glob("layout_*.html")) + [
        DATA / "pages" / n for n in ("article_lead_in_description.html", "article_body_repeats_lead.html",
                                      "article_description_is_excerpt.html")]
    print(f"{'page':40} {'want':>4}  {'before':>13}  {'after':>13}")
    totals = [0, 0, 0]
    for path in pages:
        page = path.read_bytes()
        want = expected(page, path.name, fars)
        (b_ok, b_extra, b_first), (a_ok, a_extra, a_first) = score(before(page), want), score(after(page), want)
        totals = [totals[0] + len(want), totals[1] + b_ok, totals[2] + a_ok]
        print(f"{path.name:40} {len(want):>4}  {b_ok:>3} +{b_extra} extra{'  ' if b_first else ' !'}"
              f"  {a_ok:>3} +{a_extra} extra{'  ' if a_first else ' !'}")
    print(f"{'total':40} {totals[0]:>4}  {totals[1]:>3} ({totals[1] / totals[0]:.1%})     "
          f"{totals[2]:>3} ({totals[2] / totals[0]:.1%})")
    print("(N +E extra: N expected paragraphs stored, E stored lines that are none of them; '!': the first line is not the lead)")


if __name__ == "__main__":
    main()
