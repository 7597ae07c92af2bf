"""``news-etl lexicon learn``: ZWNJ spellings learned from stored articles, for later cleaning.

A learned lexicon is used by every command when ``NEWS_ETL_LEXICON`` names its file
(``use_env_lexicon``, called once by ``main``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from ..clean import lexicon
from ..clean.learn import LexiconError, count_spellings, learn, read_learned, write_learned
from ..clean.text import use_learned_lexicon
from ..load.search import Filters, export_rows
from .common import PROG, UsageError
from .db import open_db

ENV = "NEWS_ETL_LEXICON"


def cmd_lexicon_learn(args: argparse.Namespace) -> int:
    engine, _ = open_db(args)
    with engine.connect() as conn:
        tally = count_spellings(_texts(export_rows(conn, Filters(source=args.source))))
    learned = learn(tally, lexicon.load(), args.min_count)
    note = f"{tally.texts} texts" + (f" of source {args.source}" if args.source else "")
    write_learned(args.output, learned, note)
    pieces = sum(1 for piece, form in learned.pieces.items() if piece != form)  # form == piece: a word kept joined
    print(f"{len(learned.entries)} spellings learned from {note}, with {pieces} compound pieces and "
          f"{len(learned.pieces) - pieces} words kept joined -> {args.output} (version {learned.version})")
    print(f"use it for later cleaning: {ENV}={args.output} {PROG} backfill ...")
    return 0


def _texts(rows: Iterable[Mapping]) -> Iterator[str]:
    for row in rows:
        yield from (row[name] for name in ("title", "summary", "body") if row[name])


def use_env_lexicon(env: Mapping[str, str] | None = None) -> str | None:
    """Install the learned lexicon ``$NEWS_ETL_LEXICON`` names, if any; its normalizer version."""
    path = (os.environ if env is None else env).get(ENV)
    if not path:
        return None
    try:
        return use_learned_lexicon(read_learned(Path(path), lexicon.load()))
    except LexiconError as exc:
        raise UsageError(f"{exc} (from ${ENV})") from exc
