"""What every analysis checks about its queries before asking the database."""

from __future__ import annotations

from ..clean.text import normalize_text
from .errors import AnalysisError
from .words import is_stopword, token, words

MAX_QUERIES = 10


def check_query(query: str) -> None:
    """A query of stopwords only (``و از``) would match nearly every article: refused, naming them.
    An empty query is refused too; what search itself refuses it says when it runs."""
    found = _words(query)
    if not found:
        raise AnalysisError(f"query {query!r} has no words to search for")
    if all(is_stopword(w) for w in found):
        raise AnalysisError(f"query {query!r} has only stopwords ({', '.join(found)}): it would match "
                            "nearly every article; add a word that is not one")


def check_queries(queries: list[str]) -> None:
    if not queries:
        raise AnalysisError("no query given")
    if len(queries) > MAX_QUERIES:
        raise AnalysisError(f"{len(queries)} queries: at most {MAX_QUERIES} at once")
    for query in queries:
        check_query(query)


def query_keys(query: str) -> set[str]:
    """The folded words of a query, to leave out of its own terms."""
    return set(_words(query))


def _words(query: str) -> list[str]:
    return [t.word for t in map(token, words(normalize_text(query))) if t.word]
