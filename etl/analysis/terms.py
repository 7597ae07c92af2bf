"""Characteristic terms: the words and two-word phrases that set the articles matching a query
apart from the other articles under the same filters.

Statistic: the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and
Quinn 2008, "Fightin' Words"), reported as its z-score. For a term w with ``y_m`` matching and
``y_o`` other articles holding it (each article counts a term once), ``n_m`` and ``n_o`` the sums
of those counts over all terms, and a prior ``a_w = A0 * (y_m + y_o) / (n_m + n_o)`` of total
strength ``A0``:

    d_w = log((y_m + a_w) / (n_m + A0 - y_m - a_w)) - log((y_o + a_w) / (n_o + A0 - y_o - a_w))
    z_w = d_w / sqrt(1 / (y_m + a_w) + 1 / (y_o + a_w))

A high z is a term much more frequent among the matches than elsewhere *and* seen often enough
for that to be more than chance; a raw ratio would rank a word seen twice first. The query's own
words are left out (every match holds them), as are stopwords and numbers.
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Iterable, Iterator

import numpy as np
from sqlalchemy import Connection

from ..load import analysis as rows
from ..load.search import Filters, match_clause
from .errors import AnalysisError
from .queries import check_query, query_keys
from .words import Token, base, folded, keys, words

A0 = 1000.0  # prior strength, in term occurrences
MIN_COUNT = 3  # a term held by fewer matching articles is not shown
LIMIT, MAX_LIMIT = 30, 500
SAMPLE, MAX_SAMPLE = 5000, 50_000
SEED = 1404
TINY = 1e-9  # a term that is every occurrence on one side: no division by zero


@dataclass(frozen=True, slots=True)
class Term:
    term: str  # the commonest spelling among the forms merged under its key
    count: int  # matching articles (of the sample) holding it
    background: int  # other articles (of their sample) holding it
    score: float  # z of the weighted log-odds ratio


@dataclass(frozen=True, slots=True)
class Terms:
    query: str
    filters: Filters
    sample: int  # matching articles read
    every_match: bool  # True: the sample is every matching article (there were no more)
    background_sample: int  # other articles read (as many at most, drawn the same way)
    terms: tuple[Term, ...]

    def as_json(self) -> dict:
        return {"query": self.query, "sample": self.sample, "every_match": self.every_match,
                "background_sample": self.background_sample,
                "terms": [{"term": t.term, "count": t.count, "background": t.background, "score": round(t.score, 4)}
                          for t in self.terms]}

    def columns(self) -> list[str]:
        return ["term", "count", "background", "score"]

    def rows(self) -> list[list]:
        return [[t.term, t.count, t.background, round(t.score, 4)] for t in self.terms]


def terms(conn: Connection, query: str, filters: Filters = Filters(), limit: int = LIMIT, sample: int = SAMPLE,
          seed: int = SEED) -> Terms:
    """The ``limit`` most characteristic terms of the articles matching ``query`` (a sample of
    ``sample`` of them, drawn only when there are more) against as many other articles."""
    _check(query, limit, sample)
    match = match_clause(conn, query)
    picked = rows.sample_ids(conn, filters, match, sample, seed)
    others = rows.sample_ids(conn, filters, rows.not_matching(match), sample, seed)
    with _no_cycle_collection():
        found = characteristic(_docs(conn, picked.ids), _docs(conn, others.ids), limit, exclude=query_keys(query))
    return Terms(query, filters, len(picked.ids), picked.whole, len(others.ids), tuple(found))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while the texts are read and counted: they become
    millions of strings in a few huge lists, none of them in a cycle, and every collection their
    allocation sets off walks all of them (0.2 to 0.4 s of a 1.5 s run on 5,000 + 5,000
    articles). Reference counting still frees everything; the collector runs again after (and
    stays off if it was off: another thread's pause, or the program's own choice)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _check(query: str, limit: int, sample: int) -> None:
    check_query(query)
    if not 1 <= limit <= MAX_LIMIT:
        raise AnalysisError(f"limit: must be from 1 to {MAX_LIMIT}, got {limit}")
    if not 1 <= sample <= MAX_SAMPLE:
        raise AnalysisError(f"sample: must be from 1 to {MAX_SAMPLE:,}, got {sample}")


def _docs(conn: Connection, ids: list[int]) -> list[list[str]]:
    return [words("\n".join(f for f in (r["title"], r["summary"], r["body"]) if f)) for r in rows.texts(conn, ids)]


def characteristic(matching: list[list[str]], others: list[list[str]], limit: int,
                   exclude: Iterable[str] = ()) -> list[Term]:
    """The terms of ``matching`` documents (each its ``words``) ranked by their z against
    ``others``; pure."""
    read = Tokens(matching + others)
    vocab = Vocabulary(keys(read.distinct))
    codes = vocab.codes_of(read.distinct)[read.index]
    end = int(read.lengths[:len(matching)].sum())  # the matching documents' tokens come first
    found_m = vocab.document_counts(codes[:end], read.lengths[:len(matching)])
    found_o = vocab.document_counts(codes[end:], read.lengths[len(matching):])
    skip = {vocab.codes.get(w, 0) >> 2 or vocab.number.get(base(folded(w)), 0) for w in exclude} - {0}
    display = _commonest(read, end, vocab)
    n_m, n_o = sum(found_m.values()), sum(found_o.values())
    candidates = [key for key, y in found_m.items() if y >= MIN_COUNT and not skip.intersection(vocab.parts(key))]
    y_m = np.array([found_m[k] for k in candidates], dtype=float)
    y_o = np.array([found_o.get(k, 0) for k in candidates], dtype=float)
    z = z_scores(y_m, y_o, n_m, n_o)
    # Only the terms that can be among the first ``limit`` are spelled out and sorted: those
    # scoring at least the limit-th highest score (ties included, so the order is the same).
    floor = -np.partition(-z, limit - 1)[limit - 1] if len(z) > limit else -np.inf
    scored = [(score, key) for score, key in zip(z.tolist(), candidates) if score >= floor]
    shown = {key: " ".join(display[k] for k in vocab.parts(key)) for _, key in scored}
    scored.sort(key=lambda pair: (-pair[0], shown[pair[1]]))
    return [Term(shown[key], found_m[key], found_o.get(key, 0), z) for z, key in scored[:limit]]


class Tokens:
    """Documents as one array: each token's place among the distinct tokens, the documents one
    after another (``lengths``). A token is looked up once, in one C loop (``itemgetter``, twice
    as fast as a ``map`` over the dictionary); everything after that is array work, on ten
    thousand articles that are millions of tokens."""

    def __init__(self, docs: list[list[str]]):
        place = _Places()
        flat = list(chain.from_iterable(docs))
        found = itemgetter(*flat)(place) if len(flat) > 1 else [place[t] for t in flat]
        self.index = np.fromiter(found, dtype=np.int64, count=len(flat))
        self.distinct = list(place)  # in the order of their places
        self.lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))


class _Places(dict):
    """A token's place among the distinct tokens, given in the order they are first met: one
    lookup per token, no separate pass to collect the distinct ones first."""

    def __missing__(self, token: str) -> int:
        self[token] = place = len(self)
        return place


class Vocabulary:
    """Word keys as small integers (0: a token not counted), and two adjacent keys ``a, b`` as
    the integer ``(a + 1) * M + b``, so the documents' terms are counted with numpy rather than
    one dictionary update per word. A token's code is ``id * 4 + 2 * opens + closes`` (a clause
    mark before, after it)."""

    def __init__(self, table: dict[str, tuple[Token, str | None]]):
        names = sorted({key for _, key in table.values() if key is not None})
        self.number = {name: i for i, name in enumerate(names, start=1)}
        self.names = [""] + names
        self.m = len(self.names)
        self.codes = {raw: (self.number[key] if key else 0) * 4 + 2 * t.opens + t.closes
                      for raw, (t, key) in table.items()}
        self.table = table

    def parts(self, key: int) -> tuple[int, ...]:
        """A word's id alone, a pair's two ids."""
        return (key,) if key < self.m else (key // self.m - 1, key % self.m)

    def codes_of(self, tokens: list[str]) -> np.ndarray:
        return np.fromiter(map(self.codes.__getitem__, tokens), dtype=np.int64, count=len(tokens))

    def document_counts(self, codes: np.ndarray, lengths: np.ndarray) -> dict[int, int]:
        """Per word or pair id, the documents holding it, from the documents' token ``codes``
        one after another (``lengths`` each). A stopword or a clause mark between two words
        breaks the pair, and so does the end of a document."""
        docs = len(lengths)
        owner = np.repeat(np.arange(docs, dtype=np.int64), lengths)
        ids = codes >> 2
        joined = ((ids[:-1] > 0) & (ids[1:] > 0) & ((codes[:-1] & 1) == 0) & ((codes[1:] & 2) == 0)
                  & (owner[:-1] == owner[1:]))
        counted = ids > 0
        keys = np.concatenate((ids[counted], (ids[:-1][joined] + 1) * self.m + ids[1:][joined]))
        if not len(keys):  # no document holds a word that counts (stopwords, numbers only)
            return {}
        owners = np.concatenate((owner[counted], owner[:-1][joined]))
        # Each (term, document) once, sorted by term; a term's run is its documents. A key is
        # below (m + 1) * m, so key * documents stays far inside 64 bits at any sample size.
        # Sorted, not np.unique: numpy 2's hash-based unique took ten times as long here.
        pairs = np.sort(keys * docs + owners)
        held = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] // docs
        starts = np.flatnonzero(np.concatenate(([True], held[1:] != held[:-1])))
        counts = np.diff(np.append(starts, len(held)))
        return dict(zip(held[starts].tolist(), counts.tolist()))


def _commonest(read: Tokens, end: int, vocab: Vocabulary) -> dict[int, str]:
    """Per word id, its most frequent spelling in the first ``end`` tokens (the matching
    documents; ties: the first in sorted order)."""
    spellings = np.bincount(read.index[:end], minlength=len(read.distinct))
    places = np.flatnonzero(spellings)
    per_surface: dict[tuple[int, str], int] = {}
    for raw, n in zip(map(read.distinct.__getitem__, places.tolist()), spellings[places].tolist()):
        t, key = vocab.table[raw]
        if key:
            held = (vocab.number[key], t.surface)
            per_surface[held] = per_surface.get(held, 0) + n
    best: dict[int, tuple[int, str]] = {}
    for (key, surface), n in per_surface.items():
        held = best.get(key)
        if held is None or n > held[0] or (n == held[0] and surface < held[1]):
            best[key] = (n, surface)
    return {key: surface for key, (_, surface) in best.items()}


def z_scores(y_m: np.ndarray, y_o: np.ndarray, n_m: int, n_o: int, a0: float = A0) -> np.ndarray:
    """``z_score`` of many terms at once (numpy arrays of their counts)."""
    alpha = a0 * (y_m + y_o) / max(1, n_m + n_o)
    d = (np.log((y_m + alpha) / np.maximum(TINY, n_m + a0 - y_m - alpha))
         - np.log((y_o + alpha) / np.maximum(TINY, n_o + a0 - y_o - alpha)))
    return d / np.sqrt(1 / (y_m + alpha) + 1 / (y_o + alpha))


def z_score(y_m: int, y_o: int, n_m: int, n_o: int, a0: float = A0) -> float:
    """The z of the weighted log-odds ratio of a term held ``y_m`` times in ``n_m`` and ``y_o``
    times in ``n_o``, under a prior of strength ``a0`` shaped like the two together:
    ``z_score(50, 5, 1000, 1000)`` is about 5.1; equal shares give 0."""
    alpha = a0 * (y_m + y_o) / max(1, n_m + n_o)
    if alpha <= 0:
        return 0.0
    d = (math.log((y_m + alpha) / max(TINY, n_m + a0 - y_m - alpha))
         - math.log((y_o + alpha) / max(TINY, n_o + a0 - y_o - alpha)))
    return d / math.sqrt(1 / (y_m + alpha) + 1 / (y_o + alpha))
